"""What differs between kinds: key formats, remote tests, UI paths, the webhook sample.

Customer.io has no key-management API, so the UI paths printed here are the operator's
half of a rotation; the remote tests are read-only calls that say which workspace and
region a key belongs to, or that Customer.io rejects it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cio_sec.errors import ConfigError, InputError
from cio_sec.rotate.steps import Kind
from cio_sec.settings import Settings
from cio_sec.stores.chain import StoreOpener, resolve

if TYPE_CHECKING:
    from cio_sec.client import RetryPolicy, Workspace

# NOTE: `cio_sec.client` (and httpx with it) is imported where a remote test runs, so that
# the webhook and pseudonym rotations, which make no request, never load it.

#: Credential → (pattern, words) of the documented shape; a different shape only warns.
_SHAPES: dict[str, tuple[re.Pattern[str], str]] = {
    "site_id": (re.compile(r"[0-9a-f]{20}"), "20 lowercase hex characters"),
    "track_api_key": (re.compile(r"[0-9a-f]{20}"), "20 lowercase hex characters"),
    "app_api_key": (re.compile(r"[0-9a-f]{32}"), "32 lowercase hex characters"),
}
_PRINTABLE = re.compile(r"[\x21-\x7e]+")

LABELS: dict[str, str] = {
    "site_id": "new site ID",
    "track_api_key": "new Track API key",
    "app_api_key": "new App API key",
    "webhook_signing_key": "new webhook signing key",
}

_CREDENTIALS_PAGE = "Account Settings > API Credentials"

CREATE_INSTRUCTIONS: dict[Kind, str] = {
    Kind.TRACK: (
        f"In Customer.io: {_CREDENTIALS_PAGE} > Track API Keys > Create Track API Key; "
        "choose the same workspace as the current key. Keep the old key set for now. "
        "Enter the new site ID, then the new API key."
    ),
    Kind.APP: (
        f"In Customer.io: {_CREDENTIALS_PAGE} > App API Keys > Create App API Key, in the "
        "same workspace and with the same scope as the current key (it is shown once). "
        "Keep the old key for now."
    ),
    Kind.WEBHOOK: (
        "In Customer.io: Data & Integrations > Integrations > Reporting Webhooks > your "
        "webhook > regenerate the signing key. Customer.io signs with the new key from "
        "then on; receivers that accept the previous key too keep working meanwhile."
    ),
}

DEPLOY_INSTRUCTIONS: dict[Kind, str] = {
    Kind.TRACK: "Deploy or restart every consumer of the Track API key so it reads the new "
    "pair from the store.",
    Kind.APP: "Deploy or restart every consumer of the App API key so it reads the new key.",
    Kind.WEBHOOK: "Deploy or restart every webhook receiver so it verifies with the new "
    "signing key (the previous one stays in the store for the overlap).",
}

DELETE_INSTRUCTIONS: dict[Kind, str] = {
    Kind.TRACK: f"Then in Customer.io: {_CREDENTIALS_PAGE} > Track API Keys > the OLD "
    "key set (site ID {old}) > Delete.",
    Kind.APP: f"Then in Customer.io: {_CREDENTIALS_PAGE} > App API Keys > the OLD key "
    "({old}) > Delete.",
}


def check_new_value(name: str, value: str) -> tuple[str, ...]:
    """Refuse what cannot be a key; return warnings for an unexpected shape.

    Raises:
        InputError: the value is empty, or has whitespace or control characters inside.
    """
    if not value:
        raise InputError(f"the {LABELS.get(name, name)} is empty", path="<input>")
    if not _PRINTABLE.fullmatch(value):
        raise InputError(
            f"the {LABELS.get(name, name)} contains spaces, line breaks or characters "
            "outside printable ASCII: it is not a key",
            path="<input>",
            hint="copy the key again from Customer.io, without surrounding text",
        )
    shape = _SHAPES.get(name)
    if shape and not shape[0].fullmatch(value):
        return (f"{name} values are usually {shape[1]}; this one is not (the test will tell)",)
    if name == "webhook_signing_key" and len(value) < 16:
        return (f"the {LABELS[name]} is shorter than 16 characters; is it complete?",)
    return ()


def clean_input(value: str) -> str:
    """Drop the surrounding whitespace a paste or ``echo`` adds."""
    return value.strip()


@dataclass(frozen=True)
class Identity:
    """Which workspace and region a key answers for."""

    region: str | None
    workspace_id: str | None
    listed: tuple[str, ...] | None = None
    """For an App key: every workspace it lists (one key may see several, the account's)."""

    def describe(self) -> str:
        """``workspace 1001 in region us``."""
        workspace = (
            "no workspace" if self.workspace_id is None else f"workspace {self.workspace_id}"
        )
        region = "an unknown region" if self.region is None else f"region {self.region}"
        return f"{workspace} in {region}"


def _policy() -> RetryPolicy:
    """An operator waits on each test: three attempts, a few seconds at most."""
    from cio_sec.client import RetryPolicy

    return RetryPolicy(max_attempts=3, max_delay=2.0, max_retry_after=4.0)


def track_identity(settings: Settings, site_id: str, api_key: str) -> Identity:
    """Test a Track pair with ``GET /api/v1/accounts/region``, the region checked.

    Raises:
        RegionMismatchError: the pair's account is in another region than the configured
            one (the lookup says so, was redirected there, or only that region accepts it).
        CredentialRejectedError: Customer.io rejected the pair (401/403).
        RemoteError: Customer.io could not be reached or answered oddly.
    """
    from cio_sec import client

    account = client.find_account(
        client.RegionSetting.of(settings),
        site_id,
        api_key,
        needs=("region", "environment_id"),
        timeout=settings.timeout,
        policy=_policy(),
    )
    return Identity(account.region, account.environment_id)


def app_workspace(settings: Settings, opener: StoreOpener) -> str | None:
    """The workspace an App key must list: the Track key's, when Track credentials are set.

    Raises:
        RegionMismatchError: the Track pair's account is in another region.
        CredentialRejectedError: Customer.io rejected the Track pair (401/403).
        RemoteError: Customer.io could not be reached or answered oddly.
    """
    site = resolve(settings, "site_id", opener).value
    key = resolve(settings, "track_api_key", opener).value
    if site is None or key is None:
        return None
    return track_identity(settings, site, key).workspace_id


def app_identity(settings: Settings, api_key: str, workspace_id: str | None) -> Identity:
    """Test an App key with ``GET /v1/workspaces`` on the configured region's host.

    One App key lists every workspace of its account, so the key is for ``workspace_id``
    (the Track key's) when it lists it among any others. Without a ``workspace_id``, the
    key must list exactly one workspace, which is then the one. The region is the
    workspace's when the listing says, else the host's: App keys are regional, so a key
    from the other region is rejected there.

    Raises:
        RegionMismatchError: the request was redirected to the other region's App host.
        CredentialRejectedError: Customer.io rejected the key (401/403).
        RemoteError: Customer.io could not be reached or answered oddly.
        ConfigError: no ``workspace_id`` and the key sees no workspace, or several.
    """
    from cio_sec import client

    workspaces = client.find_workspaces(
        client.RegionSetting.of(settings), api_key, timeout=settings.timeout, policy=_policy()
    )
    listed = tuple(workspace.id for workspace in workspaces)
    if workspace_id is None:
        if len(workspaces) != 1:
            raise ConfigError(
                f"the App API key sees {len(workspaces)} workspaces and no Track key says "
                "which one it is for",
                hint="configure the Track credentials (site_id, track_api_key) of the same "
                "workspace, then run the rotation again",
            )
        workspace_id = listed[0]
    return Identity(
        _listed_region(workspaces, workspace_id) or settings.region, workspace_id, listed
    )


def _listed_region(workspaces: tuple[Workspace, ...], workspace_id: str) -> str | None:
    """The region the listing gives: the workspace's, else the one all listed share."""
    for workspace in workspaces:
        if workspace.id == workspace_id:
            return workspace.region
    regions = {workspace.region for workspace in workspaces}
    return regions.pop() if len(regions) == 1 else None


def identity_problem(expected: Identity, actual: Identity) -> str | None:
    """Say how a new key's identity differs from the current key's; None when it matches."""
    if expected.region != actual.region:
        return (
            f"the new key is for region {actual.region}, but the current key's account is in "
            f"region {expected.region}"
        )
    if actual.listed is not None:
        if expected.workspace_id in actual.listed:
            return None
        return (
            f"the new key does not list workspace {expected.workspace_id} (it lists "
            f"{', '.join(actual.listed) or 'none'}), the current key's workspace"
        )
    if expected.workspace_id != actual.workspace_id:
        return (
            f"the new key is for workspace {actual.workspace_id}, but the current key's is "
            f"workspace {expected.workspace_id}"
        )
    return None


SAMPLE_BODY = b'{"event_type":"cio-sec rotation check","metric":"sent"}'


def sign_sample(key: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 over ``v0:<timestamp>:<body>``, as Customer.io signs deliveries."""
    message = b"v0:" + str(timestamp).encode("ascii") + b":" + body
    return hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sample_verifies(key: str, signature: str, timestamp: int, body: bytes) -> bool:
    """Whether ``signature`` is the key's signature of the sample (constant-time compare)."""
    expected = sign_sample(key, timestamp, body).encode("ascii")
    return hmac.compare_digest(expected, signature.encode("ascii", "replace"))


def check_sample(key: str, signature: str, timestamp: int) -> None:
    """Check a signature of the sample, as a receiver holding ``key`` would.

    Raises:
        ConfigError: the signature is not the key's.
    """
    if not sample_verifies(key, signature, timestamp, SAMPLE_BODY):
        raise ConfigError("a sample signed with the stored key does not verify")


def now_seconds() -> int:
    """The Unix time a webhook sample is stamped with."""
    return int(time.time())
