"""What the sandbox knows: accounts and their workspaces, keys, faults, the request log."""

from __future__ import annotations

import base64
import binascii
import hmac
import random
import secrets
import threading
import time
from collections import deque
from typing import Final

from cio_sec.sandbox.models import REGIONS, Faults, KeySet, RecordedRequest
from cio_sec.sandbox.people import IDENTIFIER_SETTINGS, Workspace
from cio_sec.sandbox.wire import Request

_ELLIPSIS: Final = "…"


class State:
    """Everything the sandbox knows; every access holds `lock`."""

    def __init__(self, *, workspace_id: int, region: str, seed: int | None, log_limit: int) -> None:
        self.lock = threading.Lock()
        self.default_region = region
        self.default_workspace_id = workspace_id
        self.workspaces: dict[int, Workspace] = {}
        self.track_keys: dict[str, KeySet] = {}
        self.issued_site_ids: set[str] = set()
        self.app_keys: dict[str, int] = {}
        self.log: deque[RecordedRequest] = deque(maxlen=log_limit)
        self.seq = 0
        self.cio_counter = 0
        self.faults = Faults()
        self.rng = random.Random(seed)  # noqa: S311 - fault sampling, not cryptography
        # The App API's documented limit is "10 requests per second": a one-second window,
        # so a second's worth may come together. The overall limit keeps a tenth of one.
        self.buckets = {"all": _Bucket(window=0.1), "app": _Bucket(window=1.0)}
        self.next_account_id = 1
        self.default_account_id = self.workspace(None, None).account_id

    def next_cio_id(self) -> str:
        """Return a fresh cio_id (hex, unique across workspaces)."""
        self.cio_counter += 1
        return f"a3{self.cio_counter:06x}"

    def workspace(self, workspace_id: int | None, region: str | None) -> Workspace:
        """Return a workspace; an unknown one is created (in `region`) in an account of its own.

        Raises:
            ValueError: an unknown region, or a region that contradicts an existing workspace.
        """
        _check_region(region)
        ws_id = self.default_workspace_id if workspace_id is None else workspace_id
        workspace = self.workspaces.get(ws_id)
        if workspace is None:
            account_id = self.next_account_id
            self.next_account_id += 1
            workspace = self._create(ws_id, region, account_id, None, "email_or_id")
        elif region is not None and region != workspace.region:
            raise ValueError(f"workspace {ws_id} is in region {workspace.region}, not {region}")
        return workspace

    def add_workspace(self, name: str | None, region: str | None, identifiers: str) -> Workspace:
        """Add a workspace to the default account, under the next free workspace id.

        Raises:
            ValueError: an unknown region or identifier setting.
        """
        _check_region(region)
        if identifiers not in IDENTIFIER_SETTINGS:
            raise ValueError(
                f"identifiers must be one of {', '.join(IDENTIFIER_SETTINGS)}, not {identifiers!r}"
            )
        ws_id = max(self.workspaces) + 1
        return self._create(ws_id, region, self.default_account_id, name, identifiers)

    def _create(
        self,
        workspace_id: int,
        region: str | None,
        account_id: int,
        name: str | None,
        identifiers: str,
    ) -> Workspace:
        workspace = Workspace(
            workspace_id,
            region or self.default_region,
            self.next_cio_id,
            account_id=account_id,
            name=name,
            identifiers=identifiers,
        )
        self.workspaces[workspace_id] = workspace
        return workspace

    def account_workspaces(self, workspace: Workspace) -> list[Workspace]:
        """Return every workspace of `workspace`'s account, in order of creation."""
        return [ws for ws in self.workspaces.values() if ws.account_id == workspace.account_id]

    def add_track_keys(self, workspace_id: int | None, region: str | None) -> KeySet:
        """Issue a Track key set for a workspace (created when unknown).

        Raises:
            ValueError: as `workspace` does.
        """
        workspace = self.workspace(workspace_id, region)
        keys = KeySet(secrets.token_hex(10), secrets.token_hex(10), workspace.id)
        self.track_keys[keys.site_id] = keys
        self.issued_site_ids.add(keys.site_id)
        return keys

    def add_app_key(self, workspace_id: int | None, region: str | None) -> str:
        """Issue an App API key for a workspace (created when unknown).

        Raises:
            ValueError: as `workspace` does.
        """
        workspace = self.workspace(workspace_id, region)
        key = secrets.token_hex(16)
        self.app_keys[key] = workspace.id
        return key

    def set_faults(self, faults: Faults) -> None:
        """Replace the faults; reseed the fault sequence and refill the rate-limit buckets."""
        self.faults = faults
        if faults.seed is not None:
            self.rng.seed(faults.seed)
        now = time.monotonic()
        for name, rate in (("all", faults.rate_limit), ("app", faults.app_rate_limit)):
            if rate is not None:
                self.buckets[name].refill(rate, now)

    def draw(self, rate: float) -> bool:
        """Return True with probability `rate`; draws nothing when the rate is 0."""
        return bool(rate) and self.rng.random() < rate

    def take_token(self, rate: float, bucket: str = "all") -> float | None:
        """Spend one token of a rate-limit bucket; return the seconds to wait when empty."""
        return self.buckets[bucket].take(rate, time.monotonic())

    def authenticate(self, header: str | None) -> tuple[str, str, Workspace | None]:
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
        request: Request,
        *,
        received: float,
        status: int,
        auth: str,
        identifier: str | None,
    ) -> None:
        """Append a request to the log under the next sequence number."""
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


def _check_region(region: str | None) -> None:
    if region is not None and region not in REGIONS:
        raise ValueError(f"region must be one of {', '.join(REGIONS)}, not {region!r}")


class _Bucket:
    """A token bucket holding max(1, rate * window) tokens, refilled at `rate` per second."""

    def __init__(self, *, window: float) -> None:
        self.window = window
        self.tokens = 0.0
        self.refilled_at = 0.0

    def _burst(self, rate: float) -> float:
        return max(1.0, rate * self.window)

    def refill(self, rate: float, now: float) -> None:
        self.tokens = self._burst(rate)
        self.refilled_at = now

    def take(self, rate: float, now: float) -> float | None:
        self.tokens = min(self._burst(rate), self.tokens + (now - self.refilled_at) * rate)
        self.refilled_at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return (1.0 - self.tokens) / rate


def _basic_credentials(encoded: str) -> tuple[str | None, str | None]:
    """Return (user, password) of a Basic credential; (None, None) when unreadable."""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    user, sep, password = decoded.partition(":")
    return user, (password if sep else None)
