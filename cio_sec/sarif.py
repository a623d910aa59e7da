"""What the SARIF logs of ``scan-repo`` and ``audit`` share: the tool, rule descriptors, places.

GitHub code scanning turns a result into an alert only when it has a location, and treats it
as a security alert only when its rule has ``security-severity`` and the ``security`` tag.
Microsoft's SARIF Multitool (``validate --rule-kind "Gh;Sarif"``) checks both logs in
``make test`` (``scripts/sarif-validate.sh``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Final

SCHEMA: Final = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME: Final = "cio-sec"
INFORMATION_URI: Final = "https://pypi.org/project/cio-sec/"
DOCS_URI: Final = "https://github.com/OWNER/cio-sec/blob/main/docs/"
"""Where ``docs/`` is published; ``helpUri`` must be absolute (the Multitool's SARIF1002)."""
RULES_DOC: Final = "reference/sarif.md"

ROOT_URI: Final = "."
"""The repository root, for a result that concerns no single file in it."""


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


def driver(version: str, rules: list[Rule]) -> dict[str, Any]:
    """The ``tool`` object: one name and home for both commands."""
    return {
        "driver": {
            "name": TOOL_NAME,
            "version": version,
            "informationUri": INFORMATION_URI,
            "rules": [rule.descriptor() for rule in rules],
        }
    }


def location(uri: str, line: int, base: str | None = None) -> dict[str, Any]:
    """A ``location`` at ``line`` of ``uri`` (already percent-encoded)."""
    artifact: dict[str, Any] = {"uri": uri}
    if base is not None:
        artifact["uriBaseId"] = base
    return {"physicalLocation": {"artifactLocation": artifact, "region": {"startLine": line}}}


def stable_id(*parts: str) -> str:
    """32 hex digits naming a result across runs and machines (for ``partialFingerprints``).

    The parts are public (rule, path, public fingerprint), so the digest hides nothing and
    needs no key: a key made on one CI runner would not exist on the next.
    """
    joined = "\0".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.sha256(joined).hexdigest()[:32]
