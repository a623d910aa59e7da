"""The Track and App API wrappers, sync and async: send with retries, check, parse."""

from __future__ import annotations

import asyncio
import random as _random
import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterator,
    Mapping,
    Sequence,
)
from typing import TypeVar

import httpx

from cio_sec.client.calls import (
    MAX_SEARCH_LIMIT,
    Call,
    _customers_by_email_call,
    _region_call,
    _workspaces_call,
    batch_call,
    delete_call,
    person_attributes_call,
    person_present_call,
    search_call,
    suppress_call,
)
from cio_sec.client.responses import check_response, cursor_repeated
from cio_sec.client.results import (
    AccountRegion,
    BatchResult,
    CustomerRef,
    SearchPage,
    Workspace,
)
from cio_sec.client.retry import (
    DEFAULT_RETRY_POLICY,
    RateLimiterHook,
    RetryEvent,
    RetryPolicy,
    asend_with_retry,
    send_with_retry,
)

T = TypeVar("T")

_TRACK_CREDENTIAL = "the Track API credentials (site ID and API key)"
_APP_CREDENTIAL = "the App API key"


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

    def _run(self, call: Call[T]) -> T:
        response = send_with_retry(
            self._client,
            call.request,
            policy=self._policy,
            sleep=self._sleep,
            random=self._random,
            on_retry=self._on_retry,
        )
        if response.status_code not in call.handled:
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
        limiter: RateLimiterHook | None = None,
    ) -> None:
        self._client = client
        self._policy = policy
        self._sleep = sleep
        self._random = random
        self._on_retry = on_retry
        self._limiter = limiter

    async def _run(self, call: Call[T]) -> T:
        response = await asend_with_retry(
            self._client,
            call.request,
            policy=self._policy,
            sleep=self._sleep,
            random=self._random,
            on_retry=self._on_retry,
            limiter=self._limiter,
        )
        if response.status_code not in call.handled:
            check_response(response, what=call.what, credential=self._credential)
        return call.parse(response)


class TrackApi(_Sender):
    """The Track API calls cio-sec makes, over a client from `build_track_client`.

    Every method retries transient failures per the policy and raises the errors
    `check_response` documents.
    """

    _credential = _TRACK_CREDENTIAL

    def region(self, needs: Collection[str] = ("region",)) -> AccountRegion:
        """Return the region and workspace of the credentials (read-only; a key check).

        ``needs`` names the fields (``region``, ``url``, ``environment_id``) the caller
        cannot do without; any other field may be None.

        Raises:
            ValueError: ``needs`` names an unknown field.
            CredentialRejectedError: the credentials were rejected.
            RedirectError: the request was redirected (wrong region or base URL).
            RemoteUnavailableError: Customer.io could not be reached or kept failing.
            ApiError: any other error, a response of an unexpected shape, or one without
                a needed field.
        """
        return self._run(_region_call(self._client, needs))

    def suppress(self, identifier: str) -> None:
        """Suppress a person: delete the profile and block the identifier from returning.

        Raises:
            ValueError: the identifier is empty.
            CredentialRejectedError: the credentials were rejected.
            RedirectError: the request was redirected (wrong region or base URL).
            RemoteUnavailableError: Customer.io could not be reached or kept failing.
            ApiError: any other error.
        """
        self._run(suppress_call(self._client, identifier))

    def delete(self, identifier: str) -> None:
        """Delete a person and their data (a 2xx also when the person does not exist).

        Raises:
            ValueError: the identifier is empty.
            CredentialRejectedError: the credentials were rejected.
            RedirectError: the request was redirected (wrong region or base URL).
            RemoteUnavailableError: Customer.io could not be reached or kept failing.
            ApiError: any other error.
        """
        self._run(delete_call(self._client, identifier))

    def batch(self, operations: Sequence[Mapping[str, object]]) -> BatchResult:
        """Send operations to ``/api/v2/batch``; a 207 lists the rejected ones.

        Raises:
            ValueError: there are no operations.
            CredentialRejectedError: the credentials were rejected.
            RedirectError: the request was redirected (wrong region or base URL).
            RemoteUnavailableError: Customer.io could not be reached or kept failing.
            ApiError: the whole batch was rejected, or the response had an unexpected shape.
        """
        return self._run(batch_call(self._client, operations))


class AsyncTrackApi(_AsyncSender):
    """Asynchronous form of `TrackApi`, over a client from `build_async_track_client`."""

    _credential = _TRACK_CREDENTIAL

    async def region(self, needs: Collection[str] = ("region",)) -> AccountRegion:
        """Return the region and workspace of the credentials, as `TrackApi.region`.

        Raises:
            ValueError, CredentialRejectedError, RedirectError, RemoteUnavailableError,
                ApiError: as `TrackApi.region`.
        """
        return await self._run(_region_call(self._client, needs))

    async def suppress(self, identifier: str) -> None:
        """Suppress a person, as `TrackApi.suppress`.

        Raises:
            ValueError, CredentialRejectedError, RedirectError, RemoteUnavailableError,
                ApiError: as `TrackApi.suppress`.
        """
        await self._run(suppress_call(self._client, identifier))

    async def delete(self, identifier: str) -> None:
        """Delete a person, as `TrackApi.delete`.

        Raises:
            ValueError, CredentialRejectedError, RedirectError, RemoteUnavailableError,
                ApiError: as `TrackApi.delete`.
        """
        await self._run(delete_call(self._client, identifier))

    async def batch(self, operations: Sequence[Mapping[str, object]]) -> BatchResult:
        """Send a batch, as `TrackApi.batch`.

        Raises:
            ValueError, CredentialRejectedError, RedirectError, RemoteUnavailableError,
                ApiError: as `TrackApi.batch`.
        """
        return await self._run(batch_call(self._client, operations))


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

    def person_present(self, identifier: str, id_type: str) -> bool:
        """Read a person back: True while they exist, False once the App API answers 404.

        Raises:
            ValueError: the identifier is empty or the id type unknown.
            CredentialRejectedError: the key was rejected.
            RedirectError: the request was redirected (wrong region or base URL).
            RemoteUnavailableError: Customer.io could not be reached or kept failing.
            ApiError: any other error (400: the id type is not enabled in the workspace),
                or a response of an unexpected shape.
        """
        return self._run(person_present_call(self._client, identifier, id_type))

    def search_page(
        self,
        filter: Mapping[str, object],
        *,
        limit: int = MAX_SEARCH_LIMIT,
        start: str | None = None,
    ) -> SearchPage:
        """Return one page of the people a filter finds (``POST /v1/customers``).

        Raises:
            ValueError: an empty filter, or a limit outside 1-1000.
            CredentialRejectedError: the key was rejected.
            RedirectError: the request was redirected (wrong region or base URL).
            RemoteUnavailableError: Customer.io could not be reached or kept failing.
            ApiError: any other error (a filter Customer.io refuses), or a response of an
                unexpected shape.
        """
        return self._run(search_call(self._client, filter, limit=limit, start=start))

    def search(
        self, filter: Mapping[str, object], *, limit: int = MAX_SEARCH_LIMIT
    ) -> Iterator[CustomerRef]:
        """Yield every person a filter finds, page after page (``limit`` per request).

        Raises:
            ValueError, CredentialRejectedError, RedirectError, RemoteUnavailableError,
                ApiError: as `search_page`; ApiError too when a cursor comes back again.
        """
        start: str | None = None
        seen: set[str] = set()
        while True:
            page = self.search_page(filter, limit=limit, start=start)
            yield from page.people
            if page.next is None:
                return
            if page.next in seen:
                raise cursor_repeated("the people search", self._client.base_url)
            seen.add(page.next)
            start = page.next


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

    async def person_present(self, identifier: str, id_type: str) -> bool:
        """Read a person back, as `AppApi.person_present`.

        Raises:
            ValueError, CredentialRejectedError, RedirectError, RemoteUnavailableError,
                ApiError: as `AppApi.person_present`.
        """
        return await self._run(person_present_call(self._client, identifier, id_type))

    async def person_attributes(self, identifier: str, id_type: str) -> dict[str, object] | None:
        """Read a person's attributes back; None once the App API answers 404.

        Raises:
            ValueError, CredentialRejectedError, RedirectError, RemoteUnavailableError,
                ApiError: as `AppApi.person_present`.
        """
        return await self._run(person_attributes_call(self._client, identifier, id_type))

    async def search_page(
        self,
        filter: Mapping[str, object],
        *,
        limit: int = MAX_SEARCH_LIMIT,
        start: str | None = None,
    ) -> SearchPage:
        """Return one page of the people a filter finds, as `AppApi.search_page`.

        Raises:
            ValueError, CredentialRejectedError, RedirectError, RemoteUnavailableError,
                ApiError: as `AppApi.search_page`.
        """
        return await self._run(search_call(self._client, filter, limit=limit, start=start))

    async def search(
        self, filter: Mapping[str, object], *, limit: int = MAX_SEARCH_LIMIT
    ) -> AsyncIterator[CustomerRef]:
        """Yield every person a filter finds, page after page, as `AppApi.search`.

        Raises:
            ValueError, CredentialRejectedError, RedirectError, RemoteUnavailableError,
                ApiError: as `AppApi.search`.
        """
        start: str | None = None
        seen: set[str] = set()
        while True:
            page = await self.search_page(filter, limit=limit, start=start)
            for person in page.people:
                yield person
            if page.next is None:
                return
            if page.next in seen:
                raise cursor_repeated("the people search", self._client.base_url)
            seen.add(page.next)
            start = page.next
