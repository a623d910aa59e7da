"""When a request is sent again and after how long: the retry policy and the send loops."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import random as _random
import re
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

import httpx

from cio_sec.client.urls import _host
from cio_sec.errors import RemoteUnavailableError

# NOTE: the whole package logs as "cio_sec.client", its name before it became a package;
# log filters and the tests select on it, so no module uses __name__.
logger = logging.getLogger("cio_sec.client")

_DELTA_SECONDS = re.compile(r"[+-]?\d+(?:\.\d+)?")


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
    retry_statuses: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504, 522, 524})
    """Statuses worth another attempt; any other status is final at once. 522 and 524 are
    edge timeouts (with HTML bodies), retried as Customer.io's own SDKs do."""

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


class RateLimiterHook(Protocol):
    """What the asynchronous send loop asks of a shared rate limiter (erase's, verify's)."""

    async def acquire(self) -> None:
        """Wait for the slot of the next attempt."""

    def throttled(self, retry_after: float | None) -> None:
        """The server answered 429, with ``Retry-After`` seconds if it gave them."""


@dataclass(frozen=True)
class Sent:
    """The final response of a request and how many attempts it took."""

    response: httpx.Response
    attempts: int


class TransportFailedError(RemoteUnavailableError):
    """A transport failure that was not transient or outlasted every attempt."""

    def __init__(self, message: str, *, attempts: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.attempts = attempts


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
        limiter: RateLimiterHook | None = None,
    ) -> None:
        self._request = request
        self._limiter = limiter
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
        header = response.headers.get("Retry-After")
        retry_after = self._policy.parse_retry_after(header, now=self._now())
        if status == 429 and self._limiter is not None:
            self._limiter.throttled(retry_after)
        if self.attempt >= self._policy.max_attempts:
            logger.debug(
                "giving up on %s %s: HTTP %d after %d attempts",
                self._request.method,
                _host(self._request.url),
                status,
                self.attempt,
            )
            return None
        return self._schedule(f"HTTP {status}", retry_after, status=status, error=None)

    def after_exception(self, exc: httpx.HTTPError) -> float:
        """Return the wait before sending again after a transport failure.

        Raises:
            TransportFailedError: the failure is not transient or no attempts are left.
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
            raise TransportFailedError(
                f"could not reach Customer.io at {host}: {_describe(exc)} "
                f"(attempt {self.attempt} of {self._policy.max_attempts})",
                attempts=self.attempt,
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
    limiter: RateLimiterHook | None = None,
) -> httpx.Response:
    """Asynchronous form of `send_with_retry`, with the same rules and results.

    Raises:
        RemoteUnavailableError: as `send_with_retry`.
    """
    sent = await asend_counted(
        client,
        request,
        policy=policy,
        sleep=sleep,
        random=random,
        now=now,
        on_retry=on_retry,
        limiter=limiter,
    )
    return sent.response


async def asend_counted(
    client: httpx.AsyncClient,
    request: httpx.Request,
    *,
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    random: Callable[[], float] = _random.random,
    now: Callable[[], datetime] = _utcnow,
    on_retry: Callable[[RetryEvent], None] | None = None,
    limiter: RateLimiterHook | None = None,
) -> Sent:
    """The one asynchronous send loop: `asend_with_retry`, also saying how many attempts.

    With a ``limiter``, every attempt first waits for its slot, and every 429 is reported
    to it (with the ``Retry-After`` seconds), so a shared limiter slows all its callers.

    Raises:
        TransportFailedError: as `send_with_retry` (a `RemoteUnavailableError`).
    """
    state = _RetryState(request, policy, random=random, now=now, on_retry=on_retry, limiter=limiter)
    while True:
        if limiter is not None:
            await limiter.acquire()
        try:
            response = await client.send(request)
        except httpx.HTTPError as exc:
            wait = state.after_exception(exc)
        else:
            decision = state.after_response(response)
            if decision is None:
                return Sent(response, state.attempt)
            wait = decision
        await sleep(wait)
