"""The Customer.io sandbox, exercised over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import ssl
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cio_sec.sandbox import (
    Faults,
    KeySet,
    RecordedRequest,
    Sandbox,
    SandboxInfo,
)

pytestmark = pytest.mark.timeout(30)

HEX = set("0123456789abcdef")

#: One TLS context for every client: building one per client costs more than a request.
TLS = ssl.create_default_context()


def http(base_url: str, **kwargs: Any) -> httpx.Client:
    return httpx.Client(base_url=base_url, verify=TLS, timeout=10, **kwargs)


# --- helpers -------------------------------------------------------------------------


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=1) as running:
        yield running


@pytest.fixture
def info(sandbox: Sandbox) -> SandboxInfo:
    return sandbox.info


@pytest.fixture
def track(info: SandboxInfo) -> Iterator[httpx.Client]:
    auth = (info.site_id, info.track_api_key)
    with http(info.track_url, auth=auth) as client:
        yield client


@pytest.fixture
def app(info: SandboxInfo) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {info.app_api_key}"}
    with http(info.app_url, headers=headers) as client:
        yield client


@pytest.fixture
def admin(info: SandboxInfo) -> Iterator[httpx.Client]:
    with http(info.admin_url) as client:
        yield client


def basic(site_id: str, key: str) -> str:
    return "Basic " + base64.b64encode(f"{site_id}:{key}".encode()).decode()


def people(admin: httpx.Client, workspace_id: int | None = None) -> dict[str, Any]:
    params = {} if workspace_id is None else {"workspace_id": workspace_id}
    response = admin.get("/people", params=params)
    assert response.status_code == 200
    doc: dict[str, Any] = response.json()
    return doc


def person_ids(admin: httpx.Client) -> list[object]:
    return [person["id"] for person in people(admin)["people"]]


class RawConnection:
    """A byte-exact HTTP/1.1 client over one socket (no URL normalisation, no retries)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.file = self.sock.makefile("rb")

    def __enter__(self) -> RawConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.file.close()
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def response(self) -> tuple[int, dict[str, str], bytes]:
        status_line = self.file.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := self.file.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = self.file.read(int(headers.get("content-length", "0")))
        return status, headers, body

    def request(self, method: str, target: str, auth: str | None = None, body: bytes = b"") -> int:
        lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
        if auth is not None:
            lines.append(f"Authorization: {auth}")
        if body:
            lines.append(f"Content-Length: {len(body)}")
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        return self.response()[0]

    def at_eof(self) -> bool:
        try:
            return self.file.read(1) == b""
        except ConnectionResetError:
            return True


def exchange(port: int, data: bytes, *, shutdown: bool = False) -> bytes:
    """Send bytes on a fresh connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        if shutdown:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1])


# --- construction and lifecycle -------------------------------------------------------


def test_info_carries_random_keys_of_the_documented_shapes(sandbox: Sandbox) -> None:
    info = sandbox.info
    base = f"http://127.0.0.1:{sandbox.port}"
    assert (info.track_url, info.app_url, info.admin_url) == (base, base, base + "/_sandbox")
    for value, length in (
        (info.site_id, 20),
        (info.track_api_key, 20),
        (info.app_api_key, 32),
        (info.webhook_signing_key, 64),
    ):
        assert len(value) == length
        assert set(value) <= HEX
    assert info.to_json() == {
        "track_url": base,
        "app_url": base,
        "admin_url": base + "/_sandbox",
        "site_id": info.site_id,
        "track_api_key": info.track_api_key,
        "app_api_key": info.app_api_key,
        "webhook_signing_key": info.webhook_signing_key,
    }
    with Sandbox() as other:
        assert other.info.track_api_key != info.track_api_key


@pytest.mark.parametrize(
    "host",
    ["0.0.0.0", "localhost", "::1", "192.168.1.10", ""],  # noqa: S104 - refused, never bound
)
def test_non_loopback_host_is_refused(host: str) -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.1"):
        Sandbox(host=host)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"region": "ap"}, "region"),
        ({"port": -1}, "port"),
        ({"port": 70000}, "port"),
        ({"request_log_limit": -1}, "request_log_limit"),
    ],
)
def test_invalid_construction_is_refused(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Sandbox(**kwargs)


def test_urls_are_unknown_until_started() -> None:
    sandbox = Sandbox()
    with pytest.raises(RuntimeError, match="not been started"):
        _ = sandbox.info
    sandbox.stop()  # a no-op when not running


def test_start_twice_is_refused_and_restart_works(sandbox: Sandbox) -> None:
    with pytest.raises(RuntimeError, match="already running"):
        sandbox.start()
    sandbox.stop()
    sandbox.stop()
    sandbox.start()
    with http(sandbox.info.track_url) as client:
        assert client.get("/api/v1/accounts/region").status_code == 401


def test_port_in_use_raises_from_start(sandbox: Sandbox) -> None:
    clash = Sandbox(port=sandbox.port)
    with pytest.raises(OSError, match="in use"):
        clash.start()
    with pytest.raises(RuntimeError):
        _ = clash.port


def test_stop_closes_idle_keep_alive_connections(sandbox: Sandbox, info: SandboxInfo) -> None:
    with RawConnection(sandbox.port) as conn:
        assert conn.request("GET", "/api/v1/accounts/region", basic_auth(info)) == 200
        sandbox.stop()
        assert conn.at_eof()


def test_stop_interrupts_a_request_in_progress(sandbox: Sandbox, info: SandboxInfo) -> None:
    sandbox.set_faults(Faults(latency_ms=20_000))
    with RawConnection(sandbox.port) as conn:
        conn.send(b"GET /api/v1/accounts/region HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
        began = time.monotonic()
        sandbox.stop()
        assert conn.at_eof()
    assert time.monotonic() - began < 5


def test_run_until_interrupted_serves_until_stopped() -> None:
    sandbox = Sandbox()
    ready = threading.Event()
    seen: list[SandboxInfo] = []

    def on_ready(info: SandboxInfo) -> None:
        seen.append(info)
        ready.set()

    thread = threading.Thread(target=sandbox.run_until_interrupted, args=(on_ready,))
    thread.start()
    try:
        assert ready.wait(10)
        info = seen[0]
        with http(info.track_url, auth=(info.site_id, info.track_api_key)) as c:
            assert c.get("/api/v1/accounts/region").json()["environment_id"] == 1001
    finally:
        sandbox.stop()
        thread.join(10)
    assert not thread.is_alive()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_run_until_interrupted_returns_on_sigterm_and_ctrl_c(signum: int) -> None:
    sandbox = Sandbox()
    seen: list[SandboxInfo] = []

    def on_ready(info: SandboxInfo) -> None:
        seen.append(info)
        threading.Timer(0.1, os.kill, (os.getpid(), signum)).start()

    sandbox.run_until_interrupted(on_ready)
    assert len(seen) == 1
    with pytest.raises(httpx.ConnectError):
        httpx.get(seen[0].track_url + "/api/v1/accounts/region")


def basic_auth(info: SandboxInfo) -> str:
    return basic(info.site_id, info.track_api_key)


# --- authentication -------------------------------------------------------------------


def test_basic_auth_accepts_the_pair_and_rejects_everything_else(
    sandbox: Sandbox, info: SandboxInfo, track: httpx.Client
) -> None:
    assert track.get("/api/v1/accounts/region").status_code == 200
    bad = [
        None,
        basic(info.site_id, "0" * 20),
        basic("0" * 20, info.track_api_key),
        basic(info.track_api_key, info.site_id),
        f"Bearer {info.app_api_key}",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(info.site_id.encode()).decode(),  # no password
        "Digest username=x",
    ]
    with http(info.track_url) as client:
        for header in bad:
            headers = {} if header is None else {"Authorization": header}
            response = client.get("/api/v1/accounts/region", headers=headers)
            assert response.status_code == 401, header
            assert response.json() == {"meta": {"error": "Unauthorized request"}}


def test_revoked_track_keys_are_rejected(
    sandbox: Sandbox, info: SandboxInfo, admin: httpx.Client
) -> None:
    extra = sandbox.add_track_keys()
    assert isinstance(extra, KeySet)
    created = admin.post("/track-keys").json()
    assert set(created) == {"site_id", "track_api_key", "workspace_id"}
    with http(info.track_url) as client:
        for site_id, key in (
            (extra.site_id, extra.track_api_key),
            (created["site_id"], created["track_api_key"]),
        ):
            auth = {"Authorization": basic(site_id, key)}
            assert client.get("/api/v1/accounts/region", headers=auth).status_code == 200
        sandbox.revoke_track_keys(extra.site_id)
        assert admin.delete(f"/track-keys/{created['site_id']}").status_code == 204
        for site_id, key in (
            (extra.site_id, extra.track_api_key),
            (created["site_id"], created["track_api_key"]),
        ):
            auth = {"Authorization": basic(site_id, key)}
            assert client.get("/api/v1/accounts/region", headers=auth).status_code == 401
        # The default pair is untouched.
        auth = {"Authorization": basic_auth(info)}
        assert client.get("/api/v1/accounts/region", headers=auth).status_code == 200
    assert admin.delete(f"/track-keys/{created['site_id']}").status_code == 404
    with pytest.raises(KeyError):
        sandbox.revoke_track_keys(extra.site_id)


def test_bearer_auth_accepts_app_keys_and_rejects_revoked_ones(
    sandbox: Sandbox, info: SandboxInfo, admin: httpx.Client
) -> None:
    in_process = sandbox.add_app_key()
    created = admin.post("/app-keys", json={}).json()
    assert set(created) == {"app_api_key", "workspace_id"}
    assert created["workspace_id"] == 1001
    with http(info.app_url) as client:
        for key in (info.app_api_key, in_process, created["app_api_key"]):
            bearer = {"Authorization": f"Bearer {key}"}
            assert client.get("/v1/workspaces", headers=bearer).status_code == 200
        for header in (None, "Bearer " + "0" * 32, basic_auth(info), "Bearer"):
            headers = {} if header is None else {"Authorization": header}
            response = client.get("/v1/workspaces", headers=headers)
            assert response.status_code == 401
            assert response.json() == {"meta": {"error": "Unauthorized request"}}
        sandbox.revoke_app_key(in_process)
        assert admin.delete(f"/app-keys/{created['app_api_key']}").status_code == 204
        for key in (in_process, created["app_api_key"]):
            bearer = {"Authorization": f"Bearer {key}"}
            assert client.get("/v1/workspaces", headers=bearer).status_code == 401
    assert admin.delete(f"/app-keys/{in_process}").status_code == 404
    with pytest.raises(KeyError):
        sandbox.revoke_app_key(in_process)


def test_region_endpoint_answers_for_the_keys_workspace(
    sandbox: Sandbox, info: SandboxInfo, admin: httpx.Client, track: httpx.Client
) -> None:
    assert track.get("/api/v1/accounts/region").json() == {
        "url": info.track_url,
        "region": "us",
        "environment_id": 1001,
    }
    eu = sandbox.add_track_keys(workspace_id=2002, region="eu")
    same_ws = sandbox.add_track_keys(workspace_id=2002)
    posted = admin.post("/track-keys", json={"workspace_id": 3003, "region": "eu"}).json()
    assert posted["workspace_id"] == 3003
    expected = [(eu, 2002), (same_ws, 2002)]
    with http(info.track_url) as client:
        for keys, workspace_id in expected:
            auth = {"Authorization": basic(keys.site_id, keys.track_api_key)}
            doc = client.get("/api/v1/accounts/region", headers=auth).json()
            assert doc == {"url": info.track_url, "region": "eu", "environment_id": workspace_id}
        auth = {"Authorization": basic(posted["site_id"], posted["track_api_key"])}
        doc = client.get("/api/v1/accounts/region", headers=auth).json()
        assert (doc["region"], doc["environment_id"]) == ("eu", 3003)
    eu_app = sandbox.add_app_key(workspace_id=2002, region="eu")
    with http(info.app_url) as client:
        workspaces = client.get(
            "/v1/workspaces", headers={"Authorization": f"Bearer {eu_app}"}
        ).json()
    assert workspaces == {
        "workspaces": [
            {
                "id": 2002,
                "name": "Sandbox workspace 2002",
                "region": "eu",
                "people": 0,
                "messages_sent": 0,
            }
        ]
    }


def test_workspace_arguments_are_validated(sandbox: Sandbox, admin: httpx.Client) -> None:
    with pytest.raises(ValueError, match="region us"):
        sandbox.add_track_keys(workspace_id=1001, region="eu")
    with pytest.raises(ValueError, match="region must be"):
        sandbox.add_app_key(region="mars")
    assert sandbox.add_app_key(workspace_id=1001, region="us")
    bodies: list[object] = [
        {"workspace_id": 1001, "region": "eu"},
        {"region": "mars"},
        {"workspace_id": "1001"},
        {"workspace_id": True},
        {"region": 1},
        {"colour": "blue"},
        [],
    ]
    for body in bodies:
        for resource in ("/track-keys", "/app-keys"):
            response = admin.post(resource, json=body)
            assert response.status_code == 400, (resource, body)
            assert "error" in response.json()["meta"]


# --- people: identify, delete, suppress, unsuppress, events ---------------------------


def test_identify_creates_then_updates_a_person(track: httpx.Client, admin: httpx.Client) -> None:
    assert (
        track.put("/api/v1/customers/42", json={"email": "Ada@Example.com", "plan": "pro"}).json()
        == {}
    )
    assert track.put("/api/v1/customers/42", json={"plan": None, "seats": 3}).status_code == 200
    assert (
        track.put("/api/v1/customers/ada%40example.com", json={"first_name": "Ada"}).status_code
        == 200
    )
    doc = people(admin)
    assert doc["people"] == [
        {
            "id": "42",
            "email": "Ada@Example.com",
            "cio_id": "a3000001",
            "attributes": {"seats": 3, "first_name": "Ada"},
        }
    ]
    # By cio_id (prefixed in paths): change the id; an int id is kept as a string.
    assert (
        track.put("/api/v1/customers/cio_a3000001", json={"id": 43, "cio_id": "x"}).status_code
        == 200
    )
    # An empty body is an empty object; updating an unknown cio_id creates nobody.
    assert track.put("/api/v1/customers/43").status_code == 200
    assert track.put("/api/v1/customers/cio_ffffff", json={"a": 1}).status_code == 200
    assert person_ids(admin) == ["43"]
    # Identify by email creates a person without an id; then an id is added.
    assert track.put("/api/v1/customers/bob%40example.com", json={}).status_code == 200
    assert track.put("/api/v1/customers/bob%40example.com", json={"id": "7"}).status_code == 200
    assert person_ids(admin) == ["43", "7"]
    assert track.put("/api/v1/customers/7", json={"email": None}).status_code == 200
    listed = people(admin)["people"]
    assert listed[1] == {"id": "7", "email": None, "cio_id": "a3000002", "attributes": {}}
    # An id can be removed as well, through another identifier.
    assert track.put("/api/v1/customers/carol%40example.com", json={"id": "c"}).status_code == 200
    assert track.put("/api/v1/customers/CAROL%40example.com", json={"id": None}).status_code == 200
    assert people(admin)["people"][2] == {
        "id": None,
        "email": "carol@example.com",
        "cio_id": "a3000003",
        "attributes": {},
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "request body is not valid JSON"),
        (b"[1, 2]", "request body must be a JSON object"),
        (b"[" * 100_000, "request body is not valid JSON"),
        (b'{"id": ["x"]}', "attribute id must be a string"),
        (b'{"email": 5}', "attribute email must be a string"),
        (b'{"email": "taken@example.com"}', "id or email already belongs to another person"),
        (b'{"id": "taken"}', "id or email already belongs to another person"),
    ],
)
def test_identify_rejects_bad_bodies(track: httpx.Client, body: bytes, message: str) -> None:
    assert (
        track.put("/api/v1/customers/taken", json={"email": "taken@example.com"}).status_code == 200
    )
    response = track.put("/api/v1/customers/someone", content=body)
    assert response.status_code == 400
    assert response.json() == {"meta": {"errors": [message]}}


def test_delete_removes_people_and_records_every_request(
    track: httpx.Client, admin: httpx.Client
) -> None:
    track.put("/api/v1/customers/1", json={})
    track.put("/api/v1/customers/two%40example.com", json={})
    track.put("/api/v1/customers/3", json={"email": "three@example.com"})
    for identifier in ("1", "TWO%40example.com", "cio_a3000003", "ghost"):
        response = track.delete(f"/api/v1/customers/{identifier}")
        assert (response.status_code, response.json()) == (200, {})
    doc = people(admin)
    assert doc["people"] == []
    assert doc["deleted"] == ["1", "TWO@example.com", "cio_a3000003", "ghost"]
    assert doc["suppressed"] == []


def test_suppress_deletes_and_blocks_until_unsuppressed(
    track: httpx.Client, admin: httpx.Client
) -> None:
    track.put("/api/v1/customers/42", json={"email": "Ada@Example.com"})
    track.put("/api/v1/customers/43", json={})
    assert track.post("/api/v1/customers/42/suppress").json() == {}
    assert track.post("/api/v1/customers/nobody/suppress").status_code == 200
    assert track.post("/api/v1/customers/cio_a3000002/suppress").status_code == 200
    doc = people(admin)
    assert doc["people"] == []
    assert doc["suppressed"] == ["42", "43", "ada@example.com", "cio_a3000002", "nobody"]
    assert doc["deleted"] == []
    # Suppressed identifiers are refused silently: 200, but nobody is created.
    for path, body in (
        ("/api/v1/customers/42", {}),
        ("/api/v1/customers/ADA%40example.com", {}),
        ("/api/v1/customers/99", {"email": "ada@example.com"}),
        ("/api/v1/customers/98", {"id": "43"}),
    ):
        assert track.put(path, json=body).status_code == 200
    assert people(admin)["people"] == []
    assert track.post("/api/v1/customers/42/unsuppress").json() == {}
    assert track.post("/api/v1/customers/42/unsuppress").status_code == 200
    assert track.put("/api/v1/customers/42", json={}).status_code == 200
    assert person_ids(admin) == ["42"]
    assert people(admin)["suppressed"] == ["43", "ada@example.com", "cio_a3000002", "nobody"]


def test_events_are_counted_unless_suppressed(track: httpx.Client, admin: httpx.Client) -> None:
    assert track.post("/api/v1/customers/5/events", json={"name": "purchase"}).status_code == 200
    assert (
        track.post("/api/v1/customers/5/events", json={"name": "x", "data": {}}).status_code == 200
    )
    track.post("/api/v1/customers/6/suppress")
    assert track.post("/api/v1/customers/6/events", json={"name": "purchase"}).status_code == 200
    for body in ({}, {"name": ""}, {"name": 5}, {"name": "n" * 101}):
        response = track.post("/api/v1/customers/5/events", json=body)
        assert response.status_code == 400
        assert response.json()["meta"]["errors"]
    doc = people(admin)
    assert doc["events"] == 2
    assert doc["people"] == []  # events create nobody


IDENTIFIERS = [
    "a/b",
    "a?b#c",
    "100%",
    "..",
    ".",
    "with space",
    "plus+sign",
    "ünïcødé",
    "😀🚀",
    "semi;colon&amp=1",
    "ada+tag@example.com",
]


@pytest.mark.parametrize("identifier", IDENTIFIERS)
def test_identifiers_are_decoded_exactly_once(
    info: SandboxInfo, track: httpx.Client, admin: httpx.Client, sandbox: Sandbox, identifier: str
) -> None:
    encoded = quote(identifier, safe="").replace(".", "%2E")
    response = track.put(f"/api/v1/customers/{encoded}", json={"seen": True})
    assert response.status_code == 200
    recorded = sandbox.requests()[-1]
    assert recorded.path == f"/api/v1/customers/{encoded}"
    assert recorded.identifier == identifier
    (person,) = people(admin)["people"]
    assert person[("email" if "@" in identifier else "id")] == identifier
    assert track.post(f"/api/v1/customers/{encoded}/suppress").status_code == 200
    expected = identifier.lower() if "@" in identifier else identifier
    assert people(admin)["suppressed"] == [expected]


def test_percent_escapes_are_not_decoded_twice(track: httpx.Client, sandbox: Sandbox) -> None:
    track.delete("/api/v1/customers/%252F")
    assert sandbox.requests()[-1].identifier == "%2F"


def test_identifier_length_limit_is_150_bytes(track: httpx.Client, admin: httpx.Client) -> None:
    accepted = ["x" * 150, "é" * 75, "😀" * 37 + "xx"]
    refused = ["x" * 151, "é" * 75 + "x", "😀" * 38]
    for identifier in accepted:
        assert (
            track.put(f"/api/v1/customers/{quote(identifier, safe='')}", json={}).status_code == 200
        )
    for identifier in refused:
        response = track.put(f"/api/v1/customers/{quote(identifier, safe='')}", json={})
        assert response.status_code == 400
        assert response.json() == {"meta": {"errors": ["identifier is longer than 150 bytes"]}}
    assert person_ids(admin) == accepted
    response = track.put("/api/v1/customers/", json={})
    assert response.status_code == 400
    assert response.json() == {"meta": {"errors": ["identifier must not be empty"]}}


def test_identifier_must_be_utf8_but_auth_comes_first(
    info: SandboxInfo, track: httpx.Client, sandbox: Sandbox
) -> None:
    response = track.delete("/api/v1/customers/%FF%FE")
    assert response.status_code == 400
    assert sandbox.requests()[-1].identifier is None
    with http(info.track_url) as anonymous:
        assert anonymous.delete("/api/v1/customers/%FF").status_code == 401


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    identifier=st.text(min_size=1, max_size=150).map(
        lambda text: text.encode("utf-8")[:150].decode("utf-8", errors="ignore") or "x"
    )
)
def test_any_identifier_round_trips(sandbox: Sandbox, identifier: str) -> None:
    info = sandbox.info
    with RawConnection(sandbox.port) as conn:
        target = f"/api/v1/customers/{quote(identifier, safe='')}"
        assert conn.request("DELETE", target, basic_auth(info)) == 200
    assert 1 <= len(identifier.encode()) <= 150
    assert sandbox.requests()[-1].identifier == identifier


# --- v2 batch -------------------------------------------------------------------------


def item(action: str, **identifiers: object) -> dict[str, object]:
    return {"type": "person", "identifiers": identifiers, "action": action}


def test_batch_all_valid_is_200(track: httpx.Client, admin: httpx.Client) -> None:
    batch = [
        {**item("identify", id="1"), "attributes": {"email": "one@example.com", "plan": "pro"}},
        item("identify", email="two@example.com"),
        item("identify", id=3),
        item("delete", email="TWO@example.com"),
        item("suppress", cio_id="a3000003"),
        item("unsuppress", id="never-suppressed"),
        item("identify", cio_id="ffffff"),
    ]
    response = track.post("/api/v2/batch", json={"batch": batch})
    assert (response.status_code, response.json()) == (200, {})
    doc = people(admin)
    assert doc["people"] == [
        {"id": "1", "email": "one@example.com", "cio_id": "a3000001", "attributes": {"plan": "pro"}}
    ]
    assert doc["deleted"] == ["TWO@example.com"]
    assert doc["suppressed"] == ["3", "cio_a3000003"]
    assert track.post("/api/v2/batch", json={"batch": []}).status_code == 200


def test_batch_applies_valid_items_and_reports_invalid_ones(
    track: httpx.Client, admin: httpx.Client
) -> None:
    track.put("/api/v1/customers/taken", json={})
    batch: list[object] = [
        item("identify", id="ok-0"),
        "not an object",
        {"type": "object", "identifiers": {"id": "1"}, "action": "identify"},
        item("explode", id="1"),
        {"type": "person", "action": "delete"},
        item("delete"),
        item("delete", id="1", email="a@example.com"),
        item("delete", phone="+15555550100"),
        item("delete", id=""),
        item("delete", id=True),
        item("delete", email=5),
        item("delete", id="x" * 151),
        {**item("identify", id="big"), "attributes": {"blob": "x" * (33 * 1024)}},
        {**item("identify", id="bad-attrs"), "attributes": ["not", "an", "object"]},
        {**item("identify", id="clash"), "attributes": {"id": "taken"}},
        item("suppress", id="ok-15"),
    ]
    response = track.post("/api/v2/batch", json={"batch": batch})
    assert response.status_code == 207
    errors = response.json()["errors"]
    assert [error["batch_index"] for error in errors] == list(range(1, 15))
    assert {tuple(sorted(error)) for error in errors} == {
        ("batch_index", "field", "message", "reason")
    }
    by_index = {error["batch_index"]: (error["reason"], error["field"]) for error in errors}
    assert by_index[1] == ("invalid", "item")
    assert by_index[2] == ("unsupported", "type")
    assert by_index[3] == ("unsupported", "action")
    assert by_index[4] == ("required", "identifiers")
    assert by_index[7] == ("invalid", "identifiers")
    assert by_index[8] == ("invalid", "identifiers.id")
    assert by_index[10] == ("invalid", "identifiers.email")
    assert by_index[11] == ("too_long", "identifiers.id")
    assert by_index[12] == ("too_large", "item")
    assert by_index[13] == ("invalid", "attributes")
    assert by_index[14] == ("invalid", "attributes")
    doc = people(admin)
    assert person_ids(admin) == ["taken", "ok-0"]
    assert doc["suppressed"] == ["ok-15"]


@pytest.mark.parametrize(
    "body",
    [b"{oops", b"[]", b'{"batch": {"type": "person"}}', b'{"nobatch": []}', b""],
)
def test_batch_rejects_a_malformed_request_as_a_whole(track: httpx.Client, body: bytes) -> None:
    response = track.post("/api/v2/batch", content=body)
    assert response.status_code == 400
    assert response.json()["meta"]["errors"]


def test_batch_over_500_kb_is_413(track: httpx.Client, admin: httpx.Client) -> None:
    batch = [item("delete", id=f"{i:0>140}") for i in range(3_500)]
    body = json.dumps({"batch": batch}).encode()
    assert len(body) > 500 * 1024
    response = track.post("/api/v2/batch", content=body)
    assert response.status_code == 413
    assert response.json()["meta"]["errors"]
    assert people(admin)["deleted"] == []
    # The connection survives a 413 on a fully read body.
    assert track.get("/api/v1/accounts/region").status_code == 200


# --- App API --------------------------------------------------------------------------


def test_app_lookups(track: httpx.Client, app: httpx.Client) -> None:
    track.put("/api/v1/customers/42", json={"email": "Ada+tag@Example.com", "plan": "pro"})
    track.put("/api/v1/customers/43", json={})
    assert app.get("/v1/workspaces").json()["workspaces"][0]["people"] == 2
    found = app.get("/v1/customers", params={"email": "ada+TAG@example.com"})
    assert found.json() == {
        "results": [{"email": "Ada+tag@Example.com", "id": "42", "cio_id": "a3000001"}]
    }
    # An unencoded "+" is a space in a query string, so it finds nobody (as in production).
    assert app.get("/v1/customers?email=ada+tag@example.com").json() == {"results": []}
    expected = {
        "customer": {
            "id": "42",
            "identifiers": {"email": "Ada+tag@Example.com", "id": "42", "cio_id": "a3000001"},
            "attributes": {
                "plan": "pro",
                "email": "Ada+tag@Example.com",
                "id": "42",
                "cio_id": "a3000001",
            },
        }
    }
    for path, params in (
        ("/v1/customers/42/attributes", {}),
        ("/v1/customers/42/attributes", {"id_type": "id"}),
        (f"/v1/customers/{quote('ADA+tag@example.com', safe='')}/attributes", {"id_type": "email"}),
        ("/v1/customers/a3000001/attributes", {"id_type": "cio_id"}),
        ("/v1/customers/cio_a3000001/attributes", {"id_type": "cio_id"}),
    ):
        response = app.get(path, params=params)
        assert (response.status_code, response.json()) == (200, expected), path
    missing = app.get("/v1/customers/nobody/attributes")
    assert missing.status_code == 404
    assert missing.json() == {"meta": {"error": "person not found"}}


@pytest.mark.parametrize(
    "target",
    [
        "/v1/customers",
        "/v1/customers?email=",
        "/v1/customers?email=%FF",
        "/v1/customers/42/attributes?id_type=phone",
        "/v1/customers/42/attributes?id_type=nope",
        "/v1/customers/%FF/attributes",
        "/v1/customers/%20%20/attributes?id_type=email&id_type=bogus",
    ],
)
def test_app_lookups_reject_bad_queries(app: httpx.Client, target: str) -> None:
    response = app.get(target)
    assert response.status_code == 400
    assert response.json()["meta"]


# --- routing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/api",
        "/api/v1",
        "/api/v1/customers",
        "/api/v1/customers/1/unknown",
        "/api/v1/customers/1/events/x",
        "/api/v1/accounts",
        "/api/v1/accounts/region/x",
        "/api/v2/batch/x",
        "/api/v2/entity",
        "/api/v3/batch",
        "/v1",
        "/v1/customers/1",
        "/v1/customers/1/segments",
        "/v1/workspaces/1",
        "/v2/workspaces",
        "/_sandboxes",
    ],
)
def test_unknown_api_paths_are_404(track: httpx.Client, path: str) -> None:
    response = track.get(path)
    assert response.status_code == 404
    assert response.json() == {"meta": {"error": "not found"}}


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/api/v1/accounts/region", "GET"),
        ("GET", "/api/v1/customers/1", "PUT, DELETE"),
        ("GET", "/api/v1/customers/1/suppress", "POST"),
        ("PUT", "/api/v2/batch", "POST"),
        ("DELETE", "/v1/workspaces", "GET"),
        ("POST", "/v1/customers", "GET"),
        ("PATCH", "/_sandbox/faults", "GET, PUT"),
        ("GET", "/_sandbox/track-keys", "POST"),
        ("POST", "/_sandbox/app-keys/abc", "DELETE"),
        ("POST", "/_sandbox/people", "GET"),
        ("POST", "/_sandbox/requests", "GET, DELETE"),
        ("DELETE", "/_sandbox/info", "GET"),
    ],
)
def test_wrong_method_is_405(track: httpx.Client, method: str, path: str, allow: str) -> None:
    response = track.request(method, path, content=b"")
    assert response.status_code == 405
    assert response.json() == {"meta": {"error": "method not allowed"}}
    assert response.headers["allow"] == allow


@pytest.mark.parametrize(
    "path",
    ["/_sandbox", "/_sandbox/", "/_sandbox/nope", "/_sandbox/track-keys/", "/_sandbox/a/b/c"],
)
def test_unknown_admin_paths_are_404(track: httpx.Client, path: str) -> None:
    assert track.get(path).status_code == 404


def test_admin_info_and_people_of_other_workspaces(
    sandbox: Sandbox, info: SandboxInfo, admin: httpx.Client
) -> None:
    assert admin.get("/info").json() == info.to_json()
    keys = sandbox.add_track_keys(workspace_id=2002)
    with http(info.track_url, auth=(keys.site_id, keys.track_api_key)) as c:
        c.put("/api/v1/customers/eu-1", json={})
    assert [p["id"] for p in people(admin, 2002)["people"]] == ["eu-1"]
    assert people(admin)["people"] == []
    assert sandbox.people(2002) == people(admin, 2002)
    assert sandbox.people() == people(admin)
    assert admin.get("/people", params={"workspace_id": 9}).status_code == 404
    assert admin.get("/people", params={"workspace_id": "x"}).status_code == 400
    with pytest.raises(ValueError, match="no workspace 9"):
        sandbox.people(9)


def test_people_returns_a_detached_copy(sandbox: Sandbox, track: httpx.Client) -> None:
    track.put("/api/v1/customers/1", json={"nested": {"a": [1]}})
    doc: dict[str, Any] = sandbox.people()
    doc["people"][0]["attributes"]["nested"]["a"].append(2)
    again: dict[str, Any] = sandbox.people()
    assert again["people"][0]["attributes"] == {"nested": {"a": [1]}}


# --- faults ---------------------------------------------------------------------------


def test_faults_json_round_trip_and_validation() -> None:
    faults = Faults(error_rate=0.5, retry_after=None, rate_limit=10, seed=3)
    assert Faults.from_json(json.loads(json.dumps(faults.to_json()))) == faults
    assert Faults.from_json({}) == Faults()
    assert not Faults().active
    assert Faults(latency_ms=1).active
    assert Faults(rate_limit=1).active
    docs: list[object] = [
        [],
        {"typo": 1},
        {"error_rate": "0.5"},
        {"error_rate": True},
        {"error_rate": None},
        {"error_status": 503.0},
        {"error_status": None},
        {"seed": "x"},
        {"error_rate": 1.5},
        {"throttle_rate": -0.1},
        {"drop_rate": 2},
        {"error_status": 200},
        {"retry_after": -1},
        {"latency_ms": -1},
        {"latency_ms": float("inf")},
        {"rate_limit": 0},
    ]
    for doc in docs:
        with pytest.raises(ValueError, match="faults"):
            Faults.from_json(doc)


def test_faults_are_set_and_read_through_admin(
    sandbox: Sandbox, admin: httpx.Client, track: httpx.Client
) -> None:
    response = admin.put("/faults", json={"error_rate": 1, "error_status": 500})
    assert response.status_code == 200
    assert response.json() == {**Faults().to_json(), "error_rate": 1.0, "error_status": 500}
    assert admin.get("/faults").json() == response.json()
    assert sandbox.faults == Faults(error_rate=1.0, error_status=500)
    failed = track.get("/api/v1/accounts/region")
    assert failed.status_code == 500
    assert failed.json() == {"meta": {"error": "injected sandbox fault"}}
    # Admin requests never see faults.
    assert admin.get("/people").status_code == 200
    for bad in ({"error_rate": 7}, {"nope": 1}, [1]):
        refused = admin.put("/faults", json=bad)
        assert refused.status_code == 400
        assert "faults" in refused.json()["meta"]["error"]
    assert admin.put("/faults", content=b"").json() == Faults().to_json()
    assert track.get("/api/v1/accounts/region").status_code == 200


@pytest.mark.parametrize(
    ("retry_after", "header"), [(1.0, "1"), (2.5, "3"), (0.0, "0"), (None, None)]
)
def test_throttle_answers_429_with_retry_after(
    sandbox: Sandbox, app: httpx.Client, retry_after: float | None, header: str | None
) -> None:
    sandbox.set_faults(Faults(throttle_rate=1.0, retry_after=retry_after))
    response = app.get("/v1/workspaces")
    assert response.status_code == 429
    assert response.headers.get("retry-after") == header


def test_error_injection_uses_the_configured_status(
    sandbox: Sandbox, track: httpx.Client, app: httpx.Client
) -> None:
    sandbox.set_faults(Faults(error_rate=1.0))
    assert track.delete("/api/v1/customers/1").status_code == 503
    assert app.get("/v1/workspaces").status_code == 503
    sandbox.set_faults(Faults(error_rate=1.0, error_status=502))
    assert track.delete("/api/v1/customers/1").status_code == 502


def test_latency_delays_api_responses(sandbox: Sandbox, track: httpx.Client) -> None:
    sandbox.set_faults(Faults(latency_ms=150))
    began = time.monotonic()
    assert track.get("/api/v1/accounts/region").status_code == 200
    assert time.monotonic() - began >= 0.15


def test_dropped_requests_are_disconnects(
    sandbox: Sandbox, info: SandboxInfo, track: httpx.Client
) -> None:
    sandbox.set_faults(Faults(drop_rate=1.0, error_rate=1.0))
    with pytest.raises(httpx.TransportError):
        track.delete("/api/v1/customers/dropped")
    with RawConnection(sandbox.port) as conn:
        conn.send(b"GET /api/v1/accounts/region HTTP/1.1\r\nHost: x\r\n\r\n")
        assert conn.at_eof()
    recorded = sandbox.requests()
    assert [r.status for r in recorded][-2:] == [0, 0]
    assert recorded[-2].identifier == "dropped"
    assert recorded[-2].auth == f"basic:{info.site_id}"


def test_partial_drop_rate_drops_some_requests(sandbox: Sandbox, info: SandboxInfo) -> None:
    sandbox.set_faults(Faults(drop_rate=0.5, seed=5))
    outcomes = []
    for _ in range(20):
        with RawConnection(sandbox.port) as conn:
            try:
                outcomes.append(conn.request("GET", "/api/v1/accounts/region", basic_auth(info)))
            except ConnectionError:
                outcomes.append(0)
    assert set(outcomes) == {0, 200}
    assert [r.status for r in sandbox.requests()] == outcomes


def test_rate_limit_answers_429_beyond_the_rate(sandbox: Sandbox, track: httpx.Client) -> None:
    sandbox.set_faults(Faults(rate_limit=2.0))  # burst 1, one token every 0.5 s
    statuses = [track.get("/api/v1/accounts/region") for _ in range(6)]
    assert statuses[0].status_code == 200
    limited = [r for r in statuses if r.status_code == 429]
    assert limited
    assert all(r.headers["retry-after"] == "1" for r in limited)
    assert limited[0].json() == {"meta": {"error": "rate limit exceeded"}}
    time.sleep(0.6)
    assert track.get("/api/v1/accounts/region").status_code == 200


def test_fault_order_is_rate_limit_then_throttle_then_error(
    sandbox: Sandbox, track: httpx.Client
) -> None:
    sandbox.set_faults(Faults(rate_limit=0.5, throttle_rate=1.0, error_rate=1.0, retry_after=None))
    first = track.get("/api/v1/accounts/region")  # the one token passes the limiter...
    assert (first.status_code, first.headers.get("retry-after")) == (429, None)  # ...throttled
    second = track.get("/api/v1/accounts/region")  # no token: the limiter answers
    assert (second.status_code, second.headers.get("retry-after")) == (429, "2")


def test_seeded_faults_are_reproducible(sandbox: Sandbox, track: httpx.Client) -> None:
    def run() -> list[int]:
        sandbox.set_faults(Faults(error_rate=0.5, throttle_rate=0.2, seed=42))
        return [track.get("/api/v1/accounts/region").status_code for _ in range(30)]

    first, second = run(), run()
    assert first == second
    assert {200, 503} <= set(first)


# --- request log ----------------------------------------------------------------------


def test_request_log_records_api_requests_without_keys(
    sandbox: Sandbox, info: SandboxInfo, track: httpx.Client, app: httpx.Client, admin: httpx.Client
) -> None:
    track.put("/api/v1/customers/a%2Fb?x=%20y", json={"plan": "pro"})
    app.get("/v1/customers", params={"email": "a@example.com"})
    admin.get("/people")  # not recorded
    with http(info.track_url) as anonymous:
        anonymous.get("/api/v1/accounts/region")
        anonymous.get("/api/v1/accounts/region", headers={"Authorization": "Token abc"})
        anonymous.get(
            "/api/v1/accounts/region",
            headers={"Authorization": basic(info.track_api_key, info.site_id)},
        )
        anonymous.get("/api/v1/accounts/region", headers={"Authorization": "Basic %%%"})
        anonymous.post(
            "/api/v1/customers/x/events",
            content=b"\xff\xfe",
            headers={"Authorization": basic_auth(info)},
        )
    doc = admin.get("/requests").json()
    recorded = doc["requests"]
    assert [entry["seq"] for entry in recorded] == [1, 2, 3, 4, 5, 6, 7]
    first = recorded[0]
    assert first == {
        "seq": 1,
        "time": first["time"],
        "method": "PUT",
        "path": "/api/v1/customers/a%2Fb",
        "query": "x=%20y",
        "status": 200,
        "auth": f"basic:{info.site_id}",
        "body": '{"plan":"pro"}',
        "identifier": "a/b",
    }
    assert abs(first["time"] - time.time()) < 60
    assert recorded[1]["auth"] == f"bearer:{info.app_api_key[:4]}…"
    assert recorded[1]["query"] == "email=a%40example.com"
    assert recorded[1]["identifier"] is None
    assert [entry["auth"] for entry in recorded[2:6]] == [
        "none",
        "other",
        f"basic:{info.track_api_key[:4]}…",
        "basic:invalid",
    ]
    assert recorded[6]["body"] == "\ufffd\ufffd"
    assert recorded[6]["status"] == 400
    in_process = sandbox.requests()
    assert [entry.to_json() for entry in in_process] == recorded
    assert isinstance(in_process[0], RecordedRequest)
    assert in_process[0].body == b'{"plan":"pro"}'
    dumped = json.dumps(doc)
    token = basic_auth(info).split()[1]
    for secret in (info.track_api_key, info.app_api_key, token, info.webhook_signing_key):
        assert secret not in dumped
    assert [e["seq"] for e in admin.get("/requests", params={"since": 5}).json()["requests"]] == [
        6,
        7,
    ]
    assert admin.get("/requests", params={"since": "x"}).status_code == 400


def test_request_log_is_bounded_and_can_be_cleared() -> None:
    with Sandbox(request_log_limit=3) as small:
        info = small.info
        with http(info.track_url, auth=(info.site_id, info.track_api_key)) as c:
            for i in range(5):
                c.delete(f"/api/v1/customers/{i}")
        assert [r.seq for r in small.requests()] == [3, 4, 5]
        assert [r.identifier for r in small.requests()] == ["2", "3", "4"]
        with http(info.admin_url) as small_admin:
            assert small_admin.delete("/requests").status_code == 204
            assert small_admin.get("/requests").json() == {"requests": []}
            with http(info.track_url) as c:
                c.get("/api/v1/accounts/region")
            assert [r.seq for r in small.requests()] == [6]
        small.clear_requests()
        assert small.requests() == []


# --- HTTP/1.1 details and malformed input ---------------------------------------------


def test_keep_alive_serves_many_requests_on_one_connection(
    sandbox: Sandbox, info: SandboxInfo
) -> None:
    with RawConnection(sandbox.port) as conn:
        for i in range(300):
            assert conn.request("DELETE", f"/api/v1/customers/{i}", basic_auth(info)) == 200
    deleted: dict[str, Any] = sandbox.people()
    assert len(deleted["deleted"]) == 300


def test_httpx_reuses_its_connection(sandbox: Sandbox, track: httpx.Client) -> None:
    ports = set()
    for _ in range(50):
        response = track.get("/api/v1/accounts/region")
        assert response.status_code == 200
        stream = response.extensions["network_stream"]
        ports.add(stream.get_extra_info("client_addr"))
    assert len(ports) == 1


def test_connection_close_is_honoured(sandbox: Sandbox, info: SandboxInfo) -> None:
    with RawConnection(sandbox.port) as conn:
        conn.send(
            b"GET /api/v1/accounts/region HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            + f"Authorization: {basic_auth(info)}\r\n\r\n".encode()
        )
        status, headers, _ = conn.response()
        assert (status, headers["connection"]) == (200, "close")
        assert conn.at_eof()


def test_http10_closes_unless_keep_alive_is_asked(sandbox: Sandbox) -> None:
    with RawConnection(sandbox.port) as conn:
        conn.send(b"GET /nope HTTP/1.0\r\n\r\n")
        status, headers, _ = conn.response()
        assert (status, headers["connection"]) == (404, "close")
        assert conn.at_eof()
    with RawConnection(sandbox.port) as conn:
        for _ in range(2):
            conn.send(b"GET /nope HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
            status, headers, _ = conn.response()
            assert (status, headers["connection"]) == (404, "keep-alive")


def test_pipelined_requests_are_answered_in_order(sandbox: Sandbox, info: SandboxInfo) -> None:
    auth = f"Authorization: {basic_auth(info)}\r\n".encode()
    with RawConnection(sandbox.port) as conn:
        conn.send(
            b"PUT /api/v1/customers/p1 HTTP/1.1\r\nContent-Length: 2\r\n" + auth + b"\r\n{}"
            b"\r\n"  # a stray empty line between requests is allowed
            b"GET /nope HTTP/1.1\r\n\r\n"
            b"GET /api/v1/accounts/region HTTP/1.1\r\n" + auth + b"\r\n"
        )
        assert [conn.response()[0] for _ in range(3)] == [200, 404, 200]


def test_head_requests_get_headers_without_a_body(sandbox: Sandbox, info: SandboxInfo) -> None:
    with RawConnection(sandbox.port) as conn:
        conn.send(b"HEAD /api/v1/accounts/region HTTP/1.1\r\n\r\n")
        status_line = conn.file.readline()
        assert status_line.startswith(b"HTTP/1.1 405 ")
        while conn.file.readline() != b"\r\n":
            pass
        # The next response starts right away: no body was sent for the HEAD.
        assert conn.request("GET", "/api/v1/accounts/region", basic_auth(info)) == 200


def test_repeated_headers_are_combined(sandbox: Sandbox, info: SandboxInfo) -> None:
    with RawConnection(sandbox.port) as conn:
        conn.send(
            b"GET /api/v1/accounts/region HTTP/1.1\r\nAccept: a\r\nAccept: b\r\n"
            + f"Authorization: {basic_auth(info)}\r\n\r\n".encode()
        )
        assert conn.response()[0] == 200


def test_absolute_form_targets_are_accepted(sandbox: Sandbox, info: SandboxInfo) -> None:
    with RawConnection(sandbox.port) as conn:
        target = f"{info.track_url}/api/v1/accounts/region"
        assert conn.request("GET", target, basic_auth(info)) == 200
        assert conn.request("GET", "http://127.0.0.1") == 404


def test_chunked_request_bodies_are_supported(
    sandbox: Sandbox, info: SandboxInfo, admin: httpx.Client
) -> None:
    auth = f"Authorization: {basic_auth(info)}\r\n".encode()
    with RawConnection(sandbox.port) as conn:
        conn.send(
            b"PUT /api/v1/customers/chunky HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
            + auth
            + b"Expect: 100-continue\r\n\r\n"
            b'6;ext=1\r\n{"a": \r\n3\r\n42}\r\n0\r\nX-Trailer: 1\r\n\r\n'
        )
        interim = conn.response()
        assert interim[0] == 100
        assert conn.response()[0] == 200
    (person,) = people(admin)["people"]
    assert person["attributes"] == {"a": 42}
    assert sandbox.requests()[-1].body == b'{"a": 42}'


def test_expect_100_continue_with_content_length(sandbox: Sandbox, info: SandboxInfo) -> None:
    with RawConnection(sandbox.port) as conn:
        conn.send(
            b"PUT /api/v1/customers/c HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n"
            + f"Authorization: {basic_auth(info)}\r\n\r\n".encode()
        )
        assert conn.response()[0] == 100
        conn.send(b"{}")
        assert conn.response()[0] == 200


MALFORMED = [
    (b"\x16\x03\x01\x02\x00garbage\r\n\r\n", 400),
    (b"GET\r\n\r\n", 400),
    (b"GET / HTTP/1.1 extra\r\n\r\n", 400),
    (b"get / HTTP/1.1\r\n\r\n", 400),
    (b"GET / HTTP/2.0\r\n\r\n", 400),
    (b"GET * HTTP/1.1\r\n\r\n", 400),
    (b"GET /\x7f HTTP/1.1\r\n\r\n", 400),
    ("GET /é HTTP/1.1\r\n\r\n".encode(), 400),
    (b"GET / HTTP/1.1\r\nNo colon here\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n folded: x\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400),
    (b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
    ("GET / HTTP/1.1\r\nContent-Length: \u00b2\r\n\r\n".encode("latin-1"), 400),
    (b"GET / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", 413),
    (b"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    (b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY", 400),
    (b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1" * 70_000 + b"\r\n", 400),
    (b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n400001\r\n", 413),
    (
        b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + b"T: 1\r\n" * 101 + b"\r\n",
        431,
    ),
    (b"GET / HTTP/1.1\r\n" + b"X-A: 1\r\n" * 101 + b"\r\n", 431),
    (b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431),
]


@pytest.mark.parametrize(("data", "status"), MALFORMED)
def test_malformed_requests_get_an_error_and_a_close(
    sandbox: Sandbox,
    track: httpx.Client,
    data: bytes,
    status: int,
    capfd: pytest.CaptureFixture[str],
) -> None:
    raw = exchange(sandbox.port, data)
    assert status_of(raw) == status
    assert b"Connection: close\r\n" in raw
    assert track.get("/api/v1/accounts/region").status_code == 200
    assert capfd.readouterr().out == ""


@pytest.mark.parametrize(
    "data",
    [
        b"GET /api/v1/accounts/region HTTP/1.1\r\nHost: x",  # head cut short
        b"PUT /api/v1/customers/x HTTP/1.1\r\nContent-Length: 10\r\n\r\n12345",  # body cut short
        b"",
    ],
)
def test_half_sent_requests_do_not_hurt_the_server(
    sandbox: Sandbox, track: httpx.Client, data: bytes
) -> None:
    raw = exchange(sandbox.port, data, shutdown=True)
    assert raw == b"" or status_of(raw) == 400
    assert track.get("/api/v1/accounts/region").status_code == 200


def test_a_reset_connection_does_not_hurt_the_server(sandbox: Sandbox, track: httpx.Client) -> None:
    sock = socket.create_connection(("127.0.0.1", sandbox.port), timeout=5)
    sock.sendall(b"PUT /api/v1/customers/x HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()  # RST
    for _ in range(3):
        assert track.get("/api/v1/accounts/region").status_code == 200


def test_a_bug_in_a_handler_is_a_500_not_a_dead_server(
    sandbox: Sandbox, track: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    with monkeypatch.context() as patch:
        patch.setattr(sandbox, "_route", broken)
        response = track.get("/api/v1/accounts/region")
    assert response.status_code == 500
    assert response.headers["connection"] == "close"
    assert response.json() == {"meta": {"error": "internal sandbox error"}}
    assert track.get("/api/v1/accounts/region").status_code == 200


def test_many_concurrent_connections(sandbox: Sandbox, info: SandboxInfo) -> None:
    conns = [RawConnection(sandbox.port) for _ in range(64)]
    try:
        for round_ in range(3):
            for i, conn in enumerate(conns):
                target = f"/api/v1/customers/c{round_}-{i}"
                head = f"DELETE {target} HTTP/1.1\r\nAuthorization: {basic_auth(info)}\r\n\r\n"
                conn.send(head.encode())
            assert all(conn.response()[0] == 200 for conn in conns)
    finally:
        for conn in conns:
            conn.close()
