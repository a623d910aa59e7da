"""Credentials: resolve them through their reference chains, show, store and check them.

Values never leave this module except inside `ResolvedCredential` (whose repr hides them)
and they are registered with the redactor by the stores as they are read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cio_sec.errors import (
    ConfigError,
    CredentialRejectedError,
    ExitCode,
    InputError,
    RegionMismatchError,
    RemoteError,
    SecretMissingError,
    SecretStoreUnavailableError,
)
from cio_sec.redact import fingerprint, mask
from cio_sec.settings import CREDENTIAL_ENV_NAMES, CREDENTIAL_NAMES, Settings
from cio_sec.stores import SecretRef, SecretStore, check_reference, open_store

if TYPE_CHECKING:
    from cio_sec.client import RetryPolicy, Workspace


#: Opens the store behind a reference; injected so tests and callers can substitute.
StoreOpener = Callable[[SecretRef], SecretStore]

_EXPECTED_SHAPES: dict[str, tuple[re.Pattern[str], str]] = {
    "site_id": (re.compile(r"[0-9a-f]{20}"), "20 lowercase hex characters"),
    "track_api_key": (re.compile(r"[0-9a-f]{20}"), "20 lowercase hex characters"),
    "app_api_key": (re.compile(r"[0-9a-f]{32}"), "32 lowercase hex characters"),
}


@dataclass(frozen=True)
class StoreProblem:
    """A store in a credential's chain that could not be read."""

    ref: SecretRef
    message: str
    hint: str | None = None
    reason: str = ""
    """Why, in words shared by every entry of the store ("the keyring is locked")."""

    @classmethod
    def of(cls, ref: SecretRef, exc: SecretStoreUnavailableError) -> StoreProblem:
        """The problem ``exc`` reports for the store behind ``ref``."""
        return cls(ref, exc.message, exc.hint, exc.reason or exc.message)

    @property
    def store(self) -> str:
        """The kind of store, as people call it: ``keyring``, ``dotenv``, ``vault`` ..."""
        return self.ref.scheme

    def __str__(self) -> str:
        return f"{self.ref}: {self.message}"


@dataclass(frozen=True)
class ResolvedCredential:
    """Where a credential was looked for, where it was found, and (hidden) its value."""

    name: str
    chain: tuple[SecretRef, ...]
    source: SecretRef | None = None
    value: str | None = field(default=None, repr=False)
    version: str | None = None
    problems: tuple[StoreProblem, ...] = ()
    """Stores in the chain that could not be read (unavailable, locked ...)."""

    @property
    def found(self) -> bool:
        """True when some store in the chain held a value."""
        return self.value is not None

    def to_json(self) -> dict[str, object]:
        """Describe the credential without its value."""
        return {
            "name": self.name,
            "found": self.found,
            "source": str(self.source) if self.source else None,
            "chain": [str(ref) for ref in self.chain],
            "masked": mask(self.value) if self.value is not None else None,
            "fingerprint": fingerprint(self.value) if self.value is not None else None,
            "version": self.version,
            "problems": [str(problem) for problem in self.problems],
        }


def store_opener(settings: Settings, environ: Mapping[str, str]) -> StoreOpener:
    """Return the function that opens stores for these settings."""

    def _open(ref: SecretRef) -> SecretStore:
        return open_store(ref, environ=environ, cwd=settings.cwd)

    return _open


def resolve(settings: Settings, name: str, opener: StoreOpener) -> ResolvedCredential:
    """Look a credential up along its chain; the first store with a value wins.

    A store that cannot be read is noted and skipped, so that an env var still works on a
    machine without a keyring.

    Raises:
        ConfigError: the name or a reference is invalid.
    """
    chain = settings.references(name)
    problems: list[StoreProblem] = []
    for ref in chain:
        try:
            stored = opener(ref).get()
        except SecretStoreUnavailableError as exc:
            problems.append(StoreProblem.of(ref, exc))
            continue
        if stored is not None and stored.value:
            return ResolvedCredential(
                name, chain, ref, stored.value, stored.version, tuple(problems)
            )
    return ResolvedCredential(name, chain, problems=tuple(problems))


def require(settings: Settings, name: str, opener: StoreOpener) -> ResolvedCredential:
    """Resolve a credential that the command cannot do without.

    Raises:
        SecretMissingError: no store in the chain holds a value.
        SecretStoreUnavailableError: nothing was found and some store could not be read.
    """
    resolved = resolve(settings, name, opener)
    if resolved.found:
        return resolved
    where = ", ".join(str(ref) for ref in resolved.chain)
    hint = _missing_hint(settings, name)
    if resolved.problems:
        raise SecretStoreUnavailableError(
            f"credential {name} not found; some stores could not be read: "
            + "; ".join(str(problem) for problem in resolved.problems),
            hint=resolved.problems[0].hint or hint,
        )
    raise SecretMissingError(f"credential {name} not found (looked in {where})", hint=hint)


def _missing_hint(settings: Settings, name: str) -> str:
    if settings.config_path is None:
        return (
            f"set {CREDENTIAL_ENV_NAMES[name]}, or run `cio-sec credentials set {name}` "
            "to store it in the keyring"
        )
    return f"run `cio-sec --profile {settings.profile} credentials set {name}`"


# --------------------------------------------------------------------------- show


@dataclass(frozen=True)
class CredentialsReport:
    """The result of ``credentials show``."""

    profile: str
    region: str
    config_path: str | None
    credentials: tuple[ResolvedCredential, ...]

    @property
    def ok(self) -> bool:
        """``show`` only informs; it succeeds whatever it finds."""
        return True

    @property
    def exit_code(self) -> ExitCode:
        """Always 0: a missing credential is reported, not a failure."""
        return ExitCode.OK

    def to_json(self) -> dict[str, object]:
        """The JSON payload (never values)."""
        return {
            "profile": self.profile,
            "region": self.region,
            "config_path": self.config_path,
            "credentials": [credential.to_json() for credential in self.credentials],
        }


def show_credentials(settings: Settings, opener: StoreOpener) -> CredentialsReport:
    """Resolve every credential and describe where each one comes from."""
    return CredentialsReport(
        profile=settings.profile,
        region=settings.region,
        config_path=str(settings.config_path) if settings.config_path else None,
        credentials=tuple(resolve(settings, name, opener) for name in CREDENTIAL_NAMES),
    )


# --------------------------------------------------------------------------- set


@dataclass(frozen=True)
class StoredCredential:
    """The result of ``credentials set``."""

    name: str
    store: str
    description: str
    fingerprint: str
    masked: str
    previous_kept: bool
    warnings: tuple[str, ...] = ()
    version: str | None = None
    """The store's label for the version written (secret managers), if it has one."""

    @property
    def ok(self) -> bool:
        """A stored credential is always a success."""
        return True

    @property
    def exit_code(self) -> ExitCode:
        """Always 0: a failed store raises instead."""
        return ExitCode.OK

    def to_json(self) -> dict[str, object]:
        """The JSON payload (never the value)."""
        return {
            "name": self.name,
            "store": self.store,
            "description": self.description,
            "fingerprint": self.fingerprint,
            "masked": self.masked,
            "previous_kept": self.previous_kept,
            "warnings": list(self.warnings),
            "version": self.version,
        }


def shape_warnings(name: str, value: str) -> tuple[str, ...]:
    """Warn when a value does not look like the credential it is supposed to be."""
    warnings: list[str] = []
    if value != value.strip():
        warnings.append(f"the {name} value has leading or trailing whitespace")
    if "\n" in value.strip() or "\r" in value.strip():
        warnings.append(f"the {name} value contains a line break (pasted twice?)")
    expected = _EXPECTED_SHAPES.get(name)
    if expected and not expected[0].fullmatch(value.strip()):
        warnings.append(f"{name} values are usually {expected[1]}; this one is not")
    return tuple(warnings)


def parse_store_option(store: str) -> SecretRef:
    """Parse ``--store`` (before any secret is asked for, so a typo costs no typing).

    Raises:
        InputError: not a valid reference (a usage error, exit 2).
    """
    try:
        ref = SecretRef.parse(store)
        check_reference(ref)
    except ConfigError as exc:
        raise InputError(f"--store: {exc.message}", hint=exc.hint) from None
    if ref.scheme == "env":
        # NOTE: refused here, before the reference can be quoted in a later message: what
        # follows "env:" may be the key itself, pasted in the wrong place.
        raise InputError(
            "--store: an env: reference cannot be written (the environment is read-only)",
            hint="choose a writable store: keyring:, dotenv:, aws-sm:, aws-ssm: or vault:",
        )
    return ref


def target_store(
    settings: Settings, name: str, store: SecretRef | None, opener: StoreOpener
) -> SecretStore:
    """Pick where ``credentials set`` writes: ``--store``, else the safest writable reference.

    In the default chain (env, ``.env``, keyring) that is the keyring: a plaintext dotenv
    file is written only when it is the sole writable store or is asked for by name.

    Raises:
        ConfigError: the name is unknown, or no reference in the chain is writable.
    """
    if store is not None:
        return opener(store)
    writable = writable_stores(settings, name, opener)
    if writable:
        return writable[0]
    raise ConfigError(
        f"no writable store configured for {name}",
        hint="pass --store keyring:cio-sec/<profile>/<name> or dotenv:PATH#NAME",
    )


def writable_stores(settings: Settings, name: str, opener: StoreOpener) -> list[SecretStore]:
    """The writable stores of a credential's chain, safest first.

    Chain order, except that plaintext dotenv files come after every other store.

    Raises:
        ConfigError: the name is unknown.
    """
    writable = [opener(ref) for ref in settings.references(name)]
    writable = [candidate for candidate in writable if candidate.writable]
    return sorted(writable, key=lambda candidate: candidate.ref.scheme == "dotenv")


def set_credential(
    settings: Settings,
    name: str,
    value: str,
    opener: StoreOpener,
    *,
    store: SecretRef | None = None,
) -> StoredCredential:
    """Write a credential to its store, keeping the previous value, and read it back.

    Raises:
        InputError: the value is empty.
        ConfigError: the name is unknown or the target store is read-only.
        SecretStoreUnavailableError: the store failed, or read back a different value.
    """
    if not value.strip():
        raise InputError(f"refusing to store an empty value for {name}")
    settings.references(name)  # validates the name
    _refuse_weak(name, value)
    destination = target_store(settings, name, store, opener)
    if not destination.writable:
        raise ConfigError(
            f"{destination.ref} is read-only",
            hint="choose a writable store with --store (keyring:, dotenv:, aws-sm:, aws-ssm: "
            "or vault:)",
        )
    destination.put(value)
    stored = destination.get()
    if stored is None or fingerprint(stored.value) != fingerprint(value):
        raise SecretStoreUnavailableError(
            f"{destination.ref} did not return the value just written",
            hint="the store may be read-only or shadowed; check it and retry",
        )
    return StoredCredential(
        name=name,
        store=str(destination.ref),
        description=destination.describe(),
        fingerprint=fingerprint(value),
        masked=mask(value),
        previous_kept=destination.get_previous() is not None,
        warnings=shape_warnings(name, value)
        + _shadow_warnings(settings, name, destination.ref, opener),
        version=stored.version,
    )


def generate_credential(
    settings: Settings, name: str, opener: StoreOpener, *, store: SecretRef | None = None
) -> StoredCredential:
    """``credentials set NAME --generate``: only cio-sec's own key can be made here.

    Raises:
        InputError: ``name`` is a key Customer.io issues (exit 2).
        SecretMissingError: no store of the chain could keep the new key.
        ConfigError: ``store`` is read-only.
        SecretStoreUnavailableError: ``store`` failed.
    """
    from cio_sec import pseudonym

    if name != pseudonym.CREDENTIAL:
        raise InputError(
            f"--generate makes only {pseudonym.CREDENTIAL}; {name} is issued by Customer.io",
            hint=f"store it with `cio-sec credentials set {name}` (hidden prompt or --stdin)",
        )
    return pseudonym.generate_key(settings, opener, store)


def _refuse_weak(name: str, value: str) -> None:
    """Refuse now a pseudonym key that ``sanitize`` would refuse later (the same rule).

    Raises:
        InputError: the key is weak (exit 2).
    """
    from cio_sec import pseudonym

    if name != pseudonym.CREDENTIAL:
        return
    problem = pseudonym.weakness(value)
    if problem is not None:
        raise InputError(
            f"refusing to store a weak {name}: it {problem}", hint=pseudonym.STRONG_KEY_HINT
        )


def _shadow_warnings(
    settings: Settings, name: str, written: SecretRef, opener: StoreOpener
) -> tuple[str, ...]:
    """Say when the value just stored is not the one cio-sec (or a rotation) will use."""
    chain = settings.references(name)
    place = _place(written, settings.cwd)
    if place not in {_place(ref, settings.cwd) for ref in chain}:
        where = ", ".join(str(ref) for ref in chain)
        return (
            f"{written} is not where cio-sec looks for {name} (profile "
            f"{settings.profile!r}: {where}); the stored value will not be used",
        )
    effective = resolve(settings, name, opener).source
    if effective is not None and _place(effective, settings.cwd) != place:
        return (
            f"{effective} comes first and still provides {name}; the stored value takes "
            f"effect only once that one is removed",
        )
    return ()


def _place(ref: SecretRef, cwd: Path) -> SecretRef:
    """The reference with a dotenv path made absolute: ``.env`` and ``$PWD/.env`` are one file."""
    if ref.scheme != "dotenv":
        return ref
    path, sep, variable = ref.location.rpartition("#")
    return SecretRef(
        ref.scheme, f"{os.path.normpath(cwd / Path(path).expanduser())}{sep}{variable}"
    )


# --------------------------------------------------------------------------- check


@dataclass(frozen=True)
class CredentialCheck:
    """The outcome of testing one credential (or the Track pair) against Customer.io."""

    name: str
    status: str
    """``ok``, ``region-mismatch``, ``other-workspace``, ``rejected``, ``missing``,
    ``unavailable`` (unreachable, or 429/5xx after retries) or ``skipped``."""
    detail: str
    region: str | None = None
    workspace_id: str | None = None
    hint: str | None = None

    def to_json(self) -> dict[str, object]:
        """The JSON form of this check."""
        return {
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "region": self.region,
            "workspace_id": self.workspace_id,
            "hint": self.hint,
        }


#: Which check statuses lead to each failing exit code, and the error type they stand for.
_STATUSES_BY_CODE: dict[ExitCode, frozenset[str]] = {
    ExitCode.CONFIG: frozenset({"rejected", "missing", "skipped"}),
    ExitCode.REMOTE: frozenset({"unavailable"}),
    ExitCode.CHECK_FAILED: frozenset({"region-mismatch", "other-workspace"}),
}
_ERROR_TYPES = {
    "rejected": "CredentialRejectedError",
    "unavailable": "RemoteUnavailableError",
    "region-mismatch": "RegionMismatchError",
    "other-workspace": "RegionMismatchError",
}


@dataclass(frozen=True)
class CheckReport:
    """The result of ``credentials check``."""

    configured_region: str
    checks: tuple[CredentialCheck, ...]

    @property
    def ok(self) -> bool:
        """True when every credential that was tested works as configured."""
        return self.exit_code == 0

    @property
    def exit_code(self) -> ExitCode:
        """3 for missing/rejected credentials, 4 when unavailable, 1 for a wrong region."""
        statuses = {check.status for check in self.checks}
        if statuses & {"rejected", "missing"} or statuses <= {"skipped"}:
            return ExitCode.CONFIG
        if "unavailable" in statuses:
            return ExitCode.REMOTE
        if statuses & {"region-mismatch", "other-workspace"}:
            return ExitCode.CHECK_FAILED
        return ExitCode.OK

    def failure(self) -> tuple[str, str, str | None]:
        """The error of a failed check: the first check behind the exit code, and its fix."""
        statuses = _STATUSES_BY_CODE[self.exit_code]
        check = next((c for c in self.checks if c.status in statuses), self.checks[0])
        kind = _ERROR_TYPES.get(check.status, "SecretMissingError")
        return kind, f"{check.name}: {check.status}: {check.detail}", check.hint

    def to_json(self) -> dict[str, object]:
        """The JSON payload."""
        return {
            "configured_region": self.configured_region,
            "checks": [check.to_json() for check in self.checks],
        }


def check_credentials(settings: Settings, opener: StoreOpener) -> CheckReport:
    """Test the Track pair and the App key with read-only calls.

    Track: ``GET /api/v1/accounts/region``, which answers on either regional host with
    the account's real region and workspace. App: ``GET /v1/workspaces``.
    """
    site, track_key, app_key = (
        resolve(settings, name, opener) for name in ("site_id", "track_api_key", "app_api_key")
    )
    track = _check_track(settings, site, track_key)
    app = _check_app(settings, app_key, track)
    if track.status == app.status == "skipped":
        track = _nothing_found(settings, _unread(site, track_key, app_key))
    return CheckReport(settings.region, (track, app))


def _unread(*credentials: ResolvedCredential) -> StoreProblem | None:
    """The first store that could not be read while looking for what was not found."""
    for credential in credentials:
        if not credential.found and credential.problems:
            return credential.problems[0]
    return None


def _unread_text(problem: StoreProblem) -> str:
    return f"the {problem.store} store could not be read: {problem.reason}"


def _skipped(check: str, detail: str, unread: StoreProblem | None) -> CredentialCheck:
    """Nothing to test; when a store could not be read, it may hold the keys: say which."""
    if unread is None:
        return CredentialCheck(check, "skipped", detail)
    return CredentialCheck(check, "skipped", f"{detail} ({_unread_text(unread)})", hint=unread.hint)


def _nothing_found(settings: Settings, unread: StoreProblem | None) -> CredentialCheck:
    """No credential at all (exit 3); a store that could not be read is named.

    Without its name a locked keyring reads as "nothing configured", and the advice to
    store the keys again is wrong: they are there, behind the lock.
    """
    if unread is None:
        return CredentialCheck(
            "track",
            "missing",
            "no Customer.io credentials configured at all",
            hint=_missing_hint(settings, "track_api_key"),
        )
    return CredentialCheck(
        "track",
        "missing",
        f"no Customer.io credentials found: {_unread_text(unread)}",
        hint=unread.hint,
    )


def _check_policy() -> RetryPolicy:
    """An operator waiting on ``credentials check`` wants an answer in seconds.

    Bulk jobs get the long default patience; this is at most three attempts and about
    ten seconds of waiting in all, however long a Retry-After the server asks for.
    """
    from cio_sec.client import RetryPolicy

    return RetryPolicy(max_attempts=3, max_delay=2.0, max_retry_after=4.0)


def _check_track(
    settings: Settings, site: ResolvedCredential, key: ResolvedCredential
) -> CredentialCheck:
    from cio_sec import client

    unread = _unread(site, key)
    if not site.found and not key.found:
        return _skipped("track", "no Track API credentials configured", unread)
    missing = [c.name for c in (site, key) if not c.found]
    if missing or site.value is None or key.value is None:
        return CredentialCheck(
            "track",
            "missing",
            f"{' and '.join(missing)} not found" + (f": {_unread_text(unread)}" if unread else ""),
            hint=unread.hint if unread else _missing_hint(settings, missing[0]),
        )
    try:
        account = client.find_account(
            client.RegionSetting.of(settings),
            site.value,
            key.value,
            timeout=settings.timeout,
            policy=_check_policy(),
        )
    except RegionMismatchError as exc:
        return CredentialCheck(
            "track", "region-mismatch", exc.message, region=exc.region, hint=exc.hint
        )
    except CredentialRejectedError:
        return CredentialCheck(
            "track",
            "rejected",
            f"Customer.io rejected the Track API key {mask(key.value)} for site ID "
            f"{mask(site.value)}",
            hint="the key set was deleted or mistyped; run `cio-sec credentials set track_api_key`",
        )
    except RemoteError as exc:
        return CredentialCheck("track", "unavailable", exc.message, hint=exc.hint)
    workspace = (
        "an unreported workspace"
        if account.environment_id is None
        else f"workspace {account.environment_id}"
    )
    return CredentialCheck(
        "track",
        "ok",
        f"Track API key works for {workspace} in region {settings.region!r}",
        region=settings.region,
        workspace_id=account.environment_id,
    )


def _check_app(
    settings: Settings, key: ResolvedCredential, track: CredentialCheck
) -> CredentialCheck:
    """Test the App key; a wrong region is told apart from a wrong key.

    A 401 while the Track pair's account is in the other region, or a redirect to the
    other region's App host, is that region mismatch.
    """
    from cio_sec import client

    if key.value is None:
        return _skipped("app", "no App API key configured", _unread(key))
    try:
        workspaces = client.find_workspaces(
            client.RegionSetting.of(settings),
            key.value,
            timeout=settings.timeout,
            policy=_check_policy(),
        )
    except CredentialRejectedError:
        if track.status == "region-mismatch":
            return _app_region_mismatch(settings, track)
        return CredentialCheck(
            "app",
            "rejected",
            f"Customer.io rejected the App API key {mask(key.value)} in region {settings.region!r}",
            hint="App API keys are regional: check the region, or run `cio-sec "
            "credentials set app_api_key`",
        )
    except RegionMismatchError as exc:
        return CredentialCheck(
            "app", "region-mismatch", exc.message, region=exc.region, hint=exc.hint
        )
    except RemoteError as exc:
        return CredentialCheck("app", "unavailable", exc.message, hint=exc.hint)
    return _app_result(settings, workspaces, track.workspace_id)


def _app_region_mismatch(settings: Settings, track: CredentialCheck) -> CredentialCheck:
    return CredentialCheck(
        "app",
        "region-mismatch",
        f"Customer.io rejected the App API key in region {settings.region!r}, where the "
        f"Track API key's account is not (it is in region {track.region!r})",
        region=track.region,
        hint=track.hint,
    )


def _app_result(
    settings: Settings, workspaces: tuple[Workspace, ...], workspace_id: str | None
) -> CredentialCheck:
    """The App key is fine when it lists the Track key's workspace, whatever else it lists.

    One App key sees every workspace of its account, so only a listing without the Track
    key's workspace means the two keys belong to different accounts.
    """
    ids = sorted({workspace.id for workspace in workspaces})
    listed = ", ".join(ids) or "none"
    if workspace_id is not None and workspace_id not in ids:
        return CredentialCheck(
            "app",
            "other-workspace",
            f"the App API key sees workspaces {listed}, not the Track key's workspace "
            f"{workspace_id}",
            region=settings.region,
            hint="the two keys come from different accounts: create the App API key in the "
            "account of the Track key's workspace",
        )
    return CredentialCheck(
        "app",
        "ok",
        f"App API key works in region {settings.region!r} (workspaces {listed})",
        region=settings.region,
        workspace_id=workspace_id if workspace_id is not None else (ids[0] if ids else None),
    )
