"""The never-send names, their spellings, and the ``audit --online`` check over HTTP."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.audit.never_send import check_never_send
from cio_sec.audit.report import Status
from cio_sec.purge.names import exists_filter, never_send_globs, never_send_names, spellings
from cio_sec.sandbox import Sandbox
from cio_sec.sanitize.names import normalise_name
from cio_sec.sanitize.policy import Policy
from tests.support.apps import load_profile, write_config

WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)


@given(st.lists(WORD, min_size=1, max_size=4))
def test_every_spelling_normalises_back_to_the_name(words: list[str]) -> None:
    name = "_".join(words)
    found = spellings(name)
    assert name in found
    assert all(normalise_name(spelling) == name for spelling in found)


def test_the_spellings_of_the_built_in_names() -> None:
    assert {"ssn", "SSN", "Ssn"} <= set(spellings("ssn"))
    assert {"card_number", "cardNumber", "CardNumber", "CARD_NUMBER", "card-number"} <= set(
        spellings("card_number")
    )
    assert spellings("") == ()
    names = never_send_names(Policy.default())
    assert {"ssn", "card_number", "password", "iban"} <= set(names)
    assert "phone" not in names  # pseudonymised, not dropped
    assert "*_ssn" in never_send_globs(Policy.default())
    with pytest.raises(ValueError, match="at least one attribute"):
        exists_filter([])


def _profile(policy: str | None) -> None:
    home = Path(os.environ["HOME"])
    line = f'sanitize_policy = "{policy}"\n' if policy else ""
    write_config(home, f"[profiles.default]\n{line}")


@pytest.mark.slow
def test_the_check_counts_each_name_in_every_spelling_and_no_value(sandbox: Sandbox) -> None:
    sandbox.add_person("a", {"ssn": "900-00-0001", "SSN": "900-00-0001"})  # counted once
    sandbox.add_person("b", {"SocialSecurityNumber": "900-00-0002"})
    sandbox.add_person("c", {"cardNumber": "4111111111111111", "city": "Oslo"})
    sandbox.add_person("d", {"city": "Rome"})
    _profile(None)
    result = check_never_send(*load_profile())
    assert result.status is Status.FAIL
    assert result.evidence == (
        "people hold never-send attributes: ssn (1), social_security_number (1), card_number (1)"
    )
    assert "900-00-000" not in str(result)
    assert "4111" not in str(result)
    assert [f.message.split(" (")[0] for f in result.findings] == [
        "ssn: 1 people",
        "social_security_number: 1 people",
        "card_number: 1 people",
    ]
    assert all(
        request.method == "POST" for request in sandbox.requests() if "customers" in request.path
    )


def test_the_names_come_from_the_policy(sandbox: Sandbox, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('extends = "none"\n[rules]\nmothers_maiden_name = "drop"\nssn = "keep"\n')
    _profile(str(policy))
    sandbox.add_person("a", {"ssn": "900-00-0001"})
    passed = check_never_send(*load_profile())
    assert passed.status is Status.PASS
    assert passed.evidence == f"nobody holds any of the 1 never-send attribute names of {policy}"
    sandbox.add_person("b", {"mothersMaidenName": "Smith"})
    assert check_never_send(*load_profile()).status is Status.FAIL


def test_a_policy_that_does_not_load_leaves_it_to_a_person(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("[rules\n")
    _profile(str(policy))
    result = check_never_send(*load_profile())
    assert result.status is Status.MANUAL
    assert "does not load" in result.evidence
    assert sandbox.requests() == []


def test_without_an_app_api_key_the_workspace_is_not_searched(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CUSTOMERIO_APP_API_KEY")
    _profile(None)
    result = check_never_send(*load_profile())
    assert result.status is Status.WARN
    assert result.evidence.startswith("the workspace could not be searched: ")
    assert "app_api_key" in result.evidence
