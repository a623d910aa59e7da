"""Secret reference syntax (the store modules have their own tests in tests/stores/)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.errors import ConfigError
from cio_sec.stores import SecretRef, StoredValue

locations = st.text(min_size=1).filter(lambda text: text.strip() == text and text != "")


@given(scheme=st.sampled_from(["env", "dotenv", "keyring", "memory"]), location=locations)
def test_references_round_trip(scheme: str, location: str) -> None:
    ref = SecretRef.parse(f"{scheme}:{location}")
    assert ref == SecretRef(scheme, location)
    assert SecretRef.parse(str(ref)) == ref


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("CUSTOMERIO_SITE_ID", "is not a secret reference"),
        ("env:", "is not a secret reference"),
        ("s3:bucket/key", "unknown secret store kind 's3'"),
        ("aws-sm:prod/customerio", "not supported by this version"),
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
