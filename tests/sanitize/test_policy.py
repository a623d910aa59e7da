"""Policies: the default table, rule precedence and TOML files with errors naming the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from cio_sec.errors import ExitCode, InputError
from cio_sec.pseudonym import IdentifierKind
from cio_sec.sanitize import Action, PiiKind, Policy
from cio_sec.sanitize.policy import infer_kind


def test_default_policy_drops_pseudonymises_and_keeps() -> None:
    policy = Policy.default()
    for name in ["SSN", "socialSecurityNumber", "tax-id", "CreditCard", "cvc", "Password",
                 "password_hash", "bankAccount", "routing_number", "IBAN", "passportNumber",
                 "drivers_license", "db_password", "password_reset_token"]:  # fmt: skip
        assert policy.decide(name).action is Action.DROP, name
    for name in ["phone", "phoneNumber", "mobile", "IP", "ipAddress", "address",
                 "street_address", "dateOfBirth", "dob"]:  # fmt: skip
        assert policy.decide(name).action is Action.PSEUDONYMISE, name
    for name in ["email", "first_name", "plan", "notes"]:
        decision = policy.decide(name)
        assert decision.action is Action.REDACT_VALUES
        assert not decision.explicit
    assert policy.pseudonymises
    assert policy.source == "built-in default"
    rows = {row["pattern"]: row for row in policy.table()}
    assert rows["phone"] == {"pattern": "phone", "action": "pseudonymise", "normalise": "phone"}
    assert rows["ssn"]["normalise"] == ""


@pytest.mark.parametrize(
    ("name", "kind"),
    [("phone", IdentifierKind.PHONE), ("work_mobile", IdentifierKind.PHONE),
     ("ip_address", IdentifierKind.IP), ("backup_email", IdentifierKind.EMAIL),
     ("street_address", IdentifierKind.TEXT)],
)  # fmt: skip
def test_normalisation_is_inferred_from_the_name(name: str, kind: IdentifierKind) -> None:
    assert infer_kind(name) is kind


def test_exact_rules_beat_globs_and_the_strictest_glob_wins() -> None:
    policy = Policy.from_rules(
        {"user_*": "keep", "*_secret": "drop", "user_password": "keep", "*_note": "keep"},
        extends_default=True,
    )
    assert policy.decide("user_secret").action is Action.DROP
    assert policy.decide("userPassword").action is Action.KEEP
    assert policy.decide("user_name").action is Action.KEEP
    assert policy.decide("ssn").action is Action.DROP
    alone = Policy.from_rules({"ssn": Action.KEEP}, extends_default=False, detectors=["card"])
    assert alone.decide("ssn").action is Action.KEEP
    assert alone.decide("phone").action is Action.REDACT_VALUES
    assert alone.detectors == frozenset({PiiKind.CARD})
    assert not alone.pseudonymises
    assert Policy.from_rules({}, default_action="pseudonymise").pseudonymises


def test_from_rules_refuses_bad_patterns_and_actions() -> None:
    with pytest.raises(ValueError, match="not an attribute name"):
        Policy.from_rules({"[": "drop"})
    with pytest.raises(ValueError, match="erase"):
        Policy.from_rules({"x": "erase"})


def test_the_name_cache_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import cio_sec.sanitize.policy as policy_module

    monkeypatch.setattr(policy_module, "_NAME_CACHE_LIMIT", 3)
    policy = Policy.default()
    for index in range(10):
        policy.decide(f"attribute_{index}")
    assert len(policy.decisions) <= 3


GOOD = """\
# allow-list style: anything not named is dropped
extends = "none"
default = "drop"
detectors = ["card", "iban"]

[rules]
email = "keep"
"first name" = "keep"
notes = "redact-values"
"*_phone" = { action = "pseudonymise", normalise = "phone" }
homePhone = { action = "pseudonymise", normalise = "phone" }
home_phone = { action = "pseudonymise", normalise = "phone" }
"""


def test_a_policy_file_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(GOOD)
    policy = Policy.load(path)
    assert policy.source == str(path)
    assert policy.default_action is Action.DROP
    assert policy.detectors == frozenset({PiiKind.CARD, PiiKind.IBAN})
    assert policy.decide("ssn").action is Action.DROP
    assert policy.decide("First-Name").action is Action.KEEP
    work = policy.decide("workPhone")
    assert (work.action, work.kind) == (Action.PSEUDONYMISE, IdentifierKind.PHONE)
    lines = {rule.pattern: rule.line for rule in policy.rules}
    assert lines["first_name"] == 8
    assert lines["*_phone"] == 10


def test_a_file_extends_the_default_unless_it_says_none(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[rules]\nphone = "keep"\n')
    policy = Policy.load(path)
    assert policy.decide("phone").action is Action.KEEP
    assert policy.decide("ssn").action is Action.DROP
    assert policy.default_action is Action.REDACT_VALUES
    assert policy.detectors == frozenset(PiiKind)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('[rules]\nssn = "erase"\n', 2, "unknown action 'erase'"),
        ('[rules]\nssn = "drop"\n"card[" = "drop"\n', 3, "bad pattern 'card['"),
        ('[rules]\ncardNumber = "drop"\n"card number" = "keep"\n', 3, "conflicts with rule"),
        ('[rules]\nssn = "drop"\nssn = "keep"\n', 3, "invalid TOML"),
        ("[rules\n", 1, "invalid TOML"),
        ('extends = "default"\ncolour = "red"\n', 2, "unknown key 'colour'"),
        ('extends = "mine"\n', 1, 'extends must be "default" or "none"'),
        ('default = "shred"\n', 1, "unknown default action"),
        ('detectors = "card"\n', 1, "detectors must be a list"),
        ('detectors = ["card", "dna"]\n', 1, "unknown detector"),
        ("rules = 3\n", 1, "rules must be a table"),
        ("[rules]\nx = 3\n", 2, "must be an action or"),
        ('[rules]\nx = { action = "drop", why = "no" }\n', 2, "must be an action or"),
        ('[rules]\nx = { action = "drop", normalise = "phone" }\n', 2, "pseudonymise only"),
        ('[rules]\nx = { action = "pseudonymise", normalise = "dna" }\n', 2, "unknown normalise"),
    ],
)
def test_invalid_policies_name_the_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    with pytest.raises(InputError) as raised:
        Policy.load(path)
    assert raised.value.exit_code is ExitCode.USAGE
    assert raised.value.line == line
    assert raised.value.message.startswith(f"{path}:{line}: ")
    assert message in raised.value.message


def test_same_rule_twice_in_two_spellings_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('[rules]\ncardNumber = "drop"\ncard_number = "drop"\n')
    assert Policy.load(path).decide("CARD-NUMBER").action is Action.DROP


def test_unreadable_and_non_utf8_policies(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the policy"):
        Policy.load(tmp_path / "missing.toml")
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[rules]\n"stra\xdfe" = "drop"\n')
    with pytest.raises(InputError, match="not valid UTF-8"):
        Policy.load(path)
