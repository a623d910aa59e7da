"""The names every part of the settings shares: credentials, regions, profiles, variables."""

from __future__ import annotations

REGIONS = ("us", "eu")

#: Credential name → the environment variable that holds it when no profile says otherwise.
CREDENTIAL_ENV_NAMES: dict[str, str] = {
    "site_id": "CUSTOMERIO_SITE_ID",
    "track_api_key": "CUSTOMERIO_TRACK_API_KEY",
    "app_api_key": "CUSTOMERIO_APP_API_KEY",
    "webhook_signing_key": "CUSTOMERIO_WEBHOOK_SECRET",
    "pseudonym_key": "CIO_SEC_PSEUDONYM_KEY",
}

CREDENTIAL_NAMES = tuple(CREDENTIAL_ENV_NAMES)

DEFAULT_PROFILE = "default"

KEYRING_SERVICE = "cio-sec"

#: Every ``CIO_SEC_*`` variable cio-sec reads; any other one is probably a typo.
KNOWN_ENV_VARS = frozenset(
    {
        "CIO_SEC_PROFILE",
        "CIO_SEC_CONFIG",
        "CIO_SEC_FORMAT",
        "CIO_SEC_TRACK_URL",
        "CIO_SEC_APP_URL",
        "CIO_SEC_TRACK_URL_US",
        "CIO_SEC_TRACK_URL_EU",
        "CIO_SEC_APP_URL_US",
        "CIO_SEC_APP_URL_EU",
        "CIO_SEC_NON_INTERACTIVE",
        "CIO_SEC_QUIET",
        "CIO_SEC_PSEUDONYM_KEY",
        "CIO_SEC_PSEUDONYM_KEY_PREVIOUS",
    }
)
