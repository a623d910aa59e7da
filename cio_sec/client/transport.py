"""Building the httpx clients: base URL and credential checks, auth, timeouts, safe logging."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import httpx

from cio_sec import __version__
from cio_sec.client.urls import _host
from cio_sec.errors import ConfigError
from cio_sec.redact import REDACTOR

# NOTE: the whole package logs as "cio_sec.client", its name before it became a package;
# log filters and the tests select on it, so no module uses __name__.
logger = logging.getLogger("cio_sec.client")

USER_AGENT = f"cio-sec/{__version__}"
DEFAULT_TIMEOUT = 10.0
CONNECT_TIMEOUT = 5.0

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_START = "cio_sec.start"


class _BearerAuth(httpx.Auth):
    """``Authorization: Bearer <key>``, kept out of the client's default headers."""

    def __init__(self, key: str) -> None:
        self._key = key

    def __repr__(self) -> str:
        return "_BearerAuth(<hidden>)"

    def auth_flow(self, request: httpx.Request) -> Any:
        """Add the header to the request (one step, no challenge)."""
        request.headers["Authorization"] = f"Bearer {self._key}"
        yield request


def _check_base_url(base_url: str) -> httpx.URL:
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL:
        url = httpx.URL()
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(
            "the Customer.io base URL must be an http(s) URL with a host",
            hint="check CIO_SEC_TRACK_URL / CIO_SEC_APP_URL, or unset them to use the region",
        )
    if url.userinfo or url.query or url.fragment:
        raise ConfigError(
            "the Customer.io base URL must not contain credentials, a query or a fragment",
            hint="check CIO_SEC_TRACK_URL / CIO_SEC_APP_URL",
        )
    if url.scheme == "http" and url.host not in _LOOPBACK_HOSTS:
        raise ConfigError(
            f"refusing to send credentials over plain HTTP to {_host(url)}",
            hint="use an https:// base URL (plain http is only accepted on loopback)",
        )
    if url.host != "customer.io" and not url.host.endswith(".customer.io"):
        _announce_foreign_host(_host(url))
    return url


_announced: set[str] = set()
_announced_lock = threading.Lock()


def _announce_foreign_host(host: str) -> None:
    """Say, once per host and process, that credentials are about to go elsewhere.

    A sandbox, a proxy, or a base URL someone slipped into the environment: the operator
    must see it before any key leaves.
    """
    with _announced_lock:
        if host in _announced:
            return
        _announced.add(host)
    logger.warning("credentials will be sent to %s, not to Customer.io", host)


def _check_credential(value: str, name: str) -> None:
    if not value or not value.isascii() or not value.isprintable() or value != value.strip():
        raise ConfigError(
            f"{name} is empty or contains characters a Customer.io credential cannot have",
            hint="store the value again without surrounding whitespace",
        )


def _track_auth(site_id: str, api_key: str) -> httpx.BasicAuth:
    _check_credential(site_id, "the site ID")
    _check_credential(api_key, "the Track API key")
    if ":" in site_id:
        raise ConfigError("the site ID must not contain ':'", hint="check the site ID")
    REDACTOR.register(api_key)
    REDACTOR.register_basic_auth(site_id, api_key)
    return httpx.BasicAuth(site_id, api_key)


def _app_auth(app_api_key: str) -> _BearerAuth:
    _check_credential(app_api_key, "the App API key")
    REDACTOR.register(app_api_key)
    return _BearerAuth(app_api_key)


def _quiet_library_loggers() -> None:
    # NOTE: httpx logs every request URL at INFO (paths carry identifiers, queries carry
    # email addresses) and httpcore logs response headers at DEBUG. Our event hooks log
    # what is safe instead; a level someone set explicitly is left alone.
    for name in ("httpx", "httpcore"):
        library_logger = logging.getLogger(name)
        if library_logger.level == logging.NOTSET:
            library_logger.setLevel(logging.WARNING)


def _mark_start(request: httpx.Request) -> None:
    request.extensions[_START] = time.perf_counter()


def _log_response(response: httpx.Response) -> None:
    request = response.request
    started = request.extensions.get(_START)
    elapsed = (time.perf_counter() - started) * 1000 if isinstance(started, float) else 0.0
    logger.debug(
        "%s %s %d %.0fms", request.method, _host(request.url), response.status_code, elapsed
    )


async def _amark_start(request: httpx.Request) -> None:
    _mark_start(request)


async def _alog_response(response: httpx.Response) -> None:
    _log_response(response)


def _client(
    base_url: str, auth: httpx.Auth, *, timeout: float, transport: httpx.BaseTransport | None
) -> httpx.Client:
    url = _check_base_url(base_url)
    _quiet_library_loggers()
    return httpx.Client(
        base_url=url,
        auth=auth,
        headers={"User-Agent": USER_AGENT},
        timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT),
        follow_redirects=False,
        verify=True,
        transport=transport if transport is not None else httpx.HTTPTransport(retries=0),
        event_hooks={"request": [_mark_start], "response": [_log_response]},
    )


def _async_client(
    base_url: str,
    auth: httpx.Auth,
    *,
    timeout: float,
    transport: httpx.AsyncBaseTransport | None,
) -> httpx.AsyncClient:
    url = _check_base_url(base_url)
    _quiet_library_loggers()
    return httpx.AsyncClient(
        base_url=url,
        auth=auth,
        headers={"User-Agent": USER_AGENT},
        timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT),
        follow_redirects=False,
        verify=True,
        transport=transport if transport is not None else httpx.AsyncHTTPTransport(retries=0),
        event_hooks={"request": [_amark_start], "response": [_alog_response]},
    )


def build_track_client(
    base_url: str,
    site_id: str,
    api_key: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """Return an httpx client for the Track API (HTTP Basic auth with site ID and key).

    The key and its Basic-auth token are registered with the redactor first. Redirects
    are not followed, TLS is verified, and the transport does not retry by itself (use
    `send_with_retry`). Close the client (``with``) when done.

    Raises:
        ConfigError: the base URL or a credential is unusable.
    """
    auth = _track_auth(site_id, api_key)
    return _client(base_url, auth, timeout=timeout, transport=transport)


def build_async_track_client(
    base_url: str,
    site_id: str,
    api_key: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """Asynchronous form of `build_track_client`.

    Raises:
        ConfigError: the base URL or a credential is unusable.
    """
    auth = _track_auth(site_id, api_key)
    return _async_client(base_url, auth, timeout=timeout, transport=transport)


def build_app_client(
    base_url: str,
    app_api_key: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """Return an httpx client for the App API (Bearer auth), configured as the Track one.

    Raises:
        ConfigError: the base URL or the key is unusable.
    """
    auth = _app_auth(app_api_key)
    return _client(base_url, auth, timeout=timeout, transport=transport)


def build_async_app_client(
    base_url: str,
    app_api_key: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """Asynchronous form of `build_app_client`.

    Raises:
        ConfigError: the base URL or the key is unusable.
    """
    auth = _app_auth(app_api_key)
    return _async_client(base_url, auth, timeout=timeout, transport=transport)
