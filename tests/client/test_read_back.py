"""The read-back call: a person is there (200) or gone (404), by any identifier type."""

from __future__ import annotations

import asyncio

import pytest

from cio_sec.client import AppApi, AsyncAppApi, build_app_client, build_async_app_client
from cio_sec.errors import ApiError
from cio_sec.sandbox import Sandbox
from tests.client.conftest import APP_KEY, ScriptedServer


def test_present_then_gone_over_the_wire(sb: Sandbox) -> None:
    info = sb.info
    sb.add_person("a b/c", {"plan": "pro"})
    with build_app_client(info.app_url, info.app_api_key) as http:
        api = AppApi(http)
        assert api.person_present("a b/c", "id") is True
        assert api.person_present("nobody", "id") is False
    paths = [(r.method, r.path) for r in sb.requests()]
    assert paths == [
        ("GET", "/v1/customers/a%20b%2Fc/attributes"),
        ("GET", "/v1/customers/nobody/attributes"),
    ]

    async def by_email() -> bool:  # nobody has that email
        async with build_async_app_client(info.app_url, info.app_api_key) as http:
            return await AsyncAppApi(http).person_present("a b/c", "email")

    assert asyncio.run(by_email()) is False


def test_a_read_back_of_an_unexpected_shape_or_type_is_refused(scripted: ScriptedServer) -> None:
    scripted.body = b'{"customers": []}'
    with build_app_client(scripted.url, APP_KEY) as http:
        with pytest.raises(ApiError, match="unexpected response shape"):
            AppApi(http).person_present("p-1", "id")
        with pytest.raises(ValueError, match="unknown identifier type"):
            AppApi(http).person_present("p-1", "phone")
    assert scripted.paths == ["/v1/customers/p-1/attributes?id_type=id"]
