"""The sandbox's public value types and limits, and the error its handlers answer with."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

LOOPBACK: Final = "127.0.0.1"
"""The only address the sandbox binds: it holds keys and personal data in plain memory."""
REGIONS: Final = ("us", "eu")
ADMIN_PREFIX: Final = "/_sandbox"
MAX_IDENTIFIER_BYTES: Final = 150
MAX_EVENT_NAME_BYTES: Final = 100
MAX_BATCH_BYTES: Final = 500 * 1024
MAX_BATCH_ITEM_BYTES: Final = 32 * 1024
WRONG_REGION_ANSWERS: Final = ("401", "redirect")


@dataclass(frozen=True)
class SandboxInfo:
    """Where a running sandbox listens and its default credentials.

    `cio-sec sandbox` prints `to_json()` as one JSON line; it deliberately carries the keys,
    which are random per run and valid only against this sandbox. The ``_eu`` URLs are the
    EU host (a second port of the same sandbox, same state).
    """

    track_url: str
    app_url: str
    admin_url: str
    site_id: str
    track_api_key: str
    app_api_key: str
    webhook_signing_key: str
    track_url_eu: str = ""
    app_url_eu: str = ""

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
            "track_url_eu": self.track_url_eu,
            "app_url_eu": self.app_url_eu,
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


_MAX_MS: Final = 3_600_000
"""The longest latency, deletion lag or Retry-After a fault may ask for: one hour."""


@dataclass(frozen=True)
class Faults:
    """Faults injected into Track and App requests (never admin ones); defaults: none.

    Per request the order is drop, latency, rate limit, App rate limit, throttle, redirect,
    error; `ignore_delete_rate`, `ignore_update_rate`, `delete_lag_ms` and `app_wrong_region` act in
    the handlers.

    Raises:
        ValueError: a rate outside [0, 1], a status outside 400-599, a negative or
            non-finite duration, or an unknown `app_wrong_region`.
    """

    error_rate: float = 0.0
    """Fraction of API requests answered with `error_status`."""
    error_status: int = 503
    """522 and 524 (CDN edge timeouts) come with an HTML body, as Cloudflare sends them."""
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
    ignore_delete_rate: float = 0.0
    """Fraction of deletes and suppresses (v1, and v2 batch items) answered but not done."""
    delete_lag_ms: float = 0.0
    """Milliseconds a deleted or suppressed person stays visible to the App API."""
    app_rate_limit: float | None = None
    """Enforced requests/s over App API requests only (its own bucket; the real one is 10)."""
    redirect_rate: float = 0.0
    """Fraction of API requests answered 301 or 302 to the other region's host."""
    app_wrong_region: str = "401"
    """How the App API answers a key of the other region: ``"401"`` or ``"redirect"`` (301)."""
    ignore_update_rate: float = 0.0
    """Fraction of v1 identify calls (``PUT /api/v1/customers/{id}``) answered but not done."""

    def __post_init__(self) -> None:
        for name in _RATE_FIELDS:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"faults.{name} must be between 0 and 1, not {value!r}")
        if not 400 <= self.error_status <= 599:
            raise ValueError(f"faults.error_status must be 400-599, not {self.error_status!r}")
        if self.retry_after is not None and not 0.0 <= self.retry_after <= _MAX_MS / 1000:
            raise ValueError(
                f"faults.retry_after must be 0-{_MAX_MS // 1000}, not {self.retry_after!r}"
            )
        for name in ("latency_ms", "delete_lag_ms"):
            value = getattr(self, name)
            if not 0.0 <= value <= _MAX_MS:  # beyond an hour the sandbox would just hang
                raise ValueError(f"faults.{name} must be 0-{_MAX_MS}, not {value!r}")
        for name in ("rate_limit", "app_rate_limit"):
            value = getattr(self, name)
            if value is not None and not 0.0 < value < math.inf:
                raise ValueError(f"faults.{name} must be > 0, not {value!r}")
        if self.app_wrong_region not in WRONG_REGION_ANSWERS:
            raise ValueError(
                f"faults.app_wrong_region must be one of {', '.join(WRONG_REGION_ANSWERS)}, "
                f"not {self.app_wrong_region!r}"
            )

    @property
    def active(self) -> bool:
        """Whether any fault that acts before the handlers is configured."""
        return bool(
            self.error_rate
            or self.throttle_rate
            or self.latency_ms
            or self.drop_rate
            or self.redirect_rate
            or self.rate_limit is not None
            or self.app_rate_limit is not None
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
            ignore_delete_rate=_json_float(doc, "ignore_delete_rate", default.ignore_delete_rate),
            delete_lag_ms=_json_float(doc, "delete_lag_ms", default.delete_lag_ms),
            app_rate_limit=_json_optional_float(doc, "app_rate_limit", default.app_rate_limit),
            redirect_rate=_json_float(doc, "redirect_rate", default.redirect_rate),
            app_wrong_region=_json_str(doc, "app_wrong_region", default.app_wrong_region),
            ignore_update_rate=_json_float(doc, "ignore_update_rate", default.ignore_update_rate),
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
    "ignore_delete_rate",
    "delete_lag_ms",
    "app_rate_limit",
    "redirect_rate",
    "app_wrong_region",
    "ignore_update_rate",
)
_RATE_FIELDS: Final = (
    "ignore_update_rate",
    "error_rate",
    "throttle_rate",
    "drop_rate",
    "ignore_delete_rate",
    "redirect_rate",
)


def _json_str(doc: dict[str, object], name: str, default: str) -> str:
    value = doc.get(name, default)
    if not isinstance(value, str):
        raise ValueError(f"faults.{name} must be a string")
    return value


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


class ClientError(Exception):
    """An answer other than success, raised from deep in a handler."""

    def __init__(self, status: int, message: str, *, errors_shape: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors_shape = errors_shape

    def document(self) -> dict[str, object]:
        """Return the JSON error document Customer.io answers for this kind of error."""
        if self.errors_shape:
            return {"meta": {"errors": [self.message]}}
        return {"meta": {"error": self.message}}
