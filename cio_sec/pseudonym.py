"""Keyed pseudonyms: HMAC-SHA256 with cio-sec's own ``pseudonym_key``, tagged with a key id.

An unkeyed SHA-256 of a phone number, an IPv4 address or an email address can be reversed by
enumerating the possible inputs; an HMAC cannot without the key. The key id (a short digest of
the key, never the key) travels with every pseudonym and audit record so that keys can be
rotated and old pseudonyms still be checked against the key that made them.

`sanitize` and `erase` share the normalisation here, so the pseudonym of an email address in
sanitised attributes equals the subject pseudonym in the erasure audit trail.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from cio_sec.errors import ConfigError, SecretMissingError
from cio_sec.redact import register

if TYPE_CHECKING:
    from cio_sec.credentials import StoreOpener
    from cio_sec.settings import Settings

CREDENTIAL = "pseudonym_key"
KEY_ID_LENGTH = 8
_KEY_ID_LABEL = b"cio-sec pseudonym key id v1"
_CHAIN_LABEL = b"cio-sec audit chain v1"
_MIN_KEY_LENGTH = 16
_NON_DIGITS = re.compile(r"\D")


class IdentifierKind(str, Enum):
    """How an identifier is normalised before it is pseudonymised."""

    ID = "id"
    """A customer id or cio_id: taken exactly as given (ids are case-sensitive)."""
    EMAIL = "email"
    """Case-folded, surrounding whitespace removed."""
    PHONE = "phone"
    """Digits only, with a leading ``+`` kept when the number had one."""
    IP = "ip"
    """The canonical form of an IPv4 or IPv6 address (``::ffff:1.2.3.4`` stays IPv6)."""
    TEXT = "text"
    """Free text (an address, a date of birth): whitespace collapsed, case-folded."""


def normalise(value: str, kind: IdentifierKind) -> str:
    """Return the form of ``value`` that is pseudonymised, so equal identifiers match.

    Values that do not parse as their kind (an IP that is not an address) are normalised as
    text rather than rejected: sanitising must never leak a value because it was malformed.
    """
    if kind is IdentifierKind.ID:
        return value
    if kind is IdentifierKind.EMAIL:
        return value.strip().casefold()
    if kind is IdentifierKind.PHONE:
        digits = _NON_DIGITS.sub("", value)
        return f"+{digits}" if value.strip().startswith("+") else digits
    if kind is IdentifierKind.IP:
        try:
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            return normalise(value, IdentifierKind.TEXT)
    return " ".join(value.split()).casefold()


@dataclass(frozen=True)
class PseudonymKey:
    """An HMAC key for pseudonyms and the audit chain; its repr never shows the secret."""

    secret: bytes = field(repr=False)

    @classmethod
    def from_text(cls, text: str) -> PseudonymKey:
        """Use a stored key (any string; cio-sec generates 64 hex characters).

        Raises:
            ConfigError: the key is too short to resist guessing.
        """
        if len(text.strip()) < _MIN_KEY_LENGTH:
            raise ConfigError(
                f"the {CREDENTIAL} is shorter than {_MIN_KEY_LENGTH} characters",
                hint="store a long random key, e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_hex(32))'`",
            )
        register(text)
        return cls(text.encode("utf-8"))

    @classmethod
    def generate(cls) -> tuple[PseudonymKey, str]:
        """Make a new random key; returns the key and the text to store."""
        text = secrets.token_hex(32)
        register(text)
        return cls(text.encode("ascii")), text

    @property
    def key_id(self) -> str:
        """A short public name of this key (a keyed digest; reveals nothing of the key)."""
        digest = hmac.new(self.secret, _KEY_ID_LABEL, hashlib.sha256).hexdigest()
        return digest[:KEY_ID_LENGTH]

    def digest(self, value: str, kind: IdentifierKind = IdentifierKind.ID) -> str:
        """Hex HMAC-SHA256 of the normalised value."""
        data = normalise(value, kind).encode("utf-8")
        return hmac.new(self.secret, data, hashlib.sha256).hexdigest()

    def pseudonym(self, value: str, kind: IdentifierKind = IdentifierKind.ID) -> str:
        """``<key id>:<hex HMAC>``, the form written to attributes and audit records."""
        return f"{self.key_id}:{self.digest(value, kind)}"

    def chain_key(self) -> bytes:
        """The key that chains audit records, derived so it is never the pseudonym key."""
        return hmac.new(self.secret, _CHAIN_LABEL, hashlib.sha256).digest()


def legacy_sha256(value: str) -> str:
    """The unkeyed ``sha256(value)[:16]`` some integrations used; reversible, migrations only."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class KeyRing:
    """The current pseudonym key and the previous one (kept by the store after a rotation)."""

    current: PseudonymKey
    previous: PseudonymKey | None = None
    source: str = ""
    """The secret reference the current key was read from (or written to)."""
    created: bool = False
    """True when the key did not exist and was generated by this call."""

    def by_id(self) -> dict[str, PseudonymKey]:
        """Every known key by key id, for checking old pseudonyms and audit records."""
        keys = {self.current.key_id: self.current}
        if self.previous is not None:
            keys.setdefault(self.previous.key_id, self.previous)
        return keys


def load_keys(settings: Settings, opener: StoreOpener, *, create: bool = False) -> KeyRing:
    """Read the pseudonym key (and its previous version) from the credential stores.

    With ``create=True`` a missing key is generated and written to the first writable store
    of the chain (the keyring by default), then read back.

    Raises:
        SecretMissingError: there is no key and ``create`` is false or nothing is writable.
        SecretStoreUnavailableError: the store failed or did not keep the new key.
        ConfigError: the stored key is too short.
    """
    from cio_sec.credentials import resolve

    resolved = resolve(settings, CREDENTIAL, opener)
    if resolved.value is not None and resolved.source is not None:
        previous = opener(resolved.source).get_previous()
        return KeyRing(
            current=PseudonymKey.from_text(resolved.value),
            previous=PseudonymKey.from_text(previous.value) if previous else None,
            source=str(resolved.source),
        )
    if not create:
        raise SecretMissingError(
            f"credential {CREDENTIAL} not found",
            hint="run a command that generates it (e.g. `cio-sec sanitize`) with a writable "
            "store configured, or `cio-sec credentials set pseudonym_key`",
        )
    return _create_key(settings, opener)


def _create_key(settings: Settings, opener: StoreOpener) -> KeyRing:
    from cio_sec.credentials import set_credential

    key, text = PseudonymKey.generate()
    try:
        stored = set_credential(settings, CREDENTIAL, text, opener)
    except ConfigError as exc:
        raise SecretMissingError(
            f"credential {CREDENTIAL} not found and no writable store to create it in",
            hint=exc.hint or "configure a keyring or dotenv reference for pseudonym_key",
        ) from None
    return KeyRing(current=key, source=stored.store, created=True)
