"""The rules of ``scan-repo``: one per kind of Customer.io credential, in report order.

A `LeakRule` is metadata (a stable id, a description, a help text): SARIF's rule entries
and the JSON's ``rule`` field come from here. The code that finds each kind is in
`detectors`. The name is not ``Rule``: `cio_sec.sarif.Rule` is the SARIF entry built from
a `LeakRule`, and sanitize's policy has a ``Rule`` of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

PAIR_LINES: Final = 10
"""A Track key pairs with the nearest site ID at most this many lines away."""


@dataclass(frozen=True)
class LeakRule:
    """One kind of leaked credential: a stable id, a one-line description, a help text."""

    id: str
    description: str
    help: str


TRACK_KEY_PAIR = LeakRule(
    "customerio-track-key-pair",
    "Customer.io Track API site ID and API key",
    "A 20-hex site ID and a 20-hex Track API key next to each other in Customer.io context "
    "(env files, YAML, JSON, INI, assignments, TrackClient/CustomerIO constructor calls). "
    "Together they can send data into the workspace: rotate the key.",
)
TRACK_API_KEY = LeakRule(
    "customerio-track-api-key",
    "Customer.io Track API key (no site ID nearby)",
    "A 20-hex value labelled as an API key in Customer.io context, with no site ID within "
    f"{PAIR_LINES} lines. Site IDs are not secret, so the key alone is enough to worry.",
)
TRACK_BASIC_AUTH = LeakRule(
    "customerio-track-basic-auth",
    "Customer.io Track credentials in HTTP Basic-auth form",
    "site_id:api_key as a base64 Basic-auth token, a curl -u argument, or credentials in a "
    "URL (https://site:key@track.customer.io).",
)
APP_API_KEY = LeakRule(
    "customerio-app-api-key",
    "Customer.io App API key",
    "A 32-hex value labelled as an App API key, token or Bearer credential in Customer.io "
    "context (api.customer.io / api-eu.customer.io).",
)
WEBHOOK_SIGNING_KEY = LeakRule(
    "customerio-webhook-signing-key",
    "Customer.io reporting-webhook signing key",
    "A literal value assigned to a webhook signing key or secret near Customer.io context "
    "(CUSTOMERIO_WEBHOOK_SECRET, x-cio-signature handlers).",
)
SERVICE_ACCOUNT_TOKEN = LeakRule(
    "customerio-service-account-token",
    "Customer.io service-account token",
    "A token starting sa_live_ or sa_sandbox_.",
)

LEAK_RULES: Final = (
    TRACK_KEY_PAIR,
    TRACK_API_KEY,
    TRACK_BASIC_AUTH,
    APP_API_KEY,
    WEBHOOK_SIGNING_KEY,
    SERVICE_ACCOUNT_TOKEN,
)
"""Every rule, in the order reports list them."""
