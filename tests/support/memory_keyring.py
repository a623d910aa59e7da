"""An in-memory keyring backend, and a guard backend that refuses to be used."""

from __future__ import annotations

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    """Keeps passwords in a dict; what unit tests use instead of the OS keychain."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.passwords[(service, username)]
        except KeyError:
            raise PasswordDeleteError("no such password") from None


class YouForgotToUseTheMemoryKeyringError(AssertionError):
    """Raised when a test reaches for a real OS keyring without asking for one."""


class ForbiddenKeyring(KeyringBackend):
    """Installed between tests so any stray use of a real backend fails loudly."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()

    def get_password(self, service: str, username: str) -> str | None:
        raise YouForgotToUseTheMemoryKeyringError(service)

    def set_password(self, service: str, username: str, password: str) -> None:
        raise YouForgotToUseTheMemoryKeyringError(service)

    def delete_password(self, service: str, username: str) -> None:
        raise YouForgotToUseTheMemoryKeyringError(service)
