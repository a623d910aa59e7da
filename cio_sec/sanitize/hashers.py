"""What replaces a pseudonymised value: the keyed pseudonym, the legacy hash or a placeholder.

A hasher takes a value and its normalisation. The engine asks :func:`for_kind` once per
record shape for a one-argument function, so the keyed hasher can hand out a function
that already knows how to normalise and skips the per-value dispatch.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
from collections.abc import Callable

from cio_sec.errors import SecretMissingError
from cio_sec.pseudonym import IdentifierKind, KeyRing, PseudonymKey, legacy_sha256, normalise
from cio_sec.sanitize.policy import Policy

#: Turns a value and its normalisation into the text that replaces it.
Hasher = Callable[[str, IdentifierKind], str]
#: A hasher with the normalisation fixed.
KindHasher = Callable[[str], str]

_SHA256_BLOCK = 64
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}").fullmatch
# For ASCII text, deleting these bytes is what removing ``\D`` does, and much faster.
_ASCII_NON_DIGITS = bytes(code for code in range(128) if not 48 <= code <= 57)


def _state_copying_sha256() -> Callable[[bytes], hashlib._Hash]:
    """CPython's built-in SHA-256, whose state copies cost a fraction of OpenSSL's.

    A pseudonym is two copies of a precomputed state and two short updates, so for short
    values the copy dominates. The digests are the same; builds without the built-in
    module (some FIPS builds) use OpenSSL's.
    """
    for name in ("_sha2", "_sha256"):  # the module's name from Python 3.12 on, and before
        try:
            constructor: Callable[[bytes], hashlib._Hash] = importlib.import_module(name).sha256
        except ImportError:
            continue
        return constructor
    return hashlib.sha256  # pragma: no cover - only builds without the built-in hash modules


_SHA256 = _state_copying_sha256()


def _as_is(value: str) -> bytes:
    return value.encode("utf-8")


def _email(value: str) -> bytes:
    return value.strip().casefold().encode("utf-8")


def _phone(value: str) -> bytes:
    if not value.isascii():
        return normalise(value, IdentifierKind.PHONE).encode("utf-8")
    digits = value.encode("ascii").translate(None, _ASCII_NON_DIGITS)
    return b"+" + digits if value.lstrip().startswith("+") else digits


def _ip(value: str) -> bytes:
    if _CANONICAL_IPV4(value) is None:
        value = normalise(value, IdentifierKind.IP)
    return value.encode("utf-8")


def _text(value: str) -> bytes:
    return " ".join(value.split()).casefold().encode("utf-8")


#: ``normalise(value, kind).encode()`` without the dispatch, and with fast paths for the
#: common cases (ASCII phone numbers, canonical IPv4); tests check they equal ``normalise``.
_NORMALISERS: dict[IdentifierKind, Callable[[str], bytes]] = {
    IdentifierKind.ID: _as_is,
    IdentifierKind.EMAIL: _email,
    IdentifierKind.PHONE: _phone,
    IdentifierKind.IP: _ip,
    IdentifierKind.TEXT: _text,
}


class KeyedHasher:
    """``key.pseudonym(value, kind)`` (``<key id>:<hex>``), computed faster for bulk use.

    HMAC-SHA256 per RFC 2104 with the padded key states hashed once, and normalisation
    fixed per kind; tests check the results equal ``key.pseudonym``.
    """

    def __init__(self, key: PseudonymKey) -> None:
        secret = key.secret
        if len(secret) > _SHA256_BLOCK:
            secret = hashlib.sha256(secret).digest()
        padded = secret.ljust(_SHA256_BLOCK, b"\0")
        inner = _SHA256(bytes(byte ^ 0x36 for byte in padded))
        outer = _SHA256(bytes(byte ^ 0x5C for byte in padded))
        prefix = f"{key.key_id}:"
        self.by_kind = {
            kind: _keyed(normaliser, inner, outer, prefix)
            for kind, normaliser in _NORMALISERS.items()
        }

    def __call__(self, value: str, kind: IdentifierKind) -> str:
        """The pseudonym of ``value`` normalised as ``kind``."""
        return self.by_kind[kind](value)


def _keyed(
    normaliser: Callable[[str], bytes], inner: hashlib._Hash, outer: hashlib._Hash, prefix: str
) -> KindHasher:
    inner_copy, outer_copy = inner.copy, outer.copy

    def pseudonym(value: str) -> str:
        digest = inner_copy()
        digest.update(normaliser(value))
        mac = outer_copy()
        mac.update(digest.digest())
        return prefix + mac.hexdigest()

    return pseudonym


def keyed_hasher(key: PseudonymKey) -> Hasher:
    """The fast keyed hasher for ``key`` (see :class:`KeyedHasher`)."""
    return KeyedHasher(key)


def legacy_hasher(value: str, kind: IdentifierKind) -> str:
    """The unkeyed ``sha256(value)[:16]`` of the value as written (reversible; migrations only).

    Not normalised: the integrations this reproduces hashed the raw value.
    """
    return legacy_sha256(value)


def placeholder_hasher(value: str, kind: IdentifierKind) -> str:
    """For ``--check``: no key is needed to know that a value would be replaced."""
    return "<pseudonym>"


def for_kind(hasher: Hasher, kind: IdentifierKind) -> KindHasher:
    """``hasher`` with the normalisation fixed to ``kind``."""
    if isinstance(hasher, KeyedHasher):
        return hasher.by_kind[kind]
    return lambda value: hasher(value, kind)


def resolve_hasher(key: PseudonymKey | KeyRing | str | None, policy: Policy) -> Hasher:
    """The hasher for a key given as a key, a key ring, stored key text, or None.

    With None the key is read from ``CIO_SEC_PSEUDONYM_KEY`` (never from the keyring);
    a policy that pseudonymises nothing needs no key at all.

    Raises:
        SecretMissingError: the policy pseudonymises, no key was given and the variable
            is unset.
        ConfigError: the key text is too short.
    """
    if isinstance(key, KeyRing):
        return keyed_hasher(key.current)
    if isinstance(key, PseudonymKey):
        return keyed_hasher(key)
    if isinstance(key, str):
        return keyed_hasher(PseudonymKey.from_text(key))
    text = os.environ.get("CIO_SEC_PSEUDONYM_KEY")
    if text:
        return keyed_hasher(PseudonymKey.from_text(text))
    if not policy.pseudonymises:
        return placeholder_hasher
    raise SecretMissingError(
        "sanitize_attributes needs the pseudonym key: the policy pseudonymises attributes",
        hint="pass key=cio_sec.pseudonym.load_keys(settings, opener).current (or the key "
        "text), or set CIO_SEC_PSEUDONYM_KEY",
    )
