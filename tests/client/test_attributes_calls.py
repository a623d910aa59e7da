"""The attribute calls: removing attributes by identify, and reading them back."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from cio_sec.client import (
    AsyncAppApi,
    build_async_app_client,
    unset_attributes_call,
)
from cio_sec.errors import ApiError
from cio_sec.sandbox import Sandbox
from tests.client.conftest import APP_KEY, ScriptedServer


def test_the_removal_request_empties_the_names_and_never_creates() -> None:
    with httpx.Client(base_url="https://track.customer.io") as http:
        call = unset_attributes_call(http, "a b/c", ["ssn", "cardNumber"], None)
        assert call.request.method == "PUT"
        assert call.request.url.raw_path == b"/api/v1/customers/a%20b%2Fc"
        assert json.loads(call.request.content) == {
            "ssn": None,
            "cardNumber": None,
            "_update": True,
        }
        with pytest.raises(ValueError, match="at least one attribute"):
            unset_attributes_call(http, "a", [])


def test_attributes_are_read_back_or_none_for_nobody(sandbox: Sandbox) -> None:
    sandbox.add_person("a", {"ssn": "900-00-0001"})
    info = sandbox.info

    async def read(identifier: str) -> dict[str, object] | None:
        async with build_async_app_client(info.app_url, info.app_api_key) as http:
            return await AsyncAppApi(http).person_attributes(identifier, "id")

    assert asyncio.run(read("a")) == {"ssn": "900-00-0001", "id": "a", "cio_id": "a3000001"}
    assert asyncio.run(read("nobody")) is None

    async def unknown_type() -> None:
        async with build_async_app_client(info.app_url, info.app_api_key) as http:
            await AsyncAppApi(http).person_attributes("a", "phone")

    with pytest.raises(ValueError, match="unknown identifier type"):
        asyncio.run(unknown_type())


@pytest.mark.parametrize("body", [b'{"customer": {"attributes": []}}', b"[]", b'{"x": 1}'])
def test_an_attributes_answer_of_another_shape_is_refused(
    scripted: ScriptedServer, body: bytes
) -> None:
    scripted.body = body

    async def read() -> None:
        async with build_async_app_client(scripted.url, APP_KEY) as http:
            await AsyncAppApi(http).person_attributes("a", "id")

    with pytest.raises(ApiError, match="unexpected response shape"):
        asyncio.run(read())
