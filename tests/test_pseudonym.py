"""Keyed pseudonyms: normalisation, determinism, key ids and loading the key from stores."""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.errors import ConfigError, SecretMissingError
from cio_sec.pseudonym import (
    IdentifierKind,
    PseudonymKey,
    generate_key,
    legacy_sha256,
    load_keys,
    normalise,
    weakness,
)
from cio_sec.redact import REDACTOR
from cio_sec.settings import CliFlags, Settings, load_settings
from cio_sec.stores.chain import store_opener
from tests.conftest import CANARY
from tests.support.memory_keyring import MemoryKeyring

KEY = PseudonymKey(b"k" * 32)
OTHER = PseudonymKey(b"o" * 32)


def settings_for(config: str | None = None) -> Settings:
    return load_settings(CliFlags(), dict(os.environ), cwd=Path.cwd(), config_text=config)


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        (IdentifierKind.ID, " Ab-1 ", " Ab-1 "),
        (IdentifierKind.EMAIL, "  Ana@Example.COM ", "ana@example.com"),
        (IdentifierKind.EMAIL, "STRASSE@ÄÖ.de", "strasse@äö.de"),
        (IdentifierKind.PHONE, "+1 (555) 010-9999", "+15550109999"),
        (IdentifierKind.PHONE, "0555 010 9999", "05550109999"),
        (IdentifierKind.IP, " 192.168.000.1 ".replace("000", "0"), "192.168.0.1"),
        (IdentifierKind.IP, "2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        (IdentifierKind.IP, "not an ip", "not an ip"),
        (IdentifierKind.TEXT, " 1  Main\tSt ", "1 main st"),
    ],
)
def test_normalisation(kind: IdentifierKind, raw: str, expected: str) -> None:
    assert normalise(raw, kind) == expected


@given(st.text(), st.sampled_from(list(IdentifierKind)))
def test_normalising_twice_changes_nothing(value: str, kind: IdentifierKind) -> None:
    once = normalise(value, kind)
    assert normalise(once, kind) == once


@given(st.text(min_size=1))
def test_pseudonyms_are_keyed_deterministic_hmacs(value: str) -> None:
    expected = hmac.new(b"k" * 32, value.encode(), hashlib.sha256).hexdigest()
    assert KEY.pseudonym(value) == f"{KEY.key_id}:{expected}"
    assert KEY.pseudonym(value) == KEY.pseudonym(value)
    assert OTHER.digest(value) != KEY.digest(value)


def test_equal_emails_in_any_case_share_a_pseudonym() -> None:
    assert KEY.pseudonym("Ana@Example.com", IdentifierKind.EMAIL) == KEY.pseudonym(
        "ana@example.com ", IdentifierKind.EMAIL
    )
    assert KEY.pseudonym("Ana", IdentifierKind.ID) != KEY.pseudonym("ana", IdentifierKind.ID)


def test_key_ids_are_short_distinct_and_reveal_nothing() -> None:
    assert len(KEY.key_id) == 8
    assert KEY.key_id != OTHER.key_id
    assert "k" * 8 not in KEY.key_id
    assert "kkkk" not in repr(KEY)
    assert KEY.chain_key() != b"k" * 32


def test_the_legacy_hash_is_the_unkeyed_formula() -> None:
    assert legacy_sha256("+15550109999") == hashlib.sha256(b"+15550109999").hexdigest()[:16]


def test_short_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match="shorter than 16"):
        PseudonymKey.from_text("short")


def test_generated_keys_are_random_and_registered() -> None:
    key, text = PseudonymKey.generate()
    assert len(text) == 64
    assert key.secret == text.encode()
    assert REDACTOR.redact(f"x{text}x") != f"x{text}x"
    assert PseudonymKey.generate()[1] != text


def test_the_key_is_read_from_the_chain_with_its_previous_version(
    memory_keyring: MemoryKeyring,
) -> None:
    memory_keyring.set_password("cio-sec", "default/pseudonym_key@previous", "p" * 20)
    ring = load_keys(settings_for(), store_opener(settings_for(), os.environ))
    assert ring.current.secret == CANARY.encode()
    assert ring.previous is not None
    assert ring.previous.secret == b"p" * 20
    assert set(ring.by_id()) == {ring.current.key_id, ring.previous.key_id}
    assert ring.source == "keyring:cio-sec/default/pseudonym_key"
    assert not ring.created


def test_a_previous_key_equal_to_the_current_one_is_listed_once(
    memory_keyring: MemoryKeyring,
) -> None:
    memory_keyring.set_password("cio-sec", "default/pseudonym_key@previous", CANARY)
    ring = load_keys(settings_for(), store_opener(settings_for(), os.environ))
    assert list(ring.by_id()) == [ring.current.key_id]


def test_a_missing_key_is_generated_in_the_keyring_when_asked(
    memory_keyring: MemoryKeyring,
) -> None:
    memory_keyring.delete_password("cio-sec", "default/pseudonym_key")
    settings = settings_for()
    opener = store_opener(settings, os.environ)
    with pytest.raises(SecretMissingError, match="pseudonym_key not found"):
        load_keys(settings, opener)
    ring = load_keys(settings, opener, create=True)
    assert ring.created
    assert list(ring.by_id()) == [ring.current.key_id]
    stored = memory_keyring.get_password("cio-sec", "default/pseudonym_key")
    assert stored is not None
    assert ring.current.secret == stored.encode()
    assert load_keys(settings, opener).current == ring.current


def test_without_a_writable_store_the_key_cannot_be_created() -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    config = '[profiles.default]\npseudonym_key = "env:MY_PSEUDONYM_KEY"\n'
    settings = settings_for(config)
    with pytest.raises(SecretMissingError, match="no writable store") as caught:
        load_keys(settings, store_opener(settings, os.environ), create=True)
    assert caught.value.exit_code == 3


def test_without_a_keyring_the_first_key_goes_to_the_writable_dotenv_file() -> None:
    """Headless: the keyring is passed over, ``./.env`` (next in the chain) keeps the key."""
    keyring.set_keyring(keyring.backends.fail.Keyring())
    settings = settings_for()
    opener = store_opener(settings, os.environ)
    ring = load_keys(settings, opener, create=True)
    assert ring.created
    assert ring.source == "dotenv:.env#CIO_SEC_PSEUDONYM_KEY"
    assert Path(".env").stat().st_mode & 0o077 == 0
    assert load_keys(settings, opener).current == ring.current


def test_when_no_store_keeps_the_key_each_ones_problem_is_named(tmp_path: Path) -> None:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    config = (
        "[profiles.default]\n"
        f'pseudonym_key = ["keyring:cio-sec/default/pseudonym_key", '
        f'"dotenv:{tmp_path}/missing-dir/.env#KEY"]\n'
    )
    settings = settings_for(config)
    with pytest.raises(SecretMissingError, match="no writable store to create it in: ") as caught:
        load_keys(settings, store_opener(settings, os.environ), create=True)
    assert "no keyring backend is available" in caught.value.message
    assert caught.value.hint is not None


@pytest.mark.parametrize("text", ["hello", " " * 20, "x" * 15 + "  "])
def test_a_weak_key_is_refused_by_the_one_rule(text: str) -> None:
    assert weakness(text) == "is shorter than 16 characters"
    with pytest.raises(ConfigError, match="shorter than 16") as caught:
        PseudonymKey.from_text(text)
    assert "--generate" in (caught.value.hint or "")


@given(st.text(min_size=16).filter(lambda text: len(text.strip()) >= 16))
def test_a_long_enough_key_is_accepted_by_the_one_rule(text: str) -> None:
    assert weakness(text) is None
    assert PseudonymKey.from_text(text).secret == text.encode()


def test_generate_stores_a_strong_key_and_shows_none_of_it(memory_keyring: MemoryKeyring) -> None:
    settings = settings_for()
    opener = store_opener(settings, os.environ)
    with pytest.raises(ConfigError, match="already exists in keyring:") as caught:
        generate_key(settings, opener)  # the canary key is there: never replaced silently
    assert "rotate pseudonym" in (caught.value.hint or "")
    assert memory_keyring.get_password("cio-sec", "default/pseudonym_key") == CANARY
    memory_keyring.delete_password("cio-sec", "default/pseudonym_key")
    stored = generate_key(settings, opener)
    value = memory_keyring.get_password("cio-sec", "default/pseudonym_key")
    assert value is not None
    assert weakness(value) is None
    assert len(value) == 64
    assert stored.masked == "…"
    assert value[:4] not in stored.to_json().values()
    assert not stored.previous_kept
