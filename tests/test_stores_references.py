"""Secret reference syntax (the store modules have their own tests in tests/stores/)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.errors import ConfigError
from cio_sec.stores import SecretRef, StoredValue

locations = st.text(min_size=1).filter(lambda text: text.strip() == text and text != "")


@given(
    scheme=st.sampled_from(["env", "dotenv", "keyring", "aws-sm", "aws-ssm", "vault"]),
    location=locations,
)
def test_references_round_trip(scheme: str, location: str) -> None:
    ref = SecretRef.parse(f"{scheme}:{location}")
    assert ref == SecretRef(scheme, location)
    assert SecretRef.parse(str(ref)) == ref


def test_memory_references_are_for_library_callers_only() -> None:
    """A store that forgets at exit must never be what an operator writes a key to."""
    with pytest.raises(ConfigError, match="unknown secret store kind 'memory'"):
        SecretRef.parse("memory:prod")
    assert SecretRef.parse("memory:prod", internal=True) == SecretRef("memory", "prod")


@given(st.from_regex(r"[0-9a-f]{20,64}", fullmatch=True))
def test_a_pasted_key_is_never_quoted_in_the_error(key: str) -> None:
    for text in (key, f"{key}:{key}"):
        with pytest.raises(ConfigError) as caught:
            SecretRef.parse(text)
        assert key not in caught.value.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("CUSTOMERIO_SITE_ID", "is not a secret reference"),
        ("env:", "is not a secret reference"),
        ("ftp:bucket/key", "unknown secret store kind 'ftp'"),
        ("gcp-sm:projects/p/secrets/s", "not supported by this version"),
    ],
)
def test_malformed_references_are_config_errors_with_the_syntax(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        SecretRef.parse(text)
    assert caught.value.hint is not None
    assert "keyring:SERVICE/USERNAME" in caught.value.hint


def test_scheme_is_case_insensitive() -> None:
    assert SecretRef.parse("ENV:X") == SecretRef("env", "X")


@given(st.text(min_size=1))
def test_stored_values_never_show_in_repr(value: str) -> None:
    assert repr(StoredValue(value, "v2")) == "StoredValue(value=<hidden>, version='v2')"


def test_opening_an_unknown_kind_built_by_hand_is_a_config_error() -> None:
    from pathlib import Path

    from cio_sec.stores import check_reference, open_store

    with pytest.raises(ConfigError, match="unknown secret store kind 'gcp-sm'"):
        open_store(SecretRef("gcp-sm", "projects/p/secrets/s"), environ={}, cwd=Path())
    with pytest.raises(ConfigError, match="unknown secret store kind"):
        check_reference(SecretRef("s3", "bucket"))


@pytest.mark.parametrize(
    "text",
    ["aws-sm:prod/customerio#track_api_key", "aws-ssm:/prod/customerio/key", "vault:kv/cio#key"],
)
def test_production_references_are_checked_without_their_client_library(text: str) -> None:
    """A config naming them loads on a core install; the extra is needed only to use them."""
    from cio_sec.stores import check_reference

    check_reference(SecretRef.parse(text))
