"""``credentials show``: where each credential comes from, never its value."""

from __future__ import annotations

from dataclasses import dataclass

from cio_sec.errors import ExitCode
from cio_sec.settings import CREDENTIAL_NAMES, Settings
from cio_sec.stores.chain import ResolvedCredential, StoreOpener, resolve


@dataclass(frozen=True, kw_only=True)
class ShowRequest:
    """``credentials show`` has no options of its own (the profile is in the settings)."""


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
        """Always 0, as `ok` is."""
        return ExitCode.OK

    def to_json(self) -> dict[str, object]:
        """The JSON payload (never values)."""
        return {
            "profile": self.profile,
            "region": self.region,
            "config_path": self.config_path,
            "credentials": [credential.to_json() for credential in self.credentials],
        }


def show(request: ShowRequest, settings: Settings, opener: StoreOpener) -> CredentialsReport:
    """Resolve every credential and describe where each one comes from."""
    return CredentialsReport(
        profile=settings.profile,
        region=settings.region,
        config_path=str(settings.config_path) if settings.config_path else None,
        credentials=tuple(resolve(settings, name, opener) for name in CREDENTIAL_NAMES),
    )
