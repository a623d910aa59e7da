"""The people search (``POST /v1/customers``): one page, and every page, over real HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cio_sec.client import (
    MAX_SEARCH_LIMIT,
    AppApi,
    AsyncAppApi,
    CustomerRef,
    SearchPage,
    build_app_client,
    build_async_app_client,
)
from cio_sec.errors import ApiError
from cio_sec.sandbox import Sandbox
from tests.client.conftest import APP_KEY
from tests.support.loopback import serve

FILTER = {"and": [{"attribute": {"field": "plan", "operator": "eq", "value": "gone"}}]}


@dataclass
class PagingServer:
    """Answers ``POST /v1/customers`` with the page stored under the request's ``start``."""

    pages: dict[str, bytes] = field(default_factory=dict)
    seen: list[tuple[dict[str, list[str]], object]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def paging() -> Iterator[PagingServer]:
    with _paging_server() as state:
        yield state


@contextmanager
def _paging_server() -> Iterator[PagingServer]:
    state = PagingServer()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            query = parse_qs(parts.query)
            state.seen.append((query, json.loads(self.rfile.read(length))))
            found = parts.path == "/v1/customers"
            body = state.pages.get(query.get("start", [""])[0], b"") if found else b"{}"
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serve(Handler) as url:
        state.url = url
        yield state


def _page(people: list[dict[str, object]], cursor: str | None) -> bytes:
    ids = [person.get("id") for person in people]
    return json.dumps({"identifiers": people, "ids": ids, "next": cursor}).encode()


def test_every_page_is_read_with_its_cursor_and_the_filter(paging: PagingServer) -> None:
    paging.pages = {
        "": _page([{"id": "a", "email": "a@example.com", "cio_id": "c1"}], "p2"),
        "p2": _page([{"id": 2, "email": None, "cio_id": "c2"}, {"email": "b@example.com"}], "p3"),
        "p3": _page([], ""),
    }
    with build_app_client(paging.url, APP_KEY) as client:
        people = list(AppApi(client).search(FILTER, limit=2))
    assert people == [
        CustomerRef("a", "a@example.com", "c1"),
        CustomerRef("2", None, "c2"),
        CustomerRef(None, "b@example.com", None),
    ]
    assert [query for query, _ in paging.seen] == [
        {"limit": ["2"]},
        {"limit": ["2"], "start": ["p2"]},
        {"limit": ["2"], "start": ["p3"]},
    ]
    assert all(body == {"filter": FILTER} for _, body in paging.seen)


def test_an_answer_with_ids_only_gives_people_by_id(paging: PagingServer) -> None:
    paging.pages = {"": b'{"ids": ["a", 7], "next": null}'}
    with build_app_client(paging.url, APP_KEY) as client:
        page = AppApi(client).search_page(FILTER)
    assert page == SearchPage((CustomerRef("a", None, None), CustomerRef("7", None, None)), None)
    assert paging.seen[0][0] == {"limit": [str(MAX_SEARCH_LIMIT)]}


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b"{}",
        b'{"identifiers": [{}], "next": null}',
        b'{"identifiers": ["a"]}',
        b'{"identifiers": [{"id": ""}]}',
        b'{"identifiers": [{"id": ["x"]}]}',
        b'{"ids": [null]}',
        b'{"ids": ["a"], "next": 5}',
    ],
)
def test_an_unexpected_search_answer_is_an_api_error(paging: PagingServer, body: bytes) -> None:
    paging.pages = {"": body}
    with (
        build_app_client(paging.url, APP_KEY) as client,
        pytest.raises(ApiError, match=r"the people search: .* unexpected response shape"),
    ):
        AppApi(client).search_page(FILTER)


def test_a_cursor_that_comes_back_ends_the_search_with_an_error(paging: PagingServer) -> None:
    paging.pages = {"": _page([{"id": "a"}], "p2"), "p2": _page([{"id": "b"}], "p2")}
    found: list[CustomerRef] = []
    with (
        build_app_client(paging.url, APP_KEY) as client,
        pytest.raises(ApiError, match="returned a page cursor it had returned before"),
    ):
        found.extend(AppApi(client).search(FILTER))
    assert [person.id for person in found] == ["a", "b"]
    assert len(paging.seen) == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"filter": {}}, "a search needs a filter"),
        ({"filter": FILTER, "limit": 0}, "the search limit must be 1-1000, not 0"),
        ({"filter": FILTER, "limit": 1001}, "the search limit must be 1-1000, not 1001"),
    ],
)
def test_a_bad_search_is_refused_before_it_is_sent(
    paging: PagingServer, kwargs: dict[str, object], message: str
) -> None:
    with (
        build_app_client(paging.url, APP_KEY) as client,
        pytest.raises(ValueError, match=message),
    ):
        AppApi(client).search_page(**kwargs)  # type: ignore[arg-type]
    assert paging.seen == []


def test_the_async_search_reads_every_page(paging: PagingServer) -> None:
    paging.pages = {"": _page([{"id": "a"}], "p2"), "p2": _page([{"id": "b"}], None)}

    async def scenario() -> list[CustomerRef]:
        async with build_async_app_client(paging.url, APP_KEY) as client:
            return [person async for person in AsyncAppApi(client).search(FILTER, limit=1)]

    assert [person.id for person in asyncio.run(scenario())] == ["a", "b"]


def test_the_async_search_stops_on_a_repeated_cursor(paging: PagingServer) -> None:
    paging.pages = {"": _page([{"id": "a"}], "p2"), "p2": _page([], "p2")}

    async def scenario() -> list[CustomerRef]:
        async with build_async_app_client(paging.url, APP_KEY) as client:
            return [person async for person in AsyncAppApi(client).search(FILTER)]

    with pytest.raises(ApiError, match="page cursor"):
        asyncio.run(scenario())


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(0, 5), min_size=1, max_size=6))
def test_the_search_yields_each_page_once_in_order(sizes: list[int]) -> None:
    with _paging_server() as paging:
        n = 0
        for index, size in enumerate(sizes):
            people: list[dict[str, object]] = [{"id": f"p{n + k}"} for k in range(size)]
            n += size
            cursor = f"c{index + 1}" if index + 1 < len(sizes) else None
            paging.pages["" if index == 0 else f"c{index}"] = _page(people, cursor)
        with build_app_client(paging.url, APP_KEY) as client:
            ids = [person.id for person in AppApi(client).search(FILTER)]
    assert ids == [f"p{k}" for k in range(n)]
    assert len(paging.seen) == len(sizes)


def test_the_search_pages_through_the_sandbox(sb: Sandbox) -> None:
    for n in range(23):
        sb.add_person(f"gone-{n}", {"plan": "gone"})
    sb.add_person("stays", {"plan": "kept"})
    gone = {"attribute": {"field": "plan", "operator": "eq", "value": "gone"}}
    with build_app_client(sb.info.app_url, sb.info.app_api_key) as client:
        people = list(AppApi(client).search(gone, limit=10))
    assert sorted(person.id or "" for person in people) == sorted(f"gone-{n}" for n in range(23))
    assert all(person.cio_id for person in people)
    searches = [r for r in sb.requests() if r.method == "POST"]
    assert [r.status for r in searches] == [200, 200, 200]
    assert all("limit=10" in r.query for r in searches)


def test_a_filter_the_sandbox_refuses_is_an_api_error(sb: Sandbox) -> None:
    with (
        build_app_client(sb.info.app_url, sb.info.app_api_key) as client,
        pytest.raises(ApiError, match="the people search failed") as caught,
    ):
        AppApi(client).search_page({"segment": {"id": 7}})
    assert caught.value.status == 400
