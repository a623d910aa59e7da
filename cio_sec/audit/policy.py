"""Does the sanitisation policy drop every never-send category?

The policy is loaded exactly as ``cio-sec sanitize`` loads it (`Policy.load`), and each
category's names are put to its `Policy.decide`: a category is covered when the policy
drops every one of them, whichever rule (exact name, glob or default action) decides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cio_sec.audit.report import CheckFinding, CheckResult, Status, passed
from cio_sec.errors import InputError
from cio_sec.sanitize import Action, Policy

if TYPE_CHECKING:
    from cio_sec.settings import Settings

#: The never-send categories and the attribute names the built-in default drops for them.
NEVER_SEND: dict[str, tuple[str, ...]] = {
    "ssn": ("ssn", "social_security", "social_security_number"),
    "tax id": ("tax_id", "tin"),
    "card number": ("card_number", "credit_card", "credit_card_number", "cc_number"),
    "cvv": ("cvv", "cvv2", "cvc"),
    "password": ("password", "passwd"),
    "bank account": ("bank_account", "bank_account_number"),
    "routing number": ("routing_number",),
    "iban": ("iban",),
    "passport": ("passport", "passport_number"),
    "driver's license": (
        "drivers_license",
        "drivers_license_number",
        "driver_license",
        "driving_licence",
    ),
}
TITLE = "Sanitisation policy covers the never-send categories"


def check_sanitize_policy(settings: Settings) -> CheckResult:
    """PASS for the built-in default or a policy dropping every category; FAIL otherwise."""
    path = settings.sanitize_policy
    if path is None:
        policy = Policy.default()
    else:
        try:
            policy = Policy.load(path)
        except InputError as error:  # the message names the file and line
            return _fail(
                f"{path} does not load, so cio-sec sanitize refuses it too",
                "fix the policy where the finding says, or remove sanitize_policy from the "
                "profile to use the built-in default",
                CheckFinding(Status.FAIL, error.message),
            )
    missing = [
        f"{category} ({', '.join(sent)})"
        for category, names in NEVER_SEND.items()
        if (sent := _not_dropped(policy, names))
    ]
    if missing:
        return _fail(
            f"{policy.source} does not drop: {'; '.join(missing)}",
            f'add action "drop" rules for them to {path}, or remove sanitize_policy from the '
            "profile to use the built-in default",
        )
    if path is None:
        return passed(
            "sanitize-policy",
            TITLE,
            "no sanitize_policy configured: the built-in default policy, which drops every "
            "never-send category, is in use",
        )
    return passed("sanitize-policy", TITLE, f"{path} drops all {len(NEVER_SEND)} categories")


def _fail(evidence: str, remediation: str, *findings: CheckFinding) -> CheckResult:
    return CheckResult("sanitize-policy", TITLE, Status.FAIL, evidence, remediation, findings)


def _not_dropped(policy: Policy, names: tuple[str, ...]) -> list[str]:
    """``name is action`` for each name the policy lets through in some form."""
    decisions = {name: policy.decide(name).action for name in names}
    return [
        f"{name} is {action.value}"
        for name, action in decisions.items()
        if action is not Action.DROP
    ]
