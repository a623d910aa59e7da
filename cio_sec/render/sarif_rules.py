"""The rules of both SARIF logs: static text, a documented severity, a docs anchor.

The one place the rule metadata of ``audit`` (one rule per check) and ``scan-repo`` (one
rule per detector) lives; ``docs/reference/sarif.md`` lists the same severities (a test
compares them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from cio_sec.scan_repo.rules import LEAK_RULES

DOCS_URI: Final = "https://github.com/OWNER/cio-sec/blob/main/docs/"
"""Where ``docs/`` is published; ``helpUri`` must be absolute (the Multitool's SARIF1002)."""
RULES_DOC: Final = "reference/sarif.md"


@dataclass(frozen=True)
class Rule:
    """One rule's static description: the same text in every run, on every machine."""

    id: str
    short: str
    """One sentence, ending with a full stop."""
    full: str
    help: str
    """What to do about a result, in general terms (never one run's paths)."""
    severity: str
    """GitHub's ``security-severity``: "9.0" and up is critical, "7.0" high, "4.0" medium."""

    @property
    def help_uri(self) -> str:
        """The rule's section in ``docs/reference/sarif.md`` (the id is the anchor)."""
        return f"{DOCS_URI}{RULES_DOC}#{self.id}"

    def descriptor(self) -> dict[str, Any]:
        """The SARIF ``reportingDescriptor``."""
        return {
            "id": self.id,
            "name": "".join(part.capitalize() for part in self.id.split("-")),
            "shortDescription": {"text": self.short},
            "fullDescription": {"text": self.full},
            "help": {"text": self.help, "markdown": f"{self.help}\n\n[More]({self.help_uri})"},
            "helpUri": self.help_uri,
            "properties": {
                "security-severity": self.severity,
                "tags": ["security", "customer.io"],
                "precision": "high",
            },
        }


AUDIT_RULES: Final = {
    rule.id: rule
    for rule in (
        Rule(
            "credential-stores",
            "Customer.io credentials come from a secret store.",
            "Each configured Customer.io credential is read from the OS keyring or a secret "
            "manager, not from a plain environment variable or a file (which leak into "
            "process listings, crash reports and CI logs).",
            "Move each credential into the keyring or a secret manager with "
            "`cio-sec credentials set NAME`, then point the profile at it.",
            "7.0",
        ),
        Rule(
            "key-age",
            "Customer.io credentials were rotated recently.",
            "Each Customer.io credential was last rotated within the allowed age (90 days "
            "unless `--max-key-age` says otherwise), according to the rotation records.",
            "Rotate the old credentials with `cio-sec rotate`; the rotation is recorded and "
            "the next audit sees it.",
            "5.0",
        ),
        Rule(
            "webhook-signing-key",
            "A webhook signing key is configured.",
            "The profile has a reporting-webhook signing key, so the webhook handlers can "
            "verify that deliveries come from Customer.io.",
            "Copy the signing key from Customer.io's reporting-webhook settings and store it "
            "with `cio-sec credentials set webhook_signing_key`.",
            "6.0",
        ),
        Rule(
            "webhook-handler",
            "Webhook handlers verify X-CIO-Signature.",
            "Every reporting-webhook handler found in the code checks the X-CIO-Signature "
            "header with an HMAC of the timestamp and the raw body, compares it in constant "
            "time and rejects stale timestamps.",
            "Verify the signature before parsing the body: HMAC-SHA256 of `v0:timestamp:body` "
            "under the signing key, a constant-time comparison, and a bound on the "
            "timestamp's age.",
            "8.0",
        ),
        Rule(
            "sanitize-policy",
            "The sanitisation policy drops every never-send category.",
            "The profile's sanitisation policy drops the categories of personal data that "
            "must never reach Customer.io (government IDs, card numbers, health data and "
            "the rest of the never-send list).",
            "Extend the default policy, or add a `drop` rule for each category the audit names.",
            "6.5",
        ),
        Rule(
            "dotenv-ignored",
            ".env files are ignored by git.",
            "Every .env file in the application is ignored by git, so that no one commits "
            "the credentials it holds by accident.",
            "Add `.env*` (and `!.env.example`) to .gitignore, and `git rm --cached` any .env "
            "file git already tracks.",
            "7.5",
        ),
        Rule(
            "dotenv-history",
            ".env files were never committed.",
            "No commit on any ref adds a .env file: a committed one stays in every clone "
            "even after it is deleted.",
            "Rotate every credential such a file held, then remove the file from history; "
            "the leaked-key runbook gives the steps.",
            "8.5",
        ),
        Rule(
            "file-permissions",
            "Dotenv and config files are private.",
            "The .env files and cio-sec's configuration file are readable by their owner "
            "only, so other users of the machine cannot read the credentials in them.",
            "`chmod 600` each file named, and check who owns it.",
            "5.5",
        ),
        Rule(
            "working-tree-credentials",
            "No Customer.io credential is in the working tree.",
            "No file of the application, committed or not yet, holds a Customer.io "
            "credential (the detectors of `cio-sec scan-repo`).",
            "Rotate each credential found, keep it in a secret store instead, and delete it "
            "from the file; the leaked-key runbook gives the steps.",
            "9.0",
        ),
        Rule(
            "audit-trail",
            "The erasure audit trail is present and intact.",
            "The profile's erasure audit trail exists and its hash chain verifies, so it can "
            "serve as evidence of the erasures done.",
            "Configure `audit_log` for the profile; if the chain is broken, keep the file as "
            "it is and restore the last good copy from backup.",
            "4.0",
        ),
        Rule(
            "online-track",
            "The Track API credentials work (online check).",
            "With `--online`: Customer.io accepts the configured site ID and Track API key "
            "in the configured region.",
            "Run `cio-sec credentials check` for the details; store a working key with "
            "`cio-sec credentials set`.",
            "3.0",
        ),
        Rule(
            "online-app",
            "The App API key works (online check).",
            "With `--online`: Customer.io accepts the configured App API key in the "
            "configured region.",
            "Run `cio-sec credentials check` for the details; store a working key with "
            "`cio-sec credentials set`.",
            "3.0",
        ),
        Rule(
            "online-never-send",
            "No never-send attribute is in the workspace (online check).",
            "With `--online`: no person in the workspace holds an attribute of a never-send "
            "category (searched by name through the App API, counted, never read).",
            "Purge the attributes from the people who hold them, then fix the code that sent "
            "them; the runbook for personal data sent by mistake gives the steps.",
            "8.5",
        ),
    )
}
"""Check id → rule, in the order the audit runs its checks."""


def rule_for(check_id: str, title: str) -> Rule:
    """The check's rule; a check without one (added without its rule) still gets a log."""
    return AUDIT_RULES.get(check_id) or Rule(
        check_id,
        f"{title}.",
        f"{title}.",
        "See the check's remediation in the result message.",
        "5.0",
    )


_ROTATE: Final = (
    "Treat it as leaked: rotate it in Customer.io, then remove it from the code and history "
    "(the leaked-key runbook gives each step). A known test key can go into a baseline "
    "(`--baseline FILE --write-baseline`)."
)
_SEVERITY: Final = {
    "customerio-track-key-pair": "9.0",
    "customerio-track-api-key": "8.0",
    "customerio-track-basic-auth": "9.0",
    "customerio-app-api-key": "9.5",
    "customerio-webhook-signing-key": "7.5",
    "customerio-service-account-token": "9.5",
}
"""GitHub ``security-severity`` per leak rule (documented in ``docs/reference/sarif.md``)."""

SCAN_RULES: Final = {
    rule.id: Rule(rule.id, f"{rule.description}.", rule.help, _ROTATE, _SEVERITY[rule.id])
    for rule in LEAK_RULES
}
"""Leak rule id → SARIF rule, in the rules' order: the scan's rule metadata, in one place."""
