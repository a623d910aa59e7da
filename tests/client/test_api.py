"""Tests for cio_sec.client.api: the sync and async wrappers against the sandbox."""

from __future__ import annotations

import asyncio

from cio_sec.client import (
    AccountRegion,
    AppApi,
    AsyncAppApi,
    AsyncTrackApi,
    BatchItemError,
    BatchResult,
    TrackApi,
    Workspace,
    app_base_url,
    build_app_client,
    build_async_app_client,
    build_async_track_client,
    build_track_client,
    track_base_url,
)
from cio_sec.sandbox import Faults, Sandbox
from tests.client.conftest import (
    AWKWARD_IDENTIFIERS,
    must_not_sleep,
    no_random,
    sandbox_list,
    track_api,
)

# --- Track API -----------------------------------------------------------------------------


def test_region_over_the_wire(sb: Sandbox) -> None:
    info = sb.info
    base_url = track_base_url("us", info.track_url)
    with build_track_client(base_url, info.site_id, info.track_api_key) as client:
        account = TrackApi(client).region()
    assert account == AccountRegion(region="us", url=info.track_url, environment_id="1001")
    (request,) = sb.requests()
    assert (request.method, request.path, request.query) == ("GET", "/api/v1/accounts/region", "")
    assert request.auth == f"basic:{info.site_id}"


def test_region_of_an_eu_workspace(sb: Sandbox) -> None:
    keys = sb.add_track_keys(workspace_id=2002, region="eu")
    with build_track_client(sb.info.track_url, keys.site_id, keys.track_api_key) as client:
        account = TrackApi(client).region()
    assert (account.region, account.environment_id) == ("eu", "2002")


def test_batch_207_over_the_wire(sb: Sandbox) -> None:
    info = sb.info
    sb.add_person("p1")  # suppressing someone who does not exist changes nothing
    with build_track_client(info.track_url, info.site_id, info.track_api_key) as client:
        result = track_api(client).batch(
            [
                {"type": "person", "identifiers": {"id": "p1"}, "action": "suppress"},
                {"type": "object", "identifiers": {"id": "p2"}, "action": "delete"},
                {"type": "person", "identifiers": {"phone": "+1"}, "action": "delete"},
            ]
        )
    assert result.status == 207
    assert [(e.batch_index, e.reason, e.field) for e in result.errors] == [
        (1, "unsupported", "type"),
        (2, "invalid", "identifiers"),
    ]
    assert all(e.message for e in result.errors)
    assert "p1" in sandbox_list(sb, "suppressed")


# --- App API -------------------------------------------------------------------------------


def test_workspaces_over_the_wire(sb: Sandbox) -> None:
    info = sb.info
    with build_app_client(app_base_url("us", info.app_url), info.app_api_key) as client:
        workspaces = AppApi(client).workspaces()
    # Customer.io lists no region per workspace.
    assert workspaces == (Workspace(id="1001", name="Sandbox workspace 1001", region=None),)
    (request,) = sb.requests()
    assert (request.method, request.path) == ("GET", "/v1/workspaces")
    assert request.auth.startswith("bearer:")


def test_batch_and_lookup_by_email(sb: Sandbox) -> None:
    info = sb.info
    email = "a+b@example.com"
    with build_track_client(info.track_url, info.site_id, info.track_api_key) as client:
        result = track_api(client).batch(
            [
                {
                    "type": "person",
                    "identifiers": {"id": "p1"},
                    "action": "identify",
                    "attributes": {"email": email},
                },
                {"type": "person", "identifiers": {"id": "p2"}, "action": "identify"},
            ]
        )
    assert result == BatchResult(status=200, errors=())
    with build_app_client(info.app_url, info.app_api_key) as client:
        api = AppApi(client, sleep=must_not_sleep)
        found = api.customers_by_email(email)
        missing = api.customers_by_email("a b@example.com")
    (person,) = found
    assert (person.id, person.email) == ("p1", email)
    assert person.cio_id
    assert missing == ()
    lookups = [r for r in sb.requests() if r.path == "/v1/customers"]
    assert [r.query for r in lookups] == ["email=a%2Bb%40example.com", "email=a+b%40example.com"]


# --- Async forms ---------------------------------------------------------------------------


def test_async_forms_over_the_wire(sb: Sandbox) -> None:
    info = sb.info
    sleeps: list[float] = []

    async def sleep(delay: float) -> None:
        sleeps.append(delay)
        sb.set_faults(Faults())

    sb.add_person("a/b")  # suppressing someone who does not exist changes nothing

    async def scenario() -> tuple[object, ...]:
        async with build_async_track_client(
            info.track_url, info.site_id, info.track_api_key
        ) as client:
            api = AsyncTrackApi(client, sleep=sleep, random=no_random)
            account = await api.region()
            sb.set_faults(Faults(throttle_rate=1.0, retry_after=2.0))
            await api.suppress("a/b")
            await asyncio.gather(*(api.delete(i) for i in AWKWARD_IDENTIFIERS))
            batch = await api.batch(
                [
                    {
                        "type": "person",
                        "identifiers": {"email": "q@example.com"},
                        "action": "identify",
                    },
                    {"type": "person", "identifiers": {}, "action": "delete"},
                ]
            )
        async with build_async_app_client(info.app_url, info.app_api_key) as client:
            app = AsyncAppApi(client, sleep=sleep)
            workspaces = await app.workspaces()
            people = await app.customers_by_email("q@example.com")
        return account, batch, workspaces, people

    account, batch, workspaces, people = asyncio.run(scenario())
    assert account == AccountRegion("us", info.track_url, "1001")
    assert sleeps == [2.0]
    assert batch == BatchResult(
        207, (BatchItemError(1, "required", "identifiers", "identifiers are required"),)
    )
    assert workspaces == (Workspace("1001", "Sandbox workspace 1001", None),)
    assert isinstance(people, tuple)
    assert [p.email for p in people] == ["q@example.com"]
    deletes = [r for r in sb.requests() if r.method == "DELETE"]
    assert sorted(r.identifier or "" for r in deletes) == sorted(AWKWARD_IDENTIFIERS)
    assert sandbox_list(sb, "suppressed") == ["a/b"]
