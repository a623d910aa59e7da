"""Customer.io's regional base URLs, and the URL parts cio-sec builds or names (segments, hosts)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

import httpx

from cio_sec.errors import ConfigError, InputError
from cio_sec.redact import register

TRACK_URLS: Mapping[str, str] = {
    "us": "https://track.customer.io",
    "eu": "https://track-eu.customer.io",
}
APP_URLS: Mapping[str, str] = {
    "us": "https://api.customer.io",
    "eu": "https://api-eu.customer.io",
}


def _base_url(urls: Mapping[str, str], region: str, override: str | None) -> str:
    if override:
        return override.rstrip("/")
    try:
        return urls[region]
    except KeyError:
        raise ConfigError(
            f"unknown Customer.io region {region!r}; expected one of: {', '.join(urls)}",
            hint='set region = "us" or "eu" (CUSTOMERIO_REGION)',
        ) from None


def track_base_url(region: str, override: str | None = None) -> str:
    """Return the Track API base URL for a region, or the override when one is set.

    Raises:
        ConfigError: the region is neither ``us`` nor ``eu`` and there is no override.
    """
    return _base_url(TRACK_URLS, region, override)


def app_base_url(region: str, override: str | None = None) -> str:
    """Return the App API base URL for a region, or the override when one is set.

    Raises:
        ConfigError: the region is neither ``us`` nor ``eu`` and there is no override.
    """
    return _base_url(APP_URLS, region, override)


def check_http_url(url: str, what: str) -> httpx.URL:
    """Parse ``url`` as httpx will send to it: an http(s) URL with a host.

    Parsed by httpx itself, since ``urllib.parse`` accepts URLs that httpx then refuses
    (a port that is not a number, control characters).

    Raises:
        InputError: another scheme, no host, or a URL httpx cannot use (exit 2).
    """
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = httpx.URL()
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InputError(f"{what} must be an http:// or https:// URL with a host")
    if parsed.password:
        # NOTE: a password in the URL is a secret like any other: every message that
        # names the URL (errors, progress, JSON) shows it masked (issue 15, finding 5).
        register(parsed.password)
        register(parsed.userinfo.decode("ascii", "replace").partition(":")[2])
    return parsed


def quote_identifier(value: str) -> str:
    """Percent-encode an identifier as one URL path segment that cannot change the path.

    Everything but the RFC 3986 unreserved characters is escaped (so ``/``, ``?``, ``#``
    and ``%`` cannot end, extend or re-interpret the segment), and ``.``/``..`` become
    ``%2E``/``%2E%2E`` so that no client, proxy or server treats them as dot-segments.

    Raises:
        ValueError: the identifier is empty or is not valid Unicode text.
    """
    if not value:
        raise ValueError("an identifier must not be empty")
    try:
        encoded = quote(value, safe="")
    except UnicodeEncodeError:
        raise ValueError("an identifier must be valid Unicode text") from None
    if encoded in {".", ".."}:
        return "%2E" * len(encoded)
    return encoded


def _host(url: httpx.URL) -> str:
    """Return ``host[:port]`` (IPv6 in brackets): what messages and logs may name of a URL."""
    host = f"[{url.host}]" if ":" in url.host else url.host
    return host if url.port is None else f"{host}:{url.port}"
