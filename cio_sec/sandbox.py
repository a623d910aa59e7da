"""A local Customer.io API emulator on 127.0.0.1: Track v1/v2, App lookups, admin, faults.

The sandbox is a small asyncio HTTP/1.1 server built on the standard library only, so that
it can sustain the request rates the erasure engine is benchmarked at (``http.server``
cannot: see the engineering notes in the design document). Track and App paths share one
port; the admin interface that plays the operator's UI actions lives under ``/_sandbox``.

State (workspaces, people, keys, faults, the request log) is guarded by one lock: the
server's event loop touches it in short synchronous sections, and the in-process methods
of `Sandbox` may be called from any thread.

HTTP surface (one port; ``{id}`` is one raw path segment, percent-decoded exactly once):

- Track (HTTP Basic ``site_id:track_api_key``): ``GET /api/v1/accounts/region``;
  ``PUT|DELETE /api/v1/customers/{id}``; ``POST /api/v1/customers/{id}/suppress``,
  ``.../unsuppress``, ``.../events``; ``POST /api/v2/batch`` (207 with per-item errors).
- App (``Bearer <app key>``): ``GET /v1/workspaces``, ``GET /v1/customers?email=``,
  ``GET /v1/customers/{id}/attributes?id_type=id|email|cio_id``.
- Admin (no auth, never faulted or logged), under ``/_sandbox``: ``POST /track-keys``,
  ``DELETE /track-keys/{site_id}``, ``POST /app-keys``, ``DELETE /app-keys/{key}`` (POST
  bodies optionally ``{"workspace_id": int, "region": "us"|"eu"}``), ``GET /people
  [?workspace_id=N]``, ``GET|PUT /faults``, ``GET /requests[?since=SEQ]`` (entries with a
  greater ``seq``), ``DELETE /requests``, ``GET /info``.

Errors are JSON: ``{"meta": {"errors": [...]}}`` for invalid Track input (as Customer.io
answers 400s), ``{"meta": {"error": "..."}}`` otherwise.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import email.utils
import hmac
import json
import logging
import math
import random
import re
import secrets
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Final, cast
from urllib.parse import parse_qs, unquote_to_bytes

LOOPBACK: Final = "127.0.0.1"
"""The only address the sandbox binds: it holds keys and personal data in plain memory."""
REGIONS: Final = ("us", "eu")
ADMIN_PREFIX: Final = "/_sandbox"
MAX_IDENTIFIER_BYTES: Final = 150
MAX_EVENT_NAME_BYTES: Final = 100
MAX_BATCH_BYTES: Final = 500 * 1024
MAX_BATCH_ITEM_BYTES: Final = 32 * 1024

_MAX_HEAD_BYTES: Final = 64 * 1024
_MAX_HEADERS: Final = 100
_MAX_BODY_BYTES: Final = 4 * 1024 * 1024
_BACKLOG: Final = 1024
_STOP_TIMEOUT: Final = 10.0
_ELLIPSIS: Final = "…"
_IDENTIFIER_KINDS: Final = ("id", "email", "cio_id")
_BATCH_ACTIONS: Final = ("identify", "delete", "suppress", "unsuppress")
_UNAUTHORIZED: Final = {"meta": {"error": "Unauthorized request"}}

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class SandboxInfo:
    """Where a running sandbox listens and its default credentials.

    `cio-sec sandbox` prints `to_json()` as one JSON line; it deliberately carries the keys,
    which are random per run and valid only against this sandbox.
    """

    track_url: str
    app_url: str
    admin_url: str
    site_id: str
    track_api_key: str
    app_api_key: str
    webhook_signing_key: str

    def to_json(self) -> dict[str, str]:
        """Return the info as a JSON-ready dict (keys included)."""
        return {
            "track_url": self.track_url,
            "app_url": self.app_url,
            "admin_url": self.admin_url,
            "site_id": self.site_id,
            "track_api_key": self.track_api_key,
            "app_api_key": self.app_api_key,
            "webhook_signing_key": self.webhook_signing_key,
        }


@dataclass(frozen=True)
class KeySet:
    """A Track API credential pair and the workspace it belongs to."""

    site_id: str
    track_api_key: str
    workspace_id: int

    def to_json(self) -> dict[str, object]:
        """Return the key set as the admin interface answers it (key included)."""
        return {
            "site_id": self.site_id,
            "track_api_key": self.track_api_key,
            "workspace_id": self.workspace_id,
        }


@dataclass(frozen=True)
class Faults:
    """Faults injected into Track and App requests (never admin ones); defaults: none.

    Per request the order is drop, latency, rate limit, throttle, error.

    Raises:
        ValueError: a rate outside [0, 1], a status outside 400-599, or a negative or
            non-finite duration.
    """

    error_rate: float = 0.0
    """Fraction of API requests answered with `error_status`."""
    error_status: int = 503
    throttle_rate: float = 0.0
    """Fraction of API requests answered 429 with ``Retry-After``."""
    retry_after: float | None = 1.0
    """Seconds sent (rounded up) in ``Retry-After`` on injected 429s; None omits the header."""
    latency_ms: float = 0.0
    """Milliseconds added before every API response."""
    drop_rate: float = 0.0
    """Fraction of requests whose connection is closed without a response."""
    rate_limit: float | None = None
    """Enforced requests/s over all API requests (token bucket, burst max(1, rate/10))."""
    seed: int | None = None
    """Seed for the fault sequence; None continues the sandbox's own random sequence."""

    def __post_init__(self) -> None:
        for name in ("error_rate", "throttle_rate", "drop_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"faults.{name} must be between 0 and 1, not {value!r}")
        if not 400 <= self.error_status <= 599:
            raise ValueError(f"faults.error_status must be 400-599, not {self.error_status!r}")
        if self.retry_after is not None and not 0.0 <= self.retry_after < math.inf:
            raise ValueError(f"faults.retry_after must be >= 0, not {self.retry_after!r}")
        if not 0.0 <= self.latency_ms < math.inf:
            raise ValueError(f"faults.latency_ms must be >= 0, not {self.latency_ms!r}")
        if self.rate_limit is not None and not 0.0 < self.rate_limit < math.inf:
            raise ValueError(f"faults.rate_limit must be > 0, not {self.rate_limit!r}")

    @property
    def active(self) -> bool:
        """Whether any fault is configured."""
        return bool(
            self.error_rate
            or self.throttle_rate
            or self.latency_ms
            or self.drop_rate
            or self.rate_limit is not None
        )

    @classmethod
    def from_json(cls, doc: object) -> Faults:
        """Build faults from a JSON object; absent fields take their defaults.

        Raises:
            ValueError: not an object, an unknown field, or a field of the wrong type or range.
        """
        if not isinstance(doc, dict):
            raise ValueError("faults must be a JSON object")
        unknown = sorted(set(doc) - set(_FAULT_FIELDS))
        if unknown:
            raise ValueError(f"unknown faults field(s): {', '.join(map(str, unknown))}")
        default = cls()
        return cls(
            error_rate=_json_float(doc, "error_rate", default.error_rate),
            error_status=_json_int(doc, "error_status", default.error_status),
            throttle_rate=_json_float(doc, "throttle_rate", default.throttle_rate),
            retry_after=_json_optional_float(doc, "retry_after", default.retry_after),
            latency_ms=_json_float(doc, "latency_ms", default.latency_ms),
            drop_rate=_json_float(doc, "drop_rate", default.drop_rate),
            rate_limit=_json_optional_float(doc, "rate_limit", default.rate_limit),
            seed=_json_optional_int(doc, "seed", default.seed),
        )

    def to_json(self) -> dict[str, object]:
        """Return the faults as a JSON-ready dict (every field)."""
        return {name: getattr(self, name) for name in _FAULT_FIELDS}


_FAULT_FIELDS: Final = (
    "error_rate",
    "error_status",
    "throttle_rate",
    "retry_after",
    "latency_ms",
    "drop_rate",
    "rate_limit",
    "seed",
)


def _json_optional_float(doc: dict[str, object], name: str, default: float | None) -> float | None:
    value = doc.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"faults.{name} must be a number")
    return float(value)


def _json_float(doc: dict[str, object], name: str, default: float) -> float:
    value = _json_optional_float(doc, name, default)
    if value is None:
        raise ValueError(f"faults.{name} must be a number")
    return value


def _json_optional_int(doc: dict[str, object], name: str, default: int | None) -> int | None:
    value = doc.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"faults.{name} must be an integer")
    return value


def _json_int(doc: dict[str, object], name: str, default: int) -> int:
    value = _json_optional_int(doc, name, default)
    if value is None:
        raise ValueError(f"faults.{name} must be an integer")
    return value


@dataclass(frozen=True)
class RecordedRequest:
    """One Track or App request as the sandbox received it; never carries a key."""

    seq: int
    time: float
    """Unix time the request was read."""
    method: str
    path: str
    """The raw path as sent, still percent-encoded, without the query string."""
    query: str
    """The raw query string, still percent-encoded ("" when absent)."""
    status: int
    """The status answered; 0 when the connection was dropped by a fault."""
    auth: str
    """``basic:<site_id>``, ``bearer:<first 4 chars>…``, ``other`` or ``none``."""
    body: bytes
    identifier: str | None
    """The percent-decoded ``{identifier}`` path segment of person routes, else None."""

    def to_json(self) -> dict[str, object]:
        """Return the request as a JSON-ready dict; the body as UTF-8 text (replacing errors)."""
        return {
            "seq": self.seq,
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "auth": self.auth,
            "body": self.body.decode("utf-8", errors="replace"),
            "identifier": self.identifier,
        }


# --- people and workspaces -------------------------------------------------------------


class _ClientError(Exception):
    """An answer other than success, raised from deep in a handler."""

    def __init__(self, status: int, message: str, *, errors_shape: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors_shape = errors_shape

    def document(self) -> dict[str, object]:
        if self.errors_shape:
            return {"meta": {"errors": [self.message]}}
        return {"meta": {"error": self.message}}


@dataclass
class _Person:
    cio_id: str
    id: str | None = None
    email: str | None = None
    attributes: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "email": self.email,
            "cio_id": self.cio_id,
            "attributes": dict(self.attributes),
        }


def _path_form(kind: str, value: str) -> str:
    """Return an identifier as it would appear in a Track path (``cio_`` prefixed cio_id)."""
    return f"cio_{value}" if kind == "cio_id" else value


def _suppression_key(kind: str, value: str) -> str:
    return value.lower() if kind == "email" else _path_form(kind, value)


def _classify(identifier: str) -> tuple[str, str]:
    """Return (kind, value) of a path identifier, by shape as Customer.io does."""
    if "@" in identifier:
        return "email", identifier
    if identifier.startswith("cio_"):
        return "cio_id", identifier[4:]
    return "id", identifier


class _Workspace:
    """People, suppressions, deletions and event counts of one workspace."""

    def __init__(self, workspace_id: int, region: str, next_cio_id: Callable[[], str]) -> None:
        self.id = workspace_id
        self.region = region
        self._next_cio_id = next_cio_id
        self.people: dict[str, _Person] = {}
        self.by_id: dict[str, _Person] = {}
        self.by_email: dict[str, _Person] = {}
        self.suppressed: set[str] = set()
        self.deleted: list[str] = []
        self.events = 0

    def find(self, kind: str, value: str) -> _Person | None:
        if kind == "email":
            return self.by_email.get(value.lower())
        if kind == "cio_id":
            return self.people.get(value)
        return self.by_id.get(value)

    def identify(self, kind: str, value: str, attributes: dict[str, object]) -> None:
        """Create or update a person; silently ignore suppressed identifiers.

        Raises:
            _ClientError: an ``id``/``email`` attribute of the wrong type or taken by another
                person.
        """
        new_id = attributes.get("id")
        if isinstance(new_id, int) and not isinstance(new_id, bool):
            new_id = str(new_id)
        if new_id is not None and not isinstance(new_id, str):
            raise _ClientError(400, "attribute id must be a string")
        new_email = attributes.get("email")
        if new_email is not None and not isinstance(new_email, str):
            raise _ClientError(400, "attribute email must be a string")
        keys = {_suppression_key(kind, value)}
        if new_id:
            keys.add(new_id)
        if new_email:
            keys.add(new_email.lower())
        if keys & self.suppressed:
            return
        person = self.find(kind, value)
        for index, new in ((self.by_id, new_id), (self.by_email, new_email)):
            owner = index.get(new.lower() if index is self.by_email else new) if new else None
            if owner is not None and owner is not person:
                raise _ClientError(400, "id or email already belongs to another person")
        if person is None:
            if kind == "cio_id":
                return
            person = _Person(cio_id=self._next_cio_id())
            self.people[person.cio_id] = person
            self._set_identifier(person, kind, value)
        if "id" in attributes:
            self._set_identifier(person, "id", new_id)
        if "email" in attributes:
            self._set_identifier(person, "email", new_email)
        for name, attribute in attributes.items():
            if name in _IDENTIFIER_KINDS:
                continue
            if attribute is None:
                person.attributes.pop(name, None)
            else:
                person.attributes[name] = attribute

    def _set_identifier(self, person: _Person, kind: str, value: str | None) -> None:
        if kind == "id":
            if person.id is not None:
                self.by_id.pop(person.id, None)
            person.id = value or None
            if person.id is not None:
                self.by_id[person.id] = person
        else:
            if person.email is not None:
                self.by_email.pop(person.email.lower(), None)
            person.email = value or None
            if person.email is not None:
                self.by_email[person.email.lower()] = person

    def _remove(self, person: _Person) -> None:
        del self.people[person.cio_id]
        if person.id is not None:
            del self.by_id[person.id]
        if person.email is not None:
            del self.by_email[person.email.lower()]

    def delete(self, kind: str, value: str) -> None:
        """Delete a person if they exist; always record the deletion request."""
        person = self.find(kind, value)
        if person is not None:
            self._remove(person)
        self.deleted.append(_path_form(kind, value))

    def suppress(self, kind: str, value: str) -> None:
        """Delete a person and block the identifier (plus their id and email when known)."""
        person = self.find(kind, value)
        if person is not None:
            self._remove(person)
            if person.id is not None:
                self.suppressed.add(person.id)
            if person.email is not None:
                self.suppressed.add(person.email.lower())
        self.suppressed.add(_suppression_key(kind, value))

    def unsuppress(self, kind: str, value: str) -> None:
        """Free the identifier; the deleted profile stays deleted."""
        self.suppressed.discard(_suppression_key(kind, value))

    def track_event(self, kind: str, value: str) -> None:
        """Count an event unless the identifier is suppressed."""
        if _suppression_key(kind, value) not in self.suppressed:
            self.events += 1

    def document(self) -> dict[str, object]:
        return {
            "workspace_id": self.id,
            "people": [person.to_json() for person in self.people.values()],
            "suppressed": sorted(self.suppressed),
            "deleted": list(self.deleted),
            "events": self.events,
        }

    def summary(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": f"Sandbox workspace {self.id}",
            "region": self.region,
            "people": len(self.people),
            "messages_sent": 0,
        }


class _State:
    """Everything the sandbox knows; every access holds `lock`."""

    def __init__(self, *, workspace_id: int, region: str, seed: int | None, log_limit: int) -> None:
        self.lock = threading.Lock()
        self.default_region = region
        self.default_workspace_id = workspace_id
        self.workspaces: dict[int, _Workspace] = {}
        self.track_keys: dict[str, KeySet] = {}
        self.issued_site_ids: set[str] = set()
        self.app_keys: dict[str, int] = {}
        self.log: deque[RecordedRequest] = deque(maxlen=log_limit)
        self.seq = 0
        self.cio_counter = 0
        self.faults = Faults()
        self.rng = random.Random(seed)  # noqa: S311 - fault sampling, not cryptography
        self.tokens = 0.0
        self.refilled_at = 0.0

    def next_cio_id(self) -> str:
        self.cio_counter += 1
        return f"a3{self.cio_counter:06x}"

    def workspace(self, workspace_id: int | None, region: str | None) -> _Workspace:
        """Return a workspace, creating it (in `region`) when unknown.

        Raises:
            ValueError: an unknown region, or a region that contradicts an existing workspace.
        """
        if region is not None and region not in REGIONS:
            raise ValueError(f"region must be one of {', '.join(REGIONS)}, not {region!r}")
        ws_id = self.default_workspace_id if workspace_id is None else workspace_id
        workspace = self.workspaces.get(ws_id)
        if workspace is None:
            workspace = _Workspace(ws_id, region or self.default_region, self.next_cio_id)
            self.workspaces[ws_id] = workspace
        elif region is not None and region != workspace.region:
            raise ValueError(f"workspace {ws_id} is in region {workspace.region}, not {region}")
        return workspace

    def add_track_keys(self, workspace_id: int | None, region: str | None) -> KeySet:
        workspace = self.workspace(workspace_id, region)
        keys = KeySet(secrets.token_hex(10), secrets.token_hex(10), workspace.id)
        self.track_keys[keys.site_id] = keys
        self.issued_site_ids.add(keys.site_id)
        return keys

    def add_app_key(self, workspace_id: int | None, region: str | None) -> str:
        workspace = self.workspace(workspace_id, region)
        key = secrets.token_hex(16)
        self.app_keys[key] = workspace.id
        return key

    def set_faults(self, faults: Faults) -> None:
        self.faults = faults
        if faults.seed is not None:
            self.rng.seed(faults.seed)
        if faults.rate_limit is not None:
            self.tokens = _burst(faults.rate_limit)
            self.refilled_at = time.monotonic()

    def draw(self, rate: float) -> bool:
        """Return True with probability `rate`; draws nothing when the rate is 0."""
        return bool(rate) and self.rng.random() < rate

    def take_token(self, rate: float) -> float | None:
        """Spend one token of the rate-limit bucket; return the seconds to wait when empty."""
        now = time.monotonic()
        burst = _burst(rate)
        self.tokens = min(burst, self.tokens + (now - self.refilled_at) * rate)
        self.refilled_at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return (1.0 - self.tokens) / rate

    def authenticate(self, header: str | None) -> tuple[str, str, _Workspace | None]:
        """Return (label, scheme, workspace) for an ``Authorization`` header.

        The label describes the credentials without key material; the workspace is the one
        the credentials open, None when they are missing, unknown or revoked.
        """
        if header is None:
            return "none", "", None
        scheme, _, credentials = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer":
            token = credentials.strip()
            workspace_id = self.app_keys.get(token)
            workspace = None if workspace_id is None else self.workspaces[workspace_id]
            return f"bearer:{token[:4]}{_ELLIPSIS}", scheme, workspace
        if scheme != "basic":
            return "other", scheme, None
        user, password = _basic_credentials(credentials)
        if user is None:
            return "basic:invalid", scheme, None
        # NOTE: an unknown username may be a key pasted into the wrong field: never log it whole.
        known = user in self.issued_site_ids
        label = f"basic:{user}" if known else f"basic:{user[:4]}{_ELLIPSIS}"
        keys = self.track_keys.get(user)
        if (
            keys is None
            or password is None
            or not hmac.compare_digest(keys.track_api_key.encode(), password.encode())
        ):
            return label, scheme, None
        return label, scheme, self.workspaces[keys.workspace_id]

    def record(
        self,
        request: _Request,
        *,
        received: float,
        status: int,
        auth: str,
        identifier: str | None,
    ) -> None:
        self.seq += 1
        self.log.append(
            RecordedRequest(
                seq=self.seq,
                time=received,
                method=request.method,
                path=request.path,
                query=request.query,
                status=status,
                auth=auth,
                body=request.body,
                identifier=identifier,
            )
        )


def _burst(rate: float) -> float:
    return max(1.0, rate / 10.0)


def _basic_credentials(encoded: str) -> tuple[str | None, str | None]:
    """Return (user, password) of a Basic credential; (None, None) when unreadable."""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    user, sep, password = decoded.partition(":")
    return user, (password if sep else None)


# --- HTTP/1.1 -------------------------------------------------------------------------


class _HttpError(Exception):
    """A request that cannot be parsed: answered with `status`, then the connection closes."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Request:
    __slots__ = ("body", "headers", "http10", "keep_alive", "method", "path", "query")

    def __init__(
        self,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str],
        *,
        keep_alive: bool,
        http10: bool,
    ) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.keep_alive = keep_alive
        self.http10 = http10
        self.body = b""


class _Response:
    __slots__ = ("body", "extra", "status")

    def __init__(self, status: int, body: bytes, extra: str = "") -> None:
        self.status = status
        self.body = body
        self.extra = extra  # additional header lines, each ending in CRLF


def _json_bytes(doc: object) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _json(status: int, doc: object, extra: str = "") -> _Response:
    return _Response(status, _json_bytes(doc), extra)


_EMPTY_OK: Final = _Response(200, b"{}")
_NO_CONTENT: Final = _Response(204, b"")
_HEADER_NAME: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9a-z]+")
_CHUNK_SIZE: Final = re.compile(rb"[0-9a-fA-F]{1,16}")
_REASONS: Final = {status.value: status.phrase for status in HTTPStatus}


class _DateHeader:
    """The ``Date`` header value, formatted at most once per second."""

    def __init__(self) -> None:
        self._second = -1
        self._value = ""

    def get(self) -> str:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._value = email.utils.formatdate(now, usegmt=True)
        return self._value


def _render(
    response: _Response,
    date: str,
    *,
    keep_alive: bool,
    http10: bool = False,
    head_only: bool = False,
) -> bytes:
    """Serialise a response as one buffer, so it leaves in one write (see Nagle).

    `head_only` answers a HEAD request: the same headers, no body (RFC 9110, section 9.3.2).
    """
    status = response.status
    reason = _REASONS.get(status, "Unknown")
    head = f"HTTP/1.1 {status} {reason}\r\nDate: {date}\r\nServer: cio-sec-sandbox\r\n"
    if status != 204:
        head += f"Content-Type: application/json\r\nContent-Length: {len(response.body)}\r\n"
    if not keep_alive:
        head += "Connection: close\r\n"
    elif http10:
        head += "Connection: keep-alive\r\n"
    head = f"{head}{response.extra}\r\n"
    return head.encode("latin-1") if head_only else head.encode("latin-1") + response.body


def _parse_head(head: bytes) -> _Request:
    """Parse a request line and headers (without the final empty line).

    Raises:
        _HttpError: anything malformed.
    """
    lines = head.decode("latin-1").split("\r\n")
    request_line = lines[0]
    if not request_line.isascii():
        raise _HttpError(400, "request line is not ASCII")
    parts = request_line.split(" ")
    if len(parts) != 3:
        raise _HttpError(400, "malformed request line")
    method, target, version = parts
    if not method or not method.isalpha() or not method.isupper():
        raise _HttpError(400, "malformed method")
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise _HttpError(400, "unsupported HTTP version")
    if not target.isprintable():
        raise _HttpError(400, "malformed request target")
    if target.startswith(("http://", "https://")):
        slash = target.find("/", target.index("//") + 2)
        target = "/" if slash < 0 else target[slash:]
    if not target.startswith("/"):
        raise _HttpError(400, "request target must be a path")
    if len(lines) - 1 > _MAX_HEADERS:
        raise _HttpError(431, "too many headers")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        name = name.lower()
        if not sep or not _HEADER_NAME.fullmatch(name):
            raise _HttpError(400, "malformed header")
        value = value.strip(" \t")
        if name in headers:
            if name in ("content-length", "host", "authorization"):
                raise _HttpError(400, f"duplicate {name} header")
            value = f"{headers[name]}, {value}"
        headers[name] = value
    connection = headers.get("connection", "").lower()
    http10 = version == "HTTP/1.0"
    keep_alive = "keep-alive" in connection if http10 else "close" not in connection
    path, _, query = target.partition("?")
    return _Request(method, path, query, headers, keep_alive=keep_alive, http10=http10)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    """Read a chunked body and its trailers.

    Raises:
        _HttpError: malformed chunks or a body over the size limit.
    """
    parts: list[bytes] = []
    total = 0
    while True:
        line = await _read_line(reader)
        size_text = line[:-2].split(b";", 1)[0].strip()
        if not _CHUNK_SIZE.fullmatch(size_text):
            raise _HttpError(400, "malformed chunk size")
        size = int(size_text, 16)
        if size == 0:
            break
        total += size
        if total > _MAX_BODY_BYTES:
            raise _HttpError(413, "request body too large")
        parts.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise _HttpError(400, "malformed chunk")
    for _ in range(_MAX_HEADERS):
        if await _read_line(reader) == b"\r\n":
            return b"".join(parts)
    raise _HttpError(431, "too many trailers")


async def _read_line(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readuntil(b"\r\n")
    except asyncio.LimitOverrunError:
        raise _HttpError(400, "chunk line too long") from None


async def _read_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> _Request | None:
    """Read one request; None when the client closed the connection between requests.

    Raises:
        _HttpError: a malformed or oversized request.
    """
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise _HttpError(400, "incomplete request") from None
        return None
    except asyncio.LimitOverrunError:
        raise _HttpError(431, "request head too large") from None
    # Clients may send empty lines between pipelined requests (RFC 9112, section 2.2).
    request = _parse_head(head.lstrip(b"\r\n")[:-4])
    headers = request.headers
    transfer_encoding = headers.get("transfer-encoding")
    length_text = headers.get("content-length")
    if transfer_encoding is not None:
        if length_text is not None or transfer_encoding.lower() != "chunked":
            raise _HttpError(400, "unsupported transfer encoding")
        _continue(request, writer)
        request.body = await _read_chunked(reader)
    elif length_text is not None:
        if not (length_text.isascii() and length_text.isdigit()) or len(length_text) > 12:
            raise _HttpError(400, "malformed content-length")
        length = int(length_text)
        if length > _MAX_BODY_BYTES:
            raise _HttpError(413, "request body too large")
        if length:
            _continue(request, writer)
            request.body = await reader.readexactly(length)
    return request


def _continue(request: _Request, writer: asyncio.StreamWriter) -> None:
    if request.headers.get("expect", "").lower() == "100-continue":
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")


# --- routing --------------------------------------------------------------------------

_TRACK_ROUTES: Final = {
    "region": ("GET",),
    "customer": ("PUT", "DELETE"),
    "suppress": ("POST",),
    "unsuppress": ("POST",),
    "events": ("POST",),
    "batch": ("POST",),
}
_APP_ROUTES: Final = {
    "workspaces": ("GET",),
    "search": ("GET",),
    "attributes": ("GET",),
}


def _match_api(path: str) -> tuple[str | None, str | None]:
    """Return (route, raw identifier segment) for an API path; route None when unknown."""
    parts = path.split("/")
    count = len(parts)
    if count >= 4 and parts[1] == "api":
        if parts[2] == "v1" and parts[3] == "customers":
            if count == 5:
                return "customer", parts[4]
            if count == 6 and parts[5] in ("suppress", "unsuppress", "events"):
                return parts[5], parts[4]
        elif count == 5 and parts[2:] == ["v1", "accounts", "region"]:
            return "region", None
        elif count == 4 and parts[2:] == ["v2", "batch"]:
            return "batch", None
    elif count >= 3 and parts[1] == "v1":
        if count == 3 and parts[2] in ("workspaces", "customers"):
            return ("workspaces" if parts[2] == "workspaces" else "search"), None
        if count == 5 and parts[2] == "customers" and parts[4] == "attributes":
            return "attributes", parts[3]
    return None, None


def _identifier_bytes(value: str) -> int:
    return len(value.encode("utf-8"))


def _check_identifier(identifier: str) -> str:
    """Return the identifier when acceptable.

    Raises:
        _ClientError: empty, or over the 150-byte limit.
    """
    if not identifier:
        raise _ClientError(400, "identifier must not be empty")
    if _identifier_bytes(identifier) > MAX_IDENTIFIER_BYTES:
        raise _ClientError(400, f"identifier is longer than {MAX_IDENTIFIER_BYTES} bytes")
    return identifier


def _json_object(body: bytes, *, what: str) -> dict[str, object]:
    """Parse a JSON object body; an empty body is an empty object.

    Raises:
        _ClientError: not JSON, or not an object.
    """
    if not body.strip():
        return {}
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        raise _ClientError(400, f"{what} is not valid JSON") from None
    if not isinstance(doc, dict):
        raise _ClientError(400, f"{what} must be a JSON object")
    return doc


def _query(request: _Request) -> dict[str, list[str]]:
    try:
        return parse_qs(request.query, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise _ClientError(400, "query string is not valid UTF-8") from None


def _query_int(request: _Request, name: str) -> int | None:
    values = _query(request).get(name)
    if not values:
        return None
    try:
        return int(values[-1])
    except ValueError:
        raise _ClientError(400, f"{name} must be an integer", errors_shape=False) from None


def _batch_error(index: int, reason: str, field_name: str, message: str) -> dict[str, object]:
    return {"batch_index": index, "reason": reason, "field": field_name, "message": message}


def _batch_operation(
    index: int, item: object
) -> tuple[tuple[str, str, str, dict[str, object]] | None, dict[str, object] | None]:
    """Validate one batch item: ((action, kind, value, attributes), None) or (None, error)."""
    if not isinstance(item, dict):
        return None, _batch_error(index, "invalid", "item", "item must be an object")
    if len(_json_bytes(item)) > MAX_BATCH_ITEM_BYTES:
        return None, _batch_error(index, "too_large", "item", "item is larger than 32 KB")
    if item.get("type") != "person":
        return None, _batch_error(index, "unsupported", "type", "type must be person")
    action = item.get("action")
    if action not in _BATCH_ACTIONS:
        message = f"action must be one of {', '.join(_BATCH_ACTIONS)}"
        return None, _batch_error(index, "unsupported", "action", message)
    identifiers = item.get("identifiers")
    if not isinstance(identifiers, dict) or not identifiers:
        return None, _batch_error(index, "required", "identifiers", "identifiers are required")
    if len(identifiers) != 1 or not set(identifiers) <= set(_IDENTIFIER_KINDS):
        message = "identifiers must hold exactly one of id, email, cio_id"
        return None, _batch_error(index, "invalid", "identifiers", message)
    ((kind, value),) = identifiers.items()
    if isinstance(value, int) and not isinstance(value, bool) and kind != "email":
        value = str(value)
    if not isinstance(value, str) or not value:
        message = f"identifiers.{kind} must be a non-empty string"
        return None, _batch_error(index, "invalid", f"identifiers.{kind}", message)
    if _identifier_bytes(value) > MAX_IDENTIFIER_BYTES:
        message = f"identifiers.{kind} is longer than {MAX_IDENTIFIER_BYTES} bytes"
        return None, _batch_error(index, "too_long", f"identifiers.{kind}", message)
    attributes = item.get("attributes", {})
    if not isinstance(attributes, dict):
        return None, _batch_error(index, "invalid", "attributes", "attributes must be an object")
    return (str(action), kind, value, attributes), None


class _Api:
    """Track, App and admin handlers over one `_State`; all run with the state lock held."""

    def __init__(
        self, state: _State, base_url: Callable[[], str], info: Callable[[], SandboxInfo]
    ) -> None:
        self.state = state
        self.base_url = base_url
        self.info = info

    # Track -------------------------------------------------------------------------

    def track(
        self, route: str, request: _Request, workspace: _Workspace, identifier: str | None
    ) -> _Response:
        if route == "region":
            doc = {
                "url": self.base_url(),
                "region": workspace.region,
                "environment_id": workspace.id,
            }
            return _json(200, doc)
        if route == "batch":
            return self.batch(request, workspace)
        kind, value = _classify(_check_identifier(identifier or ""))
        if route == "customer":
            if request.method == "DELETE":
                workspace.delete(kind, value)
            else:
                attributes = _json_object(request.body, what="request body")
                workspace.identify(kind, value, attributes)
        elif route == "suppress":
            workspace.suppress(kind, value)
        elif route == "unsuppress":
            workspace.unsuppress(kind, value)
        else:
            name = _json_object(request.body, what="request body").get("name")
            if not isinstance(name, str) or not name:
                raise _ClientError(400, "name is required")
            if _identifier_bytes(name) > MAX_EVENT_NAME_BYTES:
                raise _ClientError(400, f"name is longer than {MAX_EVENT_NAME_BYTES} bytes")
            workspace.track_event(kind, value)
        return _EMPTY_OK

    def batch(self, request: _Request, workspace: _Workspace) -> _Response:
        if len(request.body) > MAX_BATCH_BYTES:
            raise _ClientError(413, "batch is larger than 500 KB")
        items = _json_object(request.body, what="batch request").get("batch")
        if not isinstance(items, list):
            raise _ClientError(400, "batch must be a list")
        errors: list[dict[str, object]] = []
        for index, item in enumerate(items):
            operation, error = _batch_operation(index, item)
            if operation is not None:
                action, kind, value, attributes = operation
                if action == "identify":
                    try:
                        workspace.identify(kind, value, attributes)
                    except _ClientError as exc:
                        error = _batch_error(index, "invalid", "attributes", exc.message)
                elif action == "delete":
                    workspace.delete(kind, value)
                elif action == "suppress":
                    workspace.suppress(kind, value)
                else:
                    workspace.unsuppress(kind, value)
            if error is not None:
                errors.append(error)
        return _json(207, {"errors": errors}) if errors else _EMPTY_OK

    # App ---------------------------------------------------------------------------

    def app(
        self, route: str, request: _Request, workspace: _Workspace, identifier: str | None
    ) -> _Response:
        if route == "workspaces":
            return _json(200, {"workspaces": [workspace.summary()]})
        query = _query(request)
        if route == "search":
            email = (query.get("email") or [""])[-1]
            if not email:
                raise _ClientError(400, "email is required", errors_shape=False)
            person = workspace.find("email", email)
            results = [] if person is None else [_identifiers(person)]
            return _json(200, {"results": results})
        id_type = (query.get("id_type") or ["id"])[-1]
        if id_type not in _IDENTIFIER_KINDS:
            raise _ClientError(400, f"id_type {id_type} is not enabled", errors_shape=False)
        value = _check_identifier(identifier or "")
        if id_type == "cio_id" and value.startswith("cio_"):
            value = value[4:]
        person = workspace.find(id_type, value)
        if person is None:
            raise _ClientError(404, "person not found", errors_shape=False)
        attributes = {**person.attributes, **_identifiers(person)}
        customer = {"id": person.id, "identifiers": _identifiers(person), "attributes": attributes}
        return _json(200, {"customer": customer})

    # admin -------------------------------------------------------------------------

    def admin(self, request: _Request) -> _Response:
        try:
            return self._admin(request)
        except _ClientError as exc:
            exc.errors_shape = False  # admin errors are all {"meta": {"error": "..."}}
            raise

    def _admin(self, request: _Request) -> _Response:
        parts = request.path[len(ADMIN_PREFIX) :].split("/")
        resource = parts[1] if len(parts) > 1 else ""
        method = request.method
        if len(parts) == 3 and resource in ("track-keys", "app-keys") and parts[2]:
            _allow(method, ("DELETE",))
            key = unquote_to_bytes(parts[2]).decode("utf-8", errors="replace")
            removed = (
                self.state.track_keys.pop(key, None)
                if resource == "track-keys"
                else self.state.app_keys.pop(key, None)
            )
            if removed is None:
                raise _ClientError(404, f"no such {resource[:-1]}")
            return _NO_CONTENT
        if len(parts) != 2:
            raise _ClientError(404, "not found")
        if resource in ("track-keys", "app-keys"):
            _allow(method, ("POST",))
            doc = _json_object(request.body, what="request body")
            workspace_id, region = _workspace_arguments(doc)
            try:
                if resource == "track-keys":
                    return _json(200, self.state.add_track_keys(workspace_id, region).to_json())
                key = self.state.add_app_key(workspace_id, region)
            except ValueError as exc:
                raise _ClientError(400, str(exc)) from None
            return _json(200, {"app_api_key": key, "workspace_id": self.state.app_keys[key]})
        if resource == "people":
            _allow(method, ("GET",))
            workspace_id = _query_int(request, "workspace_id")
            workspace = self.state.workspaces.get(
                self.state.default_workspace_id if workspace_id is None else workspace_id
            )
            if workspace is None:
                raise _ClientError(404, f"no workspace {workspace_id}")
            return _json(200, workspace.document())
        if resource == "faults":
            _allow(method, ("GET", "PUT"))
            if method == "PUT":
                try:
                    self.state.set_faults(
                        Faults.from_json(_json_object(request.body, what="faults"))
                    )
                except ValueError as exc:
                    raise _ClientError(400, str(exc)) from None
            return _json(200, self.state.faults.to_json())
        if resource == "requests":
            _allow(method, ("GET", "DELETE"))
            if method == "DELETE":
                self.state.log.clear()
                return _NO_CONTENT
            since = _query_int(request, "since") or 0
            recorded = [entry.to_json() for entry in self.state.log if entry.seq > since]
            return _json(200, {"requests": recorded})
        if resource == "info":
            _allow(method, ("GET",))
            return _json(200, self.info().to_json())
        raise _ClientError(404, "not found")


def _identifiers(person: _Person) -> dict[str, object]:
    return {"email": person.email, "id": person.id, "cio_id": person.cio_id}


def _allow(method: str, allowed: tuple[str, ...]) -> None:
    if method not in allowed:
        raise _MethodNotAllowedError(allowed)


class _MethodNotAllowedError(Exception):
    def __init__(self, allowed: tuple[str, ...]) -> None:
        super().__init__("method not allowed")
        self.allowed = allowed

    def response(self) -> _Response:
        doc = {"meta": {"error": "method not allowed"}}
        return _json(405, doc, f"Allow: {', '.join(self.allowed)}\r\n")


def _workspace_arguments(doc: dict[str, object]) -> tuple[int | None, str | None]:
    unknown = set(doc) - {"workspace_id", "region"}
    if unknown:
        raise _ClientError(400, f"unknown field(s): {', '.join(sorted(unknown))}")
    workspace_id = doc.get("workspace_id")
    if workspace_id is not None and (
        isinstance(workspace_id, bool) or not isinstance(workspace_id, int)
    ):
        raise _ClientError(400, "workspace_id must be an integer")
    region = doc.get("region")
    if region is not None and not isinstance(region, str):
        raise _ClientError(400, "region must be a string")
    return workspace_id, region


# --- the server -----------------------------------------------------------------------


class Sandbox:
    """A Customer.io API emulator listening on 127.0.0.1 (Track, App and admin on one port).

    Use it as a context manager (the server runs in a daemon thread with its own event loop)
    or, from the CLI, call `run_until_interrupted` to serve in the foreground.

    Raises:
        ValueError: a host other than 127.0.0.1, an unknown region, or a bad port or limit.
    """

    def __init__(
        self,
        *,
        host: str = LOOPBACK,
        port: int = 0,
        region: str = "us",
        workspace_id: int = 1001,
        seed: int | None = None,
        request_log_limit: int = 100_000,
    ) -> None:
        if host != LOOPBACK:
            raise ValueError(f"the sandbox binds {LOOPBACK} only, not {host!r}")
        if region not in REGIONS:
            raise ValueError(f"region must be one of {', '.join(REGIONS)}, not {region!r}")
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be 0-65535, not {port}")
        if request_log_limit < 0:
            raise ValueError("request_log_limit must be >= 0")
        self._host = host
        self._port = port
        self._state = _State(
            workspace_id=workspace_id, region=region, seed=seed, log_limit=request_log_limit
        )
        self._default_keys = self._state.add_track_keys(None, None)
        self._default_app_key = self._state.add_app_key(None, None)
        self._webhook_signing_key = secrets.token_hex(32)
        self._api = _Api(self._state, self._base_url, lambda: self.info)
        self._date = _DateHeader()
        self._bound_port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._connections: set[asyncio.Task[None]] = set()

    # lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start serving in a daemon thread; return once the port is listening.

        Raises:
            RuntimeError: already started.
            OSError: the port cannot be bound.
        """
        if self._thread is not None:
            raise RuntimeError("the sandbox is already running")
        ready = threading.Event()
        failures: list[BaseException] = []

        def serve() -> None:
            try:
                asyncio.run(self._serve(ready.set, handle_signals=False))
            except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
                failures.append(exc)
            finally:
                ready.set()

        thread = threading.Thread(target=serve, name="cio-sec-sandbox", daemon=True)
        self._thread = thread
        thread.start()
        ready.wait()
        if failures:
            thread.join()
            self._thread = None
            raise failures[0]

    def stop(self) -> None:
        """Stop serving and close every connection; a no-op when not running."""
        loop, stop_event = self._loop, self._stop_event
        if loop is not None and stop_event is not None:
            with contextlib.suppress(RuntimeError):  # the loop already finished
                loop.call_soon_threadsafe(stop_event.set)
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(_STOP_TIMEOUT)

    def run_until_interrupted(self, on_ready: Callable[[SandboxInfo], None]) -> None:
        """Serve in the calling thread until Ctrl-C, SIGTERM or `stop()`; then return.

        `on_ready` is called once, with the info, as soon as the port is listening.

        Raises:
            OSError: the port cannot be bound.
        """
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(self._serve(lambda: on_ready(self.info), handle_signals=True))

    async def _serve(self, on_listening: Callable[[], None], *, handle_signals: bool) -> None:
        loop = asyncio.get_running_loop()
        stop_event = asyncio.Event()
        server = await asyncio.start_server(
            self._serve_connection,
            self._host,
            self._port,
            backlog=_BACKLOG,
            limit=_MAX_HEAD_BYTES,
        )
        self._bound_port = int(server.sockets[0].getsockname()[1])
        self._loop, self._stop_event = loop, stop_event
        signalled = False
        if handle_signals:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signal.SIGTERM, stop_event.set)
                signalled = True
        try:
            on_listening()
            await stop_event.wait()
        finally:
            if signalled:
                loop.remove_signal_handler(signal.SIGTERM)
            self._loop = self._stop_event = None
            server.close()
            for task in self._connections:
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await server.wait_closed()

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = cast("asyncio.Task[None]", asyncio.current_task())
        self._connections.add(task)
        # asyncio sets TCP_NODELAY already; be explicit, since every response depends on it.
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            await self._converse(reader, writer)
        except asyncio.CancelledError:
            # The sandbox is stopping. NOTE: ending normally rather than as cancelled keeps
            # Python 3.11's stream callback from logging the cancellation as an error.
            pass
        except Exception:  # noqa: BLE001 - a broken connection must never stop the server
            # Mostly clients going away mid-request; never logged above DEBUG.
            _LOG.debug("sandbox connection ended abnormally", exc_info=True)
        finally:
            writer.close()
            self._connections.discard(task)

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                request = await _read_request(reader, writer)
            except _HttpError as exc:
                error = _json(exc.status, {"meta": {"error": exc.message}})
                writer.write(_render(error, self._date.get(), keep_alive=False))
                return
            if request is None:
                return
            try:
                response = await self._respond(request)
            except Exception:  # noqa: BLE001 - one bad request must never stop the server
                request.keep_alive = False
                response = _json(500, {"meta": {"error": "internal sandbox error"}})
            if response is None:
                return
            writer.write(
                _render(
                    response,
                    self._date.get(),
                    keep_alive=request.keep_alive,
                    http10=request.http10,
                    head_only=request.method == "HEAD",
                )
            )
            if not request.keep_alive:
                return
            await writer.drain()

    async def _respond(self, request: _Request) -> _Response | None:
        path = request.path
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            with self._state.lock:
                return _handle(lambda: self._api.admin(request))
        received = time.time()
        route, raw_identifier = _match_api(path)
        identifier: str | None = None
        bad_identifier = False
        if raw_identifier is not None:
            try:
                identifier = unquote_to_bytes(raw_identifier).decode("utf-8")
            except UnicodeDecodeError:
                bad_identifier = True
        state = self._state
        faults = state.faults
        response: _Response | None = None
        if faults.active:
            if faults.drop_rate:
                with state.lock:
                    dropped = state.draw(faults.drop_rate)
                    if dropped:
                        auth = state.authenticate(request.headers.get("authorization"))[0]
                        state.record(
                            request, received=received, status=0, auth=auth, identifier=identifier
                        )
                if dropped:
                    return None
            if faults.latency_ms:
                await asyncio.sleep(faults.latency_ms / 1000.0)
            response = self._fault_response(faults)
        with state.lock:
            auth, scheme, workspace = state.authenticate(request.headers.get("authorization"))
            if response is None:
                response = _handle(
                    lambda: self._route(
                        request, route, identifier, scheme, workspace, bad_identifier=bad_identifier
                    )
                )
            state.record(
                request, received=received, status=response.status, auth=auth, identifier=identifier
            )
        return response

    def _fault_response(self, faults: Faults) -> _Response | None:
        state = self._state
        with state.lock:
            wait = None if faults.rate_limit is None else state.take_token(faults.rate_limit)
            throttled = wait is None and state.draw(faults.throttle_rate)
            failed = wait is None and not throttled and state.draw(faults.error_rate)
        if wait is not None:
            extra = f"Retry-After: {max(1, math.ceil(wait))}\r\n"
            return _json(429, {"meta": {"error": "rate limit exceeded"}}, extra)
        if throttled:
            extra = (
                ""
                if faults.retry_after is None
                else f"Retry-After: {math.ceil(faults.retry_after)}\r\n"
            )
            return _json(429, {"meta": {"error": "too many requests (sandbox fault)"}}, extra)
        if failed:
            return _json(faults.error_status, {"meta": {"error": "injected sandbox fault"}})
        return None

    def _route(
        self,
        request: _Request,
        route: str | None,
        identifier: str | None,
        scheme: str,
        workspace: _Workspace | None,
        *,
        bad_identifier: bool,
    ) -> _Response:
        if route is None:
            raise _ClientError(404, "not found", errors_shape=False)
        track = route in _TRACK_ROUTES
        _allow(request.method, _TRACK_ROUTES[route] if track else _APP_ROUTES[route])
        if workspace is None or scheme != ("basic" if track else "bearer"):
            return _json(401, _UNAUTHORIZED)
        if bad_identifier:
            raise _ClientError(400, "identifier is not valid UTF-8")
        if track:
            return self._api.track(route, request, workspace, identifier)
        return self._api.app(route, request, workspace, identifier)

    # in-process interface -------------------------------------------------------------

    def _base_url(self) -> str:
        return f"http://{self._host}:{self._bound_port}"

    @property
    def port(self) -> int:
        """The port the sandbox listens on.

        Raises:
            RuntimeError: the sandbox has not been started.
        """
        if self._bound_port is None:
            raise RuntimeError("the sandbox has not been started")
        return self._bound_port

    @property
    def info(self) -> SandboxInfo:
        """URLs and default credentials (the default key set exists from construction).

        Raises:
            RuntimeError: the sandbox has not been started, so its URLs are unknown.
        """
        base = f"http://{self._host}:{self.port}"
        return SandboxInfo(
            track_url=base,
            app_url=base,
            admin_url=base + ADMIN_PREFIX,
            site_id=self._default_keys.site_id,
            track_api_key=self._default_keys.track_api_key,
            app_api_key=self._default_app_key,
            webhook_signing_key=self._webhook_signing_key,
        )

    def add_track_keys(
        self, *, workspace_id: int | None = None, region: str | None = None
    ) -> KeySet:
        """Create a Track key set (the workspace too, when unknown) and return it.

        Raises:
            ValueError: an unknown region, or one that contradicts an existing workspace.
        """
        with self._state.lock:
            return self._state.add_track_keys(workspace_id, region)

    def revoke_track_keys(self, site_id: str) -> None:
        """Revoke a Track key set: requests signed with it get 401 from now on.

        Raises:
            KeyError: no such site ID.
        """
        with self._state.lock:
            del self._state.track_keys[site_id]

    def add_app_key(self, *, workspace_id: int | None = None, region: str | None = None) -> str:
        """Create an App API key (the workspace too, when unknown) and return it.

        Raises:
            ValueError: an unknown region, or one that contradicts an existing workspace.
        """
        with self._state.lock:
            return self._state.add_app_key(workspace_id, region)

    def revoke_app_key(self, key: str) -> None:
        """Revoke an App API key: requests bearing it get 401 from now on.

        Raises:
            KeyError: no such key.
        """
        with self._state.lock:
            del self._state.app_keys[key]

    def set_faults(self, faults: Faults) -> None:
        """Replace the faults in force (and reseed the fault sequence when `faults.seed` is set)."""
        with self._state.lock:
            self._state.set_faults(faults)

    @property
    def faults(self) -> Faults:
        """The faults in force."""
        with self._state.lock:
            return self._state.faults

    def requests(self) -> list[RecordedRequest]:
        """Return the recorded Track and App requests, oldest first (admin ones are not kept)."""
        with self._state.lock:
            return list(self._state.log)

    def clear_requests(self) -> None:
        """Empty the request log (sequence numbers keep counting)."""
        with self._state.lock:
            self._state.log.clear()

    def people(self, workspace_id: int | None = None) -> dict[str, object]:
        """Return a workspace's people, suppressions, deletions and event count.

        This is the document ``GET /_sandbox/people`` answers.

        Raises:
            ValueError: no such workspace.
        """
        with self._state.lock:
            ws_id = self._state.default_workspace_id if workspace_id is None else workspace_id
            workspace = self._state.workspaces.get(ws_id)
            if workspace is None:
                raise ValueError(f"no workspace {ws_id}")
            # A JSON round trip detaches the caller's copy from the live state.
            detached: dict[str, object] = json.loads(_json_bytes(workspace.document()))
            return detached


def _handle(handler: Callable[[], _Response]) -> _Response:
    """Run a handler, turning its client errors into responses."""
    try:
        return handler()
    except _ClientError as exc:
        return _json(exc.status, exc.document())
    except _MethodNotAllowedError as exc:
        return exc.response()
