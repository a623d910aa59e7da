"""HTTP access to Customer.io: client construction, retries, status mapping, API wrappers.

This is the only module that builds httpx clients and the only one that translates
`httpx.HTTPError` into cio-sec errors. Nothing here logs or raises with a URL path, a query
string, a header or a body: paths carry identifiers (PII), headers carry credentials.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import random as _random
import re
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from cio_sec import __version__
from cio_sec.errors import (
    ApiError,
    ConfigError,
    CredentialRejectedError,
    RedirectError,
    RemoteUnavailableError,
)
from cio_sec.redact import REDACTOR

logger = logging.getLogger("cio_sec.client")

T = TypeVar("T")

TRACK_URLS: Mapping[str, str] = {
    "us": "https://track.customer.io",
    "eu": "https://track-eu.customer.io",
}
APP_URLS: Mapping[str, str] = {
    "us": "https://api.customer.io",
    "eu": "https://api-eu.customer.io",
}

USER_AGENT = f"cio-sec/{__version__}"
DEFAULT_TIMEOUT = 10.0
CONNECT_TIMEOUT = 5.0

_TRACK_CREDENTIAL = "the Track API credentials (site ID and API key)"
_APP_CREDENTIAL = "the App API key"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_START = "cio_sec.start"
_DELTA_SECONDS = re.compile(r"[+-]?\d+(?:\.\d+)?")


# --- Regions and identifiers ---------------------------------------------------------------


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


# --- Retry policy --------------------------------------------------------------------------


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class RetryPolicy:
    """When to send a request again and how long to wait first (pure decisions only)."""

    max_attempts: int = 8
    """Attempts in total, the first one included."""
    base_delay: float = 0.25
    """Upper bound of the first back-off, in seconds; it doubles per attempt."""
    max_delay: float = 30.0
    """Largest back-off without a Retry-After header, in seconds."""
    max_retry_after: float = 300.0
    """Largest Retry-After honoured, in seconds; longer requests are cut to this."""
    retry_statuses: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})
    """Statuses worth another attempt; any other status is final at once."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.base_delay, self.max_delay, self.max_retry_after) < 0:
            raise ValueError("delays must not be negative")

    def should_retry_status(self, status: int) -> bool:
        """Return whether a response with this status is worth sending again."""
        return status in self.retry_statuses

    def should_retry_exception(self, exc: BaseException) -> bool:
        """Return whether a transport failure is transient (timeouts, refused or cut off).

        A failed TLS certificate verification is not, although httpx reports it as a
        `httpx.ConnectError` too.
        """
        if _tls_rejected(exc):
            return False  # a certificate does not fix itself between attempts
        return isinstance(
            exc,
            httpx.TimeoutException
            | httpx.ConnectError
            | httpx.RemoteProtocolError
            | httpx.ReadError
            | httpx.WriteError,
        )

    def delay(
        self, attempt: int, *, retry_after: float | None, random: Callable[[], float]
    ) -> float:
        """Return the seconds to wait after failed attempt number ``attempt`` (from 1).

        Full-jitter exponential back-off: ``random() * min(max_delay, base_delay *
        2**(attempt - 1))``. A Retry-After value raises the wait to at least that many
        seconds, capped at ``max_retry_after``.

        Raises:
            ValueError: ``attempt`` is smaller than 1.
        """
        if attempt < 1:
            raise ValueError("attempt numbers start at 1")
        # NOTE: the exponent is clamped so that 2**n stays a float, whatever the attempt.
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** min(attempt - 1, 64))
        wait = random() * ceiling
        if retry_after is not None and not math.isnan(retry_after):
            wait = max(wait, min(max(retry_after, 0.0), self.max_retry_after))
        return wait

    def parse_retry_after(self, value: str | None, *, now: datetime) -> float | None:
        """Return the seconds a Retry-After header asks for, or None when absent or invalid.

        Accepts delta-seconds and HTTP-dates (RFC 9110 §10.2.3); a negative delay or a date
        in the past gives 0. A naive ``now`` or date is taken as UTC.
        """
        if value is None:
            return None
        text = value.strip()
        if _DELTA_SECONDS.fullmatch(text):
            return max(float(text), 0.0)
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        if now.tzinfo is None:
            now = now.replace(tzinfo=timezone.utc)
        return max((when - now).total_seconds(), 0.0)


DEFAULT_RETRY_POLICY = RetryPolicy()


@dataclass(frozen=True)
class RetryEvent:
    """One decision to send a request again, as reported to an ``on_retry`` callback."""

    attempt: int
    """The attempt that failed (from 1)."""
    delay: float
    """Seconds the loop waits before the next attempt."""
    status: int | None
    """The retryable HTTP status, or None for a transport failure."""
    error: str | None
    """The transport exception's class name, or None for an HTTP status."""


def _host(url: httpx.URL) -> str:
    host = f"[{url.host}]" if ":" in url.host else url.host
    return host if url.port is None else f"{host}:{url.port}"


_FAILURES: tuple[tuple[type[httpx.HTTPError], str], ...] = (
    (httpx.TimeoutException, "the request timed out"),
    (httpx.ConnectError, "the connection failed"),
    (httpx.RemoteProtocolError, "the connection was dropped"),
    (httpx.NetworkError, "the connection broke"),
)


def _tls_rejected(exc: BaseException) -> bool:
    """Return whether the exception was caused by a failed certificate verification."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def _describe(exc: httpx.HTTPError) -> str:
    # NOTE: httpx messages can quote the URL, so only the exception class is summarised.
    if _tls_rejected(exc):
        return "its TLS certificate could not be verified"
    for kind, text in _FAILURES:
        if isinstance(exc, kind):
            return text
    return f"the request failed ({type(exc).__name__})"


class _RetryState:
    """The retry rules for one request: both send loops drive it, so they exist once."""

    def __init__(
        self,
        request: httpx.Request,
        policy: RetryPolicy,
        *,
        random: Callable[[], float],
        now: Callable[[], datetime],
        on_retry: Callable[[RetryEvent], None] | None,
    ) -> None:
        self._request = request
        self._policy = policy
        self._random = random
        self._now = now
        self._on_retry = on_retry
        self.attempt = 0

    def after_response(self, response: httpx.Response) -> float | None:
        """Return the wait before sending again, or None when the response is final."""
        self.attempt += 1
        status = response.status_code
        if not self._policy.should_retry_status(status):
            return None
        if self.attempt >= self._policy.max_attempts:
            logger.debug(
                "giving up on %s %s: HTTP %d after %d attempts",
                self._request.method,
                _host(self._request.url),
                status,
                self.attempt,
            )
            return None
        header = response.headers.get("Retry-After")
        retry_after = self._policy.parse_retry_after(header, now=self._now())
        return self._schedule(f"HTTP {status}", retry_after, status=status, error=None)

    def after_exception(self, exc: httpx.HTTPError) -> float:
        """Return the wait before sending again after a transport failure.

        Raises:
            RemoteUnavailableError: the failure is not transient or no attempts are left.
        """
        self.attempt += 1
        transient = self._policy.should_retry_exception(exc)
        if not transient or self.attempt >= self._policy.max_attempts:
            host = _host(self._request.url)
            hint = (
                "if a proxy re-signs TLS traffic, point SSL_CERT_FILE at its CA bundle; "
                "never disable verification"
                if _tls_rejected(exc)
                else "check the network, proxy and region settings, then run the command "
                "again; --debug shows the underlying error"
            )
            raise RemoteUnavailableError(
                f"could not reach Customer.io at {host}: {_describe(exc)} "
                f"(attempt {self.attempt} of {self._policy.max_attempts})",
                hint=hint,
            ) from exc
        name = type(exc).__name__
        return self._schedule(name, None, status=None, error=name)

    def _schedule(
        self, reason: str, retry_after: float | None, *, status: int | None, error: str | None
    ) -> float:
        wait = self._policy.delay(self.attempt, retry_after=retry_after, random=self._random)
        logger.debug(
            "retrying %s %s after %s (attempt %d of %d) in %.2fs",
            self._request.method,
            _host(self._request.url),
            reason,
            self.attempt,
            self._policy.max_attempts,
            wait,
        )
        if self._on_retry is not None:
            self._on_retry(RetryEvent(self.attempt, wait, status, error))
        return wait


def send_with_retry(
    client: httpx.Client,
    request: httpx.Request,
    *,
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    sleep: Callable[[float], object] = time.sleep,
    random: Callable[[], float] = _random.random,
    now: Callable[[], datetime] = _utcnow,
    on_retry: Callable[[RetryEvent], None] | None = None,
) -> httpx.Response:
    """Send a request, retrying transient failures as the policy says; return the response.

    Only use it for idempotent requests (every Customer.io call cio-sec makes is). When
    the attempts run out on a retryable status (429, 5xx), the last response is returned
    so that `check_response` maps it like any other; non-retryable statuses are returned
    at once.

    Raises:
        RemoteUnavailableError: a transport failure (timeout, refused, dropped connection)
            persisted through every attempt, or was not transient. Chained to the cause.
    """
    state = _RetryState(request, policy, random=random, now=now, on_retry=on_retry)
    while True:
        try:
            response = client.send(request)
        except httpx.HTTPError as exc:
            wait = state.after_exception(exc)
        else:
            decision = state.after_response(response)
            if decision is None:
                return response
            wait = decision
        sleep(wait)


async def asend_with_retry(
    client: httpx.AsyncClient,
    request: httpx.Request,
    *,
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    random: Callable[[], float] = _random.random,
    now: Callable[[], datetime] = _utcnow,
    on_retry: Callable[[RetryEvent], None] | None = None,
) -> httpx.Response:
    """Asynchronous form of `send_with_retry`, with the same rules and results.

    Raises:
        RemoteUnavailableError: as `send_with_retry`.
    """
    state = _RetryState(request, policy, random=random, now=now, on_retry=on_retry)
    while True:
        try:
            response = await client.send(request)
        except httpx.HTTPError as exc:
            wait = state.after_exception(exc)
        else:
            decision = state.after_response(response)
            if decision is None:
                return response
            wait = decision
        await sleep(wait)


# --- Status mapping ------------------------------------------------------------------------

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _status_text(status: int) -> str:
    phrase = httpx.codes.get_reason_phrase(status)
    return f"HTTP {status} {phrase}" if phrase else f"HTTP {status}"


def _redirect_error(response: httpx.Response, *, what: str) -> RedirectError:
    location = response.headers.get("Location")
    target: str | None = None
    if location:
        # NOTE: httpx has already refused a Location it cannot parse (RemoteProtocolError).
        joined = response.request.url.join(location)
        target = _host(joined) if joined.host else None
    if target is None:
        return RedirectError(
            f"Customer.io redirected {what} ({_status_text(response.status_code)}) "
            "without a usable destination",
            hint="check the region and the base URL settings (CIO_SEC_TRACK_URL, CIO_SEC_APP_URL)",
        )
    region = next(
        (
            name
            for name in ("us", "eu")
            if target in (_host(httpx.URL(TRACK_URLS[name])), _host(httpx.URL(APP_URLS[name])))
        ),
        None,
    )
    if region is not None:
        return RedirectError(
            f"Customer.io redirected {what} to {target}: the account is probably in the "
            f'{region.upper()} region; set region = "{region}"',
            hint="cio-sec does not follow redirects, so credentials are only ever sent to "
            "the host you configured",
        )
    return RedirectError(
        f"Customer.io redirected {what} to {target}; cio-sec does not follow redirects",
        hint="check the region and the base URL settings (CIO_SEC_TRACK_URL, CIO_SEC_APP_URL)",
    )


def check_response(
    response: httpx.Response, *, what: str, credential: str = "the credential"
) -> None:
    """Raise the typed error for an unsuccessful response; return for any 2xx (207 too).

    ``what`` names the request in messages ("the region lookup"), ``credential`` the
    credential a 401/403 rejects. Messages name the host and never carry the path, the
    query, headers or the body.

    Raises:
        RedirectError: 301, 302, 303, 307 or 308, usually a region mistake.
        CredentialRejectedError: 401 or 403.
        RemoteUnavailableError: 429 or 5xx (after any retries the caller made).
        ApiError: 404, any other 4xx, or an unexpected status.
    """
    status = response.status_code
    if 200 <= status < 300:
        return
    host = _host(response.request.url)
    if status in _REDIRECTS:
        raise _redirect_error(response, what=what)
    if status in (401, 403):
        hint = (
            "check that the key is current and belongs to this workspace and region; "
            "if it was revoked or may have leaked, run `cio-sec rotate`"
        )
        if status == 403:
            hint += "; a 403 can also mean a missing key scope or the workspace IP allowlist"
        raise CredentialRejectedError(
            f"Customer.io rejected {credential} ({what}: {_status_text(status)} from {host})",
            hint=hint,
        )
    if status == 429 or 500 <= status < 600:
        raise RemoteUnavailableError(
            f"{what} failed: {host} answered {_status_text(status)}",
            hint="Customer.io is rate limiting or unavailable; wait and run the command "
            "again (it is safe to repeat)",
        )
    if status == 404:
        raise ApiError(
            f"{what} failed: {host} answered {_status_text(status)} (not found)",
            status=status,
            hint="check the region and the base URL settings",
        )
    if 400 <= status < 500:
        raise ApiError(f"{what} failed: {host} answered {_status_text(status)}", status=status)
    raise ApiError(
        f"{what} failed: {host} answered with unexpected {_status_text(status)}", status=status
    )


# --- Client construction -------------------------------------------------------------------


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
    return url


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


# --- Results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountRegion:
    """The answer of ``GET /api/v1/accounts/region`` for a Track credential."""

    region: str
    """``us`` or ``eu``."""
    url: str
    """The Track API base URL of that region."""
    environment_id: int
    """The workspace the credential belongs to."""


@dataclass(frozen=True)
class BatchItemError:
    """One rejected operation of a ``/api/v2/batch`` request (HTTP 207)."""

    batch_index: int
    """Position of the operation in the request."""
    reason: str
    field: str
    message: str


@dataclass(frozen=True)
class BatchResult:
    """The outcome of a batch: 200 means every operation was accepted."""

    status: int
    errors: tuple[BatchItemError, ...] = ()


@dataclass(frozen=True)
class Workspace:
    """A workspace an App API key can see."""

    id: int
    name: str


@dataclass(frozen=True)
class CustomerRef:
    """The identifiers of one person found by an App API lookup."""

    id: str | None
    email: str | None
    cio_id: str | None


# --- Requests and their parsers (shared by the sync and async wrappers) --------------------

_AnyClient = httpx.Client | httpx.AsyncClient


@dataclass(frozen=True)
class _Call(Generic[T]):
    request: httpx.Request
    what: str
    parse: Callable[[httpx.Response], T] = field(repr=False)


def _shape_error(what: str, response: httpx.Response) -> ApiError:
    return ApiError(
        f"{what}: {_host(response.request.url)} answered with an unexpected response shape",
        status=response.status_code,
        hint="the API may have changed; run with --debug and report it",
    )


def _json(response: httpx.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise _shape_error(what, response) from None


def _ignore(response: httpx.Response) -> None:
    return None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _optional_str(value: object) -> bool:
    return value is None or isinstance(value, str)


def _region_call(client: _AnyClient) -> _Call[AccountRegion]:
    what = "the region lookup"

    def parse(response: httpx.Response) -> AccountRegion:
        doc = _json(response, what)
        if (
            not isinstance(doc, dict)
            or not isinstance(doc.get("region"), str)
            or not isinstance(doc.get("url"), str)
            or not _is_int(doc.get("environment_id"))
        ):
            raise _shape_error(what, response)
        return AccountRegion(doc["region"], doc["url"], doc["environment_id"])

    return _Call(client.build_request("GET", "/api/v1/accounts/region"), what, parse)


def _suppress_call(client: _AnyClient, identifier: str) -> _Call[None]:
    path = f"/api/v1/customers/{quote_identifier(identifier)}/suppress"
    return _Call(client.build_request("POST", path, json={}), "suppressing a person", _ignore)


def _delete_call(client: _AnyClient, identifier: str) -> _Call[None]:
    path = f"/api/v1/customers/{quote_identifier(identifier)}"
    return _Call(client.build_request("DELETE", path), "deleting a person", _ignore)


def _batch_call(
    client: _AnyClient, operations: Sequence[Mapping[str, object]]
) -> _Call[BatchResult]:
    what = "the batch request"
    if not operations:
        raise ValueError("a batch needs at least one operation")

    def parse(response: httpx.Response) -> BatchResult:
        if response.status_code != 207:
            return BatchResult(response.status_code)
        doc = _json(response, what)
        items = doc.get("errors") if isinstance(doc, dict) else None
        if not isinstance(items, list):
            raise _shape_error(what, response)
        errors = []
        for item in items:
            if not isinstance(item, dict) or not _is_int(item.get("batch_index")):
                raise _shape_error(what, response)
            texts = [item.get(key) for key in ("reason", "field", "message")]
            if not all(_optional_str(text) for text in texts):
                raise _shape_error(what, response)
            reason, name, message = (text or "" for text in texts)
            errors.append(BatchItemError(item["batch_index"], reason, name, message))
        return BatchResult(response.status_code, tuple(errors))

    body = {"batch": [dict(operation) for operation in operations]}
    return _Call(client.build_request("POST", "/api/v2/batch", json=body), what, parse)


def _workspaces_call(client: _AnyClient) -> _Call[tuple[Workspace, ...]]:
    what = "the workspace list"

    def parse(response: httpx.Response) -> tuple[Workspace, ...]:
        doc = _json(response, what)
        items = doc.get("workspaces") if isinstance(doc, dict) else None
        if not isinstance(items, list) or not all(
            isinstance(item, dict) and _is_int(item.get("id")) and isinstance(item.get("name"), str)
            for item in items
        ):
            raise _shape_error(what, response)
        return tuple(Workspace(item["id"], item["name"]) for item in items)

    return _Call(client.build_request("GET", "/v1/workspaces"), what, parse)


def _customers_by_email_call(client: _AnyClient, email: str) -> _Call[tuple[CustomerRef, ...]]:
    what = "the people lookup by email"
    if not email:
        raise ValueError("an email address must not be empty")

    def parse(response: httpx.Response) -> tuple[CustomerRef, ...]:
        doc = _json(response, what)
        items = doc.get("results") if isinstance(doc, dict) else None
        keys = ("id", "email", "cio_id")
        if not isinstance(items, list) or not all(
            isinstance(item, dict) and all(_optional_str(item.get(key)) for key in keys)
            for item in items
        ):
            raise _shape_error(what, response)
        return tuple(
            CustomerRef(item.get("id"), item.get("email"), item.get("cio_id")) for item in items
        )

    # NOTE: httpx encodes query values completely ("+" becomes %2B); an unencoded "+" would
    # be read as a space and the lookup would silently find nobody.
    request = client.build_request("GET", "/v1/customers", params={"email": email})
    return _Call(request, what, parse)


# --- API wrappers --------------------------------------------------------------------------


class _Sender:
    """Retry settings shared by the synchronous wrappers."""

    _credential = "the credential"

    def __init__(
        self,
        client: httpx.Client,
        *,
        policy: RetryPolicy = DEFAULT_RETRY_POLICY,
        sleep: Callable[[float], object] = time.sleep,
        random: Callable[[], float] = _random.random,
        on_retry: Callable[[RetryEvent], None] | None = None,
    ) -> None:
        self._client = client
        self._policy = policy
        self._sleep = sleep
        self._random = random
        self._on_retry = on_retry

    def _run(self, call: _Call[T]) -> T:
        response = send_with_retry(
            self._client,
            call.request,
            policy=self._policy,
            sleep=self._sleep,
            random=self._random,
            on_retry=self._on_retry,
        )
        check_response(response, what=call.what, credential=self._credential)
        return call.parse(response)


class _AsyncSender:
    """Retry settings shared by the asynchronous wrappers."""

    _credential = "the credential"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        policy: RetryPolicy = DEFAULT_RETRY_POLICY,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        random: Callable[[], float] = _random.random,
        on_retry: Callable[[RetryEvent], None] | None = None,
    ) -> None:
        self._client = client
        self._policy = policy
        self._sleep = sleep
        self._random = random
        self._on_retry = on_retry

    async def _run(self, call: _Call[T]) -> T:
        response = await asend_with_retry(
            self._client,
            call.request,
            policy=self._policy,
            sleep=self._sleep,
            random=self._random,
            on_retry=self._on_retry,
        )
        check_response(response, what=call.what, credential=self._credential)
        return call.parse(response)


class TrackApi(_Sender):
    """The Track API calls cio-sec makes, over a client from `build_track_client`.

    Every method retries transient failures per the policy and raises the errors
    `check_response` documents.
    """

    _credential = _TRACK_CREDENTIAL

    def region(self) -> AccountRegion:
        """Return the region and workspace of the credentials (read-only; a key check).

        Raises:
            CredentialRejectedError: the credentials were rejected.
            RedirectError: the request was redirected (wrong region or base URL).
            RemoteUnavailableError: Customer.io could not be reached or kept failing.
            ApiError: any other error, or a response of an unexpected shape.
        """
        return self._run(_region_call(self._client))

    def suppress(self, identifier: str) -> None:
        """Suppress a person: delete the profile and block the identifier from returning.

        Raises:
            ValueError: the identifier is empty.
            CredentialRejectedError: the credentials were rejected.
            RedirectError: the request was redirected (wrong region or base URL).
            RemoteUnavailableError: Customer.io could not be reached or kept failing.
            ApiError: any other error.
        """
        self._run(_suppress_call(self._client, identifier))

    def delete(self, identifier: str) -> None:
        """Delete a person and their data (a 2xx also when the person does not exist).

        Raises:
            ValueError: the identifier is empty.
            CredentialRejectedError: the credentials were rejected.
            RedirectError: the request was redirected (wrong region or base URL).
            RemoteUnavailableError: Customer.io could not be reached or kept failing.
            ApiError: any other error.
        """
        self._run(_delete_call(self._client, identifier))

    def batch(self, operations: Sequence[Mapping[str, object]]) -> BatchResult:
        """Send operations to ``/api/v2/batch``; a 207 lists the rejected ones.

        Raises:
            ValueError: there are no operations.
            CredentialRejectedError: the credentials were rejected.
            RedirectError: the request was redirected (wrong region or base URL).
            RemoteUnavailableError: Customer.io could not be reached or kept failing.
            ApiError: the whole batch was rejected, or the response had an unexpected shape.
        """
        return self._run(_batch_call(self._client, operations))


class AsyncTrackApi(_AsyncSender):
    """Asynchronous form of `TrackApi`, over a client from `build_async_track_client`."""

    _credential = _TRACK_CREDENTIAL

    async def region(self) -> AccountRegion:
        """Return the region and workspace of the credentials, as `TrackApi.region`.

        Raises:
            CredentialRejectedError, RedirectError, RemoteUnavailableError, ApiError: as
                `TrackApi.region`.
        """
        return await self._run(_region_call(self._client))

    async def suppress(self, identifier: str) -> None:
        """Suppress a person, as `TrackApi.suppress`.

        Raises:
            ValueError, CredentialRejectedError, RedirectError, RemoteUnavailableError,
                ApiError: as `TrackApi.suppress`.
        """
        await self._run(_suppress_call(self._client, identifier))

    async def delete(self, identifier: str) -> None:
        """Delete a person, as `TrackApi.delete`.

        Raises:
            ValueError, CredentialRejectedError, RedirectError, RemoteUnavailableError,
                ApiError: as `TrackApi.delete`.
        """
        await self._run(_delete_call(self._client, identifier))

    async def batch(self, operations: Sequence[Mapping[str, object]]) -> BatchResult:
        """Send a batch, as `TrackApi.batch`.

        Raises:
            ValueError, CredentialRejectedError, RedirectError, RemoteUnavailableError,
                ApiError: as `TrackApi.batch`.
        """
        return await self._run(_batch_call(self._client, operations))


class AppApi(_Sender):
    """The App API calls cio-sec makes, over a client from `build_app_client`."""

    _credential = _APP_CREDENTIAL

    def workspaces(self) -> tuple[Workspace, ...]:
        """Return the workspaces the key can see (read-only; a key check).

        Raises:
            CredentialRejectedError: the key was rejected.
            RedirectError: the request was redirected (wrong region or base URL).
            RemoteUnavailableError: Customer.io could not be reached or kept failing.
            ApiError: any other error, or a response of an unexpected shape.
        """
        return self._run(_workspaces_call(self._client))

    def customers_by_email(self, email: str) -> tuple[CustomerRef, ...]:
        """Return the people whose email address is ``email``.

        Raises:
            ValueError: the email address is empty.
            CredentialRejectedError: the key was rejected.
            RedirectError: the request was redirected (wrong region or base URL).
            RemoteUnavailableError: Customer.io could not be reached or kept failing.
            ApiError: any other error, or a response of an unexpected shape.
        """
        return self._run(_customers_by_email_call(self._client, email))


class AsyncAppApi(_AsyncSender):
    """Asynchronous form of `AppApi`, over a client from `build_async_app_client`."""

    _credential = _APP_CREDENTIAL

    async def workspaces(self) -> tuple[Workspace, ...]:
        """Return the workspaces the key can see, as `AppApi.workspaces`.

        Raises:
            CredentialRejectedError, RedirectError, RemoteUnavailableError, ApiError: as
                `AppApi.workspaces`.
        """
        return await self._run(_workspaces_call(self._client))

    async def customers_by_email(self, email: str) -> tuple[CustomerRef, ...]:
        """Return the people whose email address is ``email``, as `AppApi.customers_by_email`.

        Raises:
            ValueError, CredentialRejectedError, RedirectError, RemoteUnavailableError,
                ApiError: as `AppApi.customers_by_email`.
        """
        return await self._run(_customers_by_email_call(self._client, email))
