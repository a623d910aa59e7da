"""Each endpoint cio-sec calls: the request to send and the parser for its answer.

The sync and async wrappers in `cio_sec.client.api` share these, so each call exists once.
The erasing calls are public too: `cio_sec.erase` drives its own send loop (every attempt
waits for its shared rate limiter) over the same requests and parsers.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

from cio_sec.client.results import (
    AccountRegion,
    BatchItemError,
    BatchResult,
    CustomerRef,
    SearchPage,
    Workspace,
)
from cio_sec.client.urls import _host, quote_identifier
from cio_sec.errors import ApiError

T = TypeVar("T")

_AnyClient = httpx.Client | httpx.AsyncClient


@dataclass(frozen=True)
class Call(Generic[T]):
    """A request ready to send, what it is called in messages, and its response parser."""

    request: httpx.Request
    what: str
    parse: Callable[[httpx.Response], T] = field(repr=False)
    handled: frozenset[int] = frozenset()
    """Unsuccessful statuses the parser answers itself (a read-back's 404 means "gone")."""


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


REGION_FIELDS = ("region", "url", "environment_id")


def _workspace_id(value: object) -> str | None:
    """A workspace id as text: integers and non-empty strings; anything else is no id."""
    if _is_int(value):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _region_call(client: _AnyClient, needs: Collection[str]) -> Call[AccountRegion]:
    what = "the region lookup"
    unknown = set(needs) - set(REGION_FIELDS)
    if unknown:
        raise ValueError(f"no such region field: {', '.join(sorted(unknown))}")

    def parse(response: httpx.Response) -> AccountRegion:
        doc = _json(response, what)
        if not isinstance(doc, dict):
            raise _shape_error(what, response)
        region = doc.get("region")
        url = doc.get("url")
        account = AccountRegion(
            region=region.strip().lower() if isinstance(region, str) and region.strip() else None,
            url=url if isinstance(url, str) and url else None,
            environment_id=_workspace_id(doc.get("environment_id")),
        )
        missing = [
            name for name in REGION_FIELDS if name in needs and getattr(account, name) is None
        ]
        if missing:
            raise ApiError(
                f"{what}: {_host(response.request.url)} answered without "
                f"{' and '.join(missing)}, which cio-sec needs here",
                status=response.status_code,
                hint="the API may have changed; run with --debug and report it",
            )
        return account

    return Call(client.build_request("GET", "/api/v1/accounts/region"), what, parse)


def suppress_call(client: _AnyClient, identifier: str) -> Call[None]:
    """``POST /api/v1/customers/{identifier}/suppress``, the identifier one encoded segment.

    Raises:
        ValueError: the identifier is empty or not valid Unicode text.
    """
    path = f"/api/v1/customers/{quote_identifier(identifier)}/suppress"
    return Call(client.build_request("POST", path, json={}), "suppressing a person", _ignore)


def delete_call(client: _AnyClient, identifier: str) -> Call[None]:
    """``DELETE /api/v1/customers/{identifier}``, the identifier one encoded segment.

    Raises:
        ValueError: the identifier is empty or not valid Unicode text.
    """
    path = f"/api/v1/customers/{quote_identifier(identifier)}"
    return Call(client.build_request("DELETE", path), "deleting a person", _ignore)


def unset_attributes_call(
    client: _AnyClient, identifier: str, names: Sequence[str], empty: object = ""
) -> Call[None]:
    """``PUT /api/v1/customers/{identifier}`` setting each named attribute to ``empty``.

    An identify call with an attribute set to an empty value removes that attribute
    (``empty`` is configurable because Customer.io's documentation found does not say
    whether ``null`` works as well). ``_update: true`` keeps the call from creating a
    person the identifier does not name.

    Raises:
        ValueError: no attribute name, or the identifier is empty or not valid text.
    """
    if not names:
        raise ValueError("name at least one attribute to remove")
    body: dict[str, object] = dict.fromkeys(names, empty)
    body["_update"] = True
    path = f"/api/v1/customers/{quote_identifier(identifier)}"
    request = client.build_request("PUT", path, json=body)
    return Call(request, "removing attributes from a person", _ignore)


def batch_call(client: _AnyClient, operations: Sequence[Mapping[str, object]]) -> Call[BatchResult]:
    """``POST /api/v2/batch`` with the operations; its parser maps a 207's item errors.

    Raises:
        ValueError: there are no operations.
    """
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
    return Call(client.build_request("POST", "/api/v2/batch", json=body), what, parse)


def _workspaces_call(client: _AnyClient) -> Call[tuple[Workspace, ...]]:
    what = "the workspace list"

    def parse(response: httpx.Response) -> tuple[Workspace, ...]:
        doc = _json(response, what)
        items = doc.get("workspaces") if isinstance(doc, dict) else None
        if not isinstance(items, list) or not all(
            isinstance(item, dict)
            and _workspace_id(item.get("id")) is not None
            and _optional_str(item.get("name"))
            for item in items
        ):
            raise _shape_error(what, response)
        return tuple(
            Workspace(
                str(_workspace_id(item["id"])),
                item.get("name") or "",
                _region_of(item.get("region")),
            )
            for item in items
        )

    return Call(client.build_request("GET", "/v1/workspaces"), what, parse)


def _region_of(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _customers_by_email_call(client: _AnyClient, email: str) -> Call[tuple[CustomerRef, ...]]:
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
    return Call(request, what, parse)


READ_BACK_ID_TYPES = frozenset({"id", "email", "cio_id"})


def person_present_call(client: _AnyClient, identifier: str, id_type: str) -> Call[bool]:
    """``GET /v1/customers/{identifier}/attributes?id_type=…``: is the person still there?

    The parser answers True for a 200 holding a customer and False for a 404 (the only
    proof that a person is gone: a Track API 2xx proves nothing). ``identifier`` is the
    plain value (a cio_id without its ``cio_`` prefix), one encoded path segment.

    Raises:
        ValueError: the identifier is empty or not valid Unicode text, or the id type is
            not ``id``, ``email`` or ``cio_id``.
    """
    what = "the read-back of a person"
    if id_type not in READ_BACK_ID_TYPES:
        raise ValueError(f"unknown identifier type {id_type!r}")

    def parse(response: httpx.Response) -> bool:
        if response.status_code == 404:
            return False
        doc = _json(response, what)
        if not isinstance(doc, dict) or not isinstance(doc.get("customer"), dict):
            raise _shape_error(what, response)
        return True

    path = f"/v1/customers/{quote_identifier(identifier)}/attributes"
    request = client.build_request("GET", path, params={"id_type": id_type})
    return Call(request, what, parse, frozenset({404}))


def person_attributes_call(
    client: _AnyClient, identifier: str, id_type: str
) -> Call[dict[str, object] | None]:
    """``GET /v1/customers/{identifier}/attributes?id_type=…``: a person's attributes.

    The parser answers the ``customer.attributes`` object, or None for a 404 (no such
    person).

    Raises:
        ValueError: as `person_present_call`.
    """
    what = "the read-back of a person's attributes"
    if id_type not in READ_BACK_ID_TYPES:
        raise ValueError(f"unknown identifier type {id_type!r}")

    def parse(response: httpx.Response) -> dict[str, object] | None:
        if response.status_code == 404:
            return None
        doc = _json(response, what)
        customer = doc.get("customer") if isinstance(doc, dict) else None
        attributes = customer.get("attributes", {}) if isinstance(customer, dict) else None
        if not isinstance(attributes, dict):
            raise _shape_error(what, response)
        return attributes

    path = f"/v1/customers/{quote_identifier(identifier)}/attributes"
    request = client.build_request("GET", path, params={"id_type": id_type})
    return Call(request, what, parse, frozenset({404}))


MAX_SEARCH_LIMIT = 1000
"""The most people one search page may hold (Customer.io's limit)."""


def search_call(
    client: _AnyClient,
    filter: Mapping[str, object],
    *,
    limit: int = MAX_SEARCH_LIMIT,
    start: str | None = None,
) -> Call[SearchPage]:
    """``POST /v1/customers?limit=…&start=…`` with ``{"filter": …}``: one page of people.

    The answer's ``identifiers`` (objects with ``id``, ``email``, ``cio_id``) are preferred;
    an answer with only ``ids`` gives people known by id alone.

    Raises:
        ValueError: an empty filter, or a limit outside 1-1000.
    """
    what = "the people search"
    if not filter:
        raise ValueError("a search needs a filter")
    if not 1 <= limit <= MAX_SEARCH_LIMIT:
        raise ValueError(f"the search limit must be 1-{MAX_SEARCH_LIMIT}, not {limit}")

    def parse(response: httpx.Response) -> SearchPage:
        doc = _json(response, what)
        if not isinstance(doc, dict):
            raise _shape_error(what, response)
        people = _search_people(doc)
        cursor = doc.get("next")
        if people is None or not (cursor is None or isinstance(cursor, str)):
            raise _shape_error(what, response)
        return SearchPage(people, cursor or None)

    params: dict[str, str | int] = {"limit": limit}
    if start:
        params["start"] = start
    body = {"filter": dict(filter)}
    request = client.build_request("POST", "/v1/customers", params=params, json=body)
    return Call(request, what, parse)


def _search_people(doc: dict[str, Any]) -> tuple[CustomerRef, ...] | None:
    """The people of a search answer; None when neither list has the documented shape."""
    identifiers = doc.get("identifiers")
    if isinstance(identifiers, list):
        people = [_identifiers(item) for item in identifiers]
        return None if None in people else tuple(p for p in people if p is not None)
    ids = doc.get("ids")
    if isinstance(ids, list):
        texts = [_identifier_text(value) for value in ids]
        return None if None in texts else tuple(CustomerRef(t, None, None) for t in texts)
    return None


def _identifiers(item: object) -> CustomerRef | None:
    if not isinstance(item, dict):
        return None
    values = [item.get(key) for key in ("id", "email", "cio_id")]
    if not all(value is None or _identifier_text(value) is not None for value in values):
        return None
    person_id, email, cio_id = (None if v is None else _identifier_text(v) for v in values)
    if person_id is None and email is None and cio_id is None:
        return None
    return CustomerRef(person_id, email, cio_id)


def _identifier_text(value: object) -> str | None:
    """An identifier as text, exactly as sent: integers and non-empty strings."""
    if _is_int(value):
        return str(value)
    return value if isinstance(value, str) and value else None
