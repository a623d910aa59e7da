"""Hostile surroundings for tests: a really full filesystem, a file-size limit, a redirect trap.

Real parts only: `full_filesystem` mounts a small tmpfs (the suite runs as root in CI), and
`redirect_trap` runs two real HTTP servers on 127.0.0.1, one that redirects and one that
records everything that followed the redirect.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.support.loopback import serve


@contextmanager
def full_filesystem(path: Path, *, size_kib: int = 64) -> Iterator[Path]:
    """Mount a ``size_kib`` KiB tmpfs at ``path`` (created) for the block; unmount after.

    Writes beyond its size fail with ENOSPC, exactly as on a full disk. Needs root, which
    CI and the development machines have; elsewhere the test fails with the reason rather
    than skipping, so a green run always means the full-disk paths were exercised.
    """
    if os.geteuid() != 0:
        pytest.fail("a real full filesystem needs root (mount -t tmpfs); run the suite as root")
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0755", "tmpfs", str(path)],
        check=True,
        capture_output=True,
    )
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


def fill(path: Path, *, leave: int = 0) -> None:
    """Fill the filesystem holding directory ``path`` until at most ``leave`` bytes are free."""
    filler = path / ".filler"
    stats = os.statvfs(path)
    free = stats.f_bavail * stats.f_frsize
    with filler.open("ab") as handle:
        chunk = b"\0" * 4096
        while free - leave >= len(chunk):
            try:
                handle.write(chunk)
                handle.flush()
            except OSError:
                break
            free -= len(chunk)


def run_with_file_size_limit(
    args: Sequence[str],
    *,
    limit_bytes: int,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m cio_sec ARGS`` with RLIMIT_FSIZE set: writes past it fail (EFBIG).

    SIGXFSZ is ignored in the child so a write past the limit fails instead of killing it,
    which is what a process sees on a full disk. Needs no root.
    """

    def limit() -> None:  # runs in the child between fork and exec
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run(
        [sys.executable, "-m", "cio_sec", *args],
        capture_output=True,
        text=True,
        env=_child_env(dict(os.environ) if env is None else env),
        cwd=cwd,
        preexec_fn=limit,
        timeout=120,
        check=False,
    )


def _child_env(env: dict[str, str]) -> dict[str, str]:
    # Under `make test` coverage would follow the child and write its data file past the
    # limit, failing with its own traceback; the child's behaviour is what is under test.
    # A .pyc cut off by the limit would break every later import of that module.
    kept = {name: value for name, value in env.items() if not name.startswith("COVERAGE")}
    return {**kept, "PYTHONDONTWRITEBYTECODE": "1"}


@dataclass
class Received:
    """One request that reached the trap: method, path, headers and body."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class RedirectTrap:
    """``url`` redirects every request to ``trap_url``; ``received`` is what reached the trap."""

    url: str
    trap_url: str
    received: list[Received] = field(default_factory=list)
    redirected: list[Received] = field(default_factory=list)


def _handler(
    record: list[Received],
    answer: tuple[int, dict[str, str], bytes],
    *,
    location_base: str | None = None,
) -> type[BaseHTTPRequestHandler]:
    status, headers, body = answer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or "0")
            data = self.rfile.read(length) if length else b""
            record.append(Received(self.command, self.path, dict(self.headers.items()), data))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if location_base is not None:  # keep the path, as a moved server would
                self.send_header("Location", location_base + self.path)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _any  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def redirect_trap(
    status: int = 307,
    *,
    trap_status: int = 200,
    trap_body: bytes = b'{"trap": "followed"}',
    trap_headers: dict[str, str] | None = None,
) -> Iterator[RedirectTrap]:
    """Serve a redirecting endpoint whose target records whatever follows the redirect.

    A client that never follows redirects leaves ``trap.received`` empty; the redirecting
    side's own requests are in ``trap.redirected``.
    """
    received: list[Received] = []
    redirected: list[Received] = []
    answer = (trap_status, {"Content-Type": "application/json", **(trap_headers or {})}, trap_body)
    with serve(_handler(received, answer)) as trap_url:
        redirecting = _handler(redirected, (status, {}, b""), location_base=trap_url)
        with serve(redirecting) as url:
            yield RedirectTrap(url, trap_url, received, redirected)
