"""Finding who holds an attribute: the App API search, at the App API's rate.

Every request (retries included) waits for the App API limiter that erase's read-backs use,
so a search of a large workspace stays under Customer.io's 10 requests per second.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

from cio_sec.erase.verify import app_limiter, paced_app_api
from cio_sec.purge.names import exists_filter, spellings

if TYPE_CHECKING:
    from cio_sec.client import AsyncAppApi, CustomerRef
    from cio_sec.settings import Settings
    from cio_sec.stores.chain import StoreOpener


@contextlib.asynccontextmanager
async def open_app_api(
    settings: Settings, opener: StoreOpener, rate: float
) -> AsyncIterator[AsyncAppApi]:
    """The App API wrappers, paced at ``rate`` requests per second.

    Raises:
        SecretMissingError: no App API key is stored.
        SecretStoreUnavailableError: no key found and some store could not be read.
    """
    from cio_sec import client
    from cio_sec.stores.chain import require

    key = require(settings, "app_api_key", opener).value or ""
    base_url = client.app_base_url(settings.region, settings.app_url)
    async with client.build_async_app_client(base_url, key, timeout=settings.timeout) as http:
        yield paced_app_api(http, app_limiter(rate))


async def holders(app: AsyncAppApi, fields: Sequence[str]) -> list[CustomerRef]:
    """Everyone who holds any of the attributes named ``fields`` (exact names).

    Raises:
        CredentialRejectedError, RedirectError, RemoteUnavailableError, ApiError: as
            `AsyncAppApi.search`.
    """
    return [person async for person in app.search(exists_filter(list(fields)))]


async def count_never_send(app: AsyncAppApi, names: Sequence[str]) -> dict[str, int]:
    """How many people hold each never-send name, in any of its spellings.

    A person holding two spellings of one name (``ssn`` and ``SSN``) counts once.

    Raises:
        CredentialRejectedError, RedirectError, RemoteUnavailableError, ApiError: as
            `AsyncAppApi.search`.
    """
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = len(await holders(app, spellings(name)))
    return counts
