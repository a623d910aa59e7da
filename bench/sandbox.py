"""Benchmark: sandbox requests/s over keep-alive connections, against a minimal asyncio server.

Run with ``.venv/bin/python bench/sandbox.py``. The sandbox and a baseline server (an
asyncio server that answers ``{}`` to everything) each run in their own process on
127.0.0.1; this process drives them with N keep-alive connections through a lean raw
asyncio client, for a fixed number of requests per scenario, and prints requests/s and the
ratio to the baseline measured in the same run. The target is at least 1,000 requests/s.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
TARGET_RPS = 1_000

SANDBOX_SCRIPT = """
import json
from cio_sec.sandbox import Sandbox

def ready(info):
    print(json.dumps(info.to_json()), flush=True)

Sandbox().run_until_interrupted(ready)
"""

BASELINE_SCRIPT = r"""
import asyncio, json, signal

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"

async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            writer.write(RESPONSE)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print(json.dumps({"track_url": f"http://127.0.0.1:{port}"}), flush=True)
    async with server:
        await stop.wait()

asyncio.run(main())
"""


LABELS = {"region": "GET /api/v1/accounts/region", "delete": "DELETE /api/v1/customers/{id}"}


@dataclass(frozen=True)
class Server:
    info: dict[str, str]
    pid: int

    @property
    def port(self) -> int:
        return int(self.info["track_url"].rsplit(":", 1)[1])


@dataclass(frozen=True)
class Result:
    kind: str
    connections: int
    requests: int
    seconds: float
    statuses: dict[int, int]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


@contextmanager
def server_process(script: str) -> Iterator[Server]:
    """Start a server script in its own process; yield it once it printed its JSON line."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=ROOT, env=env, text=True
    )
    try:
        line = proc.stdout.readline() if proc.stdout is not None else ""
        if not line:
            raise RuntimeError(f"server process exited with {proc.wait()}")
        yield Server(json.loads(line), proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def rss_kib(pid: int) -> int | None:
    """Resident memory of a process in KiB (Linux only)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def build_requests(kind: str, port: int, info: dict[str, str], count: int) -> list[bytes]:
    """Return `count` raw HTTP/1.1 requests of one kind."""
    token = base64.b64encode(f"{info.get('site_id', '')}:{info.get('track_api_key', '')}".encode())
    head = f"Host: {HOST}:{port}\r\nAuthorization: Basic {token.decode()}\r\n\r\n"
    if kind == "region":
        raw = f"GET /api/v1/accounts/region HTTP/1.1\r\n{head}".encode()
        return [raw] * count
    return [
        f"DELETE /api/v1/customers/person-{i} HTTP/1.1\r\n{head}".encode() for i in range(count)
    ]


async def _worker(
    port: int, chunk: list[bytes], start: asyncio.Event, statuses: Counter[int]
) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    await start.wait()
    for raw in chunk:
        writer.write(raw)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await reader.readexactly(length)
        statuses[int(head[9:12])] += 1
    writer.close()
    await writer.wait_closed()


async def _drive(port: int, requests: list[bytes], connections: int) -> tuple[float, Counter[int]]:
    statuses: Counter[int] = Counter()
    start = asyncio.Event()
    chunks = [requests[i::connections] for i in range(connections)]
    tasks = [asyncio.create_task(_worker(port, chunk, start, statuses)) for chunk in chunks]
    await asyncio.sleep(0.2)  # let every connection open before the clock starts
    began = time.perf_counter()
    start.set()
    await asyncio.gather(*tasks)
    return time.perf_counter() - began, statuses


def measure(server: Server, kind: str, connections: int, count: int) -> Result:
    """Time `count` requests of one kind over `connections` keep-alive connections."""
    requests = build_requests(kind, server.port, server.info, count)
    seconds, statuses = asyncio.run(_drive(server.port, requests, connections))
    return Result(kind, connections, count, seconds, dict(statuses))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=20_000, help="requests per run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per scenario and server")
    parser.add_argument("--connections", type=int, nargs="+", default=[4, 16])
    args = parser.parse_args(argv)
    count: int = args.requests
    print(
        f"{count} requests per run, {args.rounds} alternating runs per server; "
        "req/s are medians (min-max)"
    )
    print(f"{'scenario':<32}{'conns':>6}{'sandbox req/s':>22}{'baseline req/s':>22}{'ratio':>7}")
    failed = False
    with server_process(BASELINE_SCRIPT) as baseline, server_process(SANDBOX_SCRIPT) as sandbox:
        for kind in LABELS:
            for connections in args.connections:
                runs: dict[str, list[Result]] = {"sandbox": [], "baseline": []}
                for server in (baseline, sandbox):  # warm-up
                    measure(server, kind, connections, min(count, 2_000))
                for _ in range(args.rounds):
                    runs["baseline"].append(measure(baseline, kind, connections, count))
                    runs["sandbox"].append(measure(sandbox, kind, connections, count))
                bad = [r.statuses for r in runs["sandbox"] if r.statuses != {200: count}]
                rates = {name: sorted(r.rps for r in results) for name, results in runs.items()}
                median = {name: statistics.median(values) for name, values in rates.items()}
                failed |= bool(bad) or median["sandbox"] < TARGET_RPS
                cells = {
                    name: f"{median[name]:.0f} ({values[0]:.0f}-{values[-1]:.0f})"
                    for name, values in rates.items()
                }
                print(
                    f"{LABELS[kind]:<32}{connections:>6}{cells['sandbox']:>22}"
                    f"{cells['baseline']:>22}{median['sandbox'] / median['baseline']:>7.2f}"
                    + (f"  unexpected statuses {bad}" if bad else "")
                )
        # The request log is bounded, so the sandbox's memory levels off over a long run.
        memory = []
        for _ in range(3):
            measure(sandbox, "region", 16, count * 3)
            rss = rss_kib(sandbox.pid)
            memory.append("n/a" if rss is None else f"{rss / 1024:.1f} MiB")
    print(f"sandbox RSS after each of 3 x {count * 3} more requests: {', '.join(memory)}")
    print(
        f"target >= {TARGET_RPS} req/s (median) in every scenario: {'FAILED' if failed else 'met'}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
