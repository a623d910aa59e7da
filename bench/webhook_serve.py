"""Benchmark: what hostile clients cost ``cio-sec verify-webhook serve`` (issue 15, finding 6).

Run with ``.venv/bin/python bench/webhook_serve.py`` (``--source DIR`` runs another
checkout's ``cio_sec``, e.g. an export of main, for a before/after comparison). The receiver
runs as a subprocess, as an operator would run it. Printed, from ``/proc/PID/status``:

- threads and RSS while 500 half-open connections are held;
- peak and final RSS while 20 clients each send an almost-16 MB body, with the default
  ``--max-body`` and with ``--max-body 16777216`` (the largest allowed).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

MB = 1024 * 1024
KEY = "bench-webhook-signing-key"
BODY_BYTES = 16_000_000


def start_serve(source: str | None, *args: str) -> tuple[subprocess.Popen[str], tuple[str, int]]:
    """A receiver process and its address."""
    env = {**os.environ, "CUSTOMERIO_WEBHOOK_SECRET": KEY}
    if source:
        env["PYTHONPATH"] = source
    process = subprocess.Popen(
        [sys.executable, "-m", "cio_sec", "verify-webhook", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=source,  # `python -m` puts the working directory first on sys.path
    )
    if process.stdout is None:  # pragma: no cover - PIPE was asked for
        raise SystemExit("no receiver output")
    host, port = process.stdout.readline().strip().removeprefix("http://").rstrip("/").split(":")
    return process, (host, int(port))


def status(process: subprocess.Popen[str]) -> dict[str, int]:
    """Threads, RSS and peak RSS (bytes) of a process, from /proc."""
    fields = {}
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("Threads", "VmRSS", "VmHWM"):
            number = int(value.split()[0])
            fields[name] = number if name == "Threads" else number * 1024
    return fields


def stop(process: subprocess.Popen[str]) -> None:
    """Stop a receiver."""
    process.terminate()
    process.wait(timeout=60)


def half_open(source: str | None, count: int) -> None:
    """Hold ``count`` connections that never send a request; report threads and RSS."""
    process, address = start_serve(source)
    try:
        before = status(process)
        connections = [socket.create_connection(address) for _ in range(count)]
        time.sleep(1.0)  # let the receiver accept and start whatever it starts
        held = status(process)
        for connection in connections:
            connection.close()
    finally:
        stop(process)
    print(
        f"{count} half-open connections: threads {before['Threads']} -> {held['Threads']}, "
        f"RSS {before['VmRSS'] / MB:.0f} -> {held['VmRSS'] / MB:.0f} MB"
    )


def _send_body(address: tuple[str, int]) -> None:
    with socket.create_connection(address, timeout=120) as connection:
        connection.sendall(b"POST / HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % BODY_BYTES)
        piece = b"x" * MB
        try:
            for start in range(0, BODY_BYTES, MB):
                connection.sendall(piece[: min(MB, BODY_BYTES - start)])
            connection.recv(4096)
        except OSError:  # refused early (413) and closed: the point of the limit
            return


def huge_bodies(source: str | None, clients: int, *args: str) -> None:
    """``clients`` concurrent almost-16 MB bodies; report peak RSS and RSS after they left."""
    process, address = start_serve(source, *args)
    try:
        before = status(process)
        threads = [threading.Thread(target=_send_body, args=(address,)) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        time.sleep(1.0)
        after = status(process)
    finally:
        stop(process)
    label = " ".join(args) or "defaults"
    print(
        f"{clients} x {BODY_BYTES / MB:.0f} MB bodies ({label}): RSS {before['VmRSS'] / MB:.0f} "
        f"MB, peak {after['VmHWM'] / MB:.0f} MB, after {after['VmRSS'] / MB:.0f} MB"
    )


def main() -> None:
    """Run the measurements and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", help="a directory holding another cio_sec package")
    parser.add_argument("--connections", type=int, default=500)
    parser.add_argument("--clients", type=int, default=20)
    options = parser.parse_args()
    half_open(options.source, options.connections)
    huge_bodies(options.source, options.clients)
    if options.source is None:  # --max-body is new: older checkouts read 16 MB bodies anyway
        huge_bodies(options.source, options.clients, "--max-body", str(16 * MB))


if __name__ == "__main__":
    main()
