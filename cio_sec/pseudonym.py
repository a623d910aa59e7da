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
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import TYPE_CHECKING

from cio_sec.errors import ConfigError, SecretMissingError, SecretStoreUnavailableError
from cio_sec.redact import ELLIPSIS, register
from cio_sec.stores.chain import StoreOpener, resolve
from cio_sec.stores.writing import StoredCredential, writable_stores, write_credential

if TYPE_CHECKING:
    from cio_sec.settings import Settings
    from cio_sec.stores import SecretRef

CREDENTIAL = "pseudonym_key"
KEY_ID_LENGTH = 8
_KEY_ID_LABEL = b"cio-sec pseudonym key id v1"
_CHAIN_LABEL = b"cio-sec audit chain v1"
_MIN_KEY_LENGTH = 16
_NON_DIGITS = re.compile(r"\D")


#: What to do about a weak key: the same advice where it is stored and where it is used.
STRONG_KEY_HINT = (
    f"let cio-sec make one: `cio-sec credentials set {CREDENTIAL} --generate` (a random "
    "64-hex key, stored and never printed)"
)


def weakness(text: str) -> str | None:
    """Why ``text`` is too weak to be a pseudonym key, or None when it will do.

    One rule for every place a key comes in: ``credentials set`` refuses what ``sanitize``,
    ``erase`` and ``audit`` would refuse later.
    """
    if len(text.strip()) < _MIN_KEY_LENGTH:
        return f"is shorter than {_MIN_KEY_LENGTH} characters"
    return None


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
            ConfigError: the key is too weak to resist guessing (`weakness`).
        """
        register(text)
        problem = weakness(text)
        if problem is not None:
            raise ConfigError(f"the {CREDENTIAL} {problem}", hint=STRONG_KEY_HINT)
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
            hint=f"run `cio-sec credentials set {CREDENTIAL} --generate` (or a command that "
            "makes it on first use, such as `cio-sec sanitize`)",
        )
    return _create_key(settings, opener)


def _create_key(settings: Settings, opener: StoreOpener) -> KeyRing:
    key, text = PseudonymKey.generate()
    stored = store_new_key(settings, opener, text)
    return KeyRing(current=key, source=stored.store, created=True)


def generate_key(
    settings: Settings, opener: StoreOpener, store: SecretRef | None = None
) -> StoredCredential:
    """``credentials set pseudonym_key --generate``: a new random key, stored, never shown.

    Stored in ``store`` when given, else as on first use (`store_new_key`). A key that
    already exists is left alone: replacing it changes every pseudonym made from then on,
    which is what ``rotate pseudonym`` does, with its record in the trail.

    Raises:
        ConfigError: a key already exists, or ``store`` is read-only.
        SecretMissingError: no store of the chain could keep the key.
        SecretStoreUnavailableError: ``store`` failed.
    """
    existing = resolve(settings, CREDENTIAL, opener).source
    if existing is not None:
        raise ConfigError(
            f"{CREDENTIAL} already exists in {existing}; a new one would change every "
            "pseudonym made from now on",
            hint="to replace it on purpose, run `cio-sec rotate pseudonym` (keeps the old key "
            "so old pseudonyms still verify, and records the rotation)",
        )
    _key, text = PseudonymKey.generate()
    if store is not None:
        stored = write_credential(settings, CREDENTIAL, text, opener, store=store)
    else:
        stored = store_new_key(settings, opener, text)
    return replace(stored, masked=ELLIPSIS)  # not even a few characters of a generated key


def store_new_key(settings: Settings, opener: StoreOpener, text: str) -> StoredCredential:
    """Store a new key in the first writable store of the chain that keeps it.

    Writable stores are tried in the order ``credentials set`` prefers (the keyring before
    a plaintext ``.env``); one that cannot be used here (no keyring on a headless host, a
    locked one) is passed over for the next, so a writable ``./.env`` still gets the key.

    Raises:
        SecretMissingError: no store could keep it (each one's problem is named).
    """
    problems: list[str] = []
    hint: str | None = None
    for candidate in writable_stores(settings, CREDENTIAL, opener):
        outcome = _try_store(settings, opener, text, candidate.ref)
        if not isinstance(outcome, SecretStoreUnavailableError):
            return outcome
        problems.append(outcome.reason or outcome.message)
        hint = hint or outcome.hint
    where = f": {'; '.join(problems)}" if problems else ""
    raise SecretMissingError(
        f"credential {CREDENTIAL} not found and no writable store to create it in{where}",
        hint=hint or f"configure a keyring or dotenv reference for {CREDENTIAL}",
    )


def _try_store(
    settings: Settings, opener: StoreOpener, text: str, ref: SecretRef
) -> StoredCredential | SecretStoreUnavailableError:
    """The stored key, or why this store could not keep it (the caller tries the next)."""
    try:
        return write_credential(settings, CREDENTIAL, text, opener, store=ref)
    except SecretStoreUnavailableError as exc:
        return exc
