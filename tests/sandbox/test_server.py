"""The `Sandbox` server: construction, start and stop, running in the foreground."""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from typing import Any

import httpx
import pytest

from cio_sec.errors import ConfigError
from cio_sec.sandbox import Faults, Sandbox, SandboxInfo
from tests.sandbox.helpers import (
    HEX,
    RawConnection,
    basic_auth,
    http,
)

pytestmark = pytest.mark.timeout(30)


# --- construction and lifecycle -------------------------------------------------------


def test_info_carries_random_keys_of_the_documented_shapes(sandbox: Sandbox) -> None:
    info = sandbox.info
    base = f"http://127.0.0.1:{sandbox.port}"
    eu = f"http://127.0.0.1:{sandbox.eu_port}"
    assert sandbox.eu_port != sandbox.port
    assert (info.track_url, info.app_url, info.admin_url) == (base, base, base + "/_sandbox")
    assert (info.track_url_eu, info.app_url_eu) == (eu, eu)
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
        "track_url_eu": eu,
        "app_url_eu": eu,
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
        ({"idle_timeout": 0}, "idle_timeout"),
        ({"idle_timeout": -1.0}, "idle_timeout"),
        ({"idle_timeout": math.nan}, "idle_timeout"),
        ({"idle_timeout": math.inf}, "idle_timeout"),
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


def test_port_in_use_is_a_config_error_from_start(sandbox: Sandbox) -> None:
    clash = Sandbox(port=sandbox.port)
    with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{sandbox.port}: .*in use"):
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
