"""Benchmark: ``erase --attributes`` throughput against the configured rate, on the sandbox.

Run with ``.venv/bin/python bench/purge.py``. The sandbox runs in its own process
(``cio-sec sandbox``) and enforces exactly the configured ``--rate`` (so an overshoot shows
up as 429s), with a few milliseconds of latency. ``--people`` people are created, each
holding the attribute; one ``cio-sec erase --attributes ssn --all-matching`` then removes it
as a subprocess, as an operator would. Printed: purge requests/s (the identify calls the
sandbox logged, first to last) ÷ the configured rate (target >= 0.95).

The purge runs with the App API unthrottled and a wide read-back rate, so the figure is the
purging alone; the search and read-backs are paced by the App API's own limit in real use.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

# The sibling erase bench's sandbox helpers (bench/ is scripts, not a package).
sys.path.insert(0, str(Path(__file__).parent))
from erase import set_faults, start_sandbox


def create_holders(info: dict[str, Any], count: int) -> None:
    """``count`` people, each holding an ``ssn``."""
    auth = (info["site_id"], info["track_api_key"])
    with httpx.Client(base_url=info["track_url"], auth=auth) as track:
        for n in range(count):
            body = {"ssn": f"900-{n % 100:02d}-{n % 10_000:04d}", "plan": "basic"}
            track.put(f"/api/v1/customers/purge-{n:07d}", json=body).raise_for_status()


def purge_times(info: dict[str, Any]) -> tuple[list[float], int]:
    """Arrival times of the identify calls the sandbox logged, and how many got a 429."""
    log = httpx.get(f"{info['admin_url']}/requests").json()
    entries = [entry for entry in log["requests"] if entry["method"] == "PUT"]
    httpx.delete(f"{info['admin_url']}/requests").raise_for_status()
    return sorted(entry["time"] for entry in entries), sum(
        1 for entry in entries if entry["status"] == 429
    )


def run_purge(env: dict[str, str], rate: float) -> tuple[float, dict[str, Any]]:
    """Run one purge to completion; returns wall seconds and its JSON result.

    Raises:
        SystemExit: the purge failed or left someone unverified.
    """
    started = time.monotonic()
    done = subprocess.run(
        [
            *(str(Path(sys.executable).parent / "cio-sec"), "erase", "--attributes", "ssn"),
            *("--all-matching", "--yes", "-f", "json", "--rate", str(rate)),
            *("--verify-rate", "1000"),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.monotonic() - started
    doc = json.loads(done.stdout) if done.stdout else {}
    counts = doc.get("counts", {})
    if done.returncode != 0 or counts.get("verified") != counts.get("people"):
        raise SystemExit(f"purge failed (exit {done.returncode}): {doc or done.stderr}")
    return elapsed, doc


def main() -> None:
    """Measure and print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="configured requests/s")
    parser.add_argument("--latency-ms", type=float, default=3.0)
    parser.add_argument("--people", type=int, default=1000)
    options = parser.parse_args()

    sandbox, info = start_sandbox()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            env = {
                **os.environ,
                "HOME": str(work),
                "XDG_STATE_HOME": str(work / "state"),
                "XDG_CONFIG_HOME": str(work / "config"),
                "CIO_SEC_TRACK_URL": info["track_url"],
                "CIO_SEC_APP_URL": info["app_url"],
                "CUSTOMERIO_APP_API_KEY": info["app_api_key"],
                "CUSTOMERIO_SITE_ID": info["site_id"],
                "CUSTOMERIO_TRACK_API_KEY": info["track_api_key"],
                "CIO_SEC_PSEUDONYM_KEY": "bench-pseudonym-key-0123456789abcdef",
            }
            create_holders(info, options.people)
            set_faults(info, rate_limit=options.rate, latency_ms=options.latency_ms)
            purge_times(info)  # start from an empty log
            seconds, doc = run_purge(env, options.rate)
            times, throttled = purge_times(info)
    finally:
        sandbox.terminate()
        sandbox.wait()

    achieved = (len(times) - 1) / (times[-1] - times[0])
    print(
        f"configured rate             {options.rate:.0f} requests/s, latency "
        f"{options.latency_ms:g} ms; the sandbox enforces the same"
    )
    print(
        f"purge: {doc['counts']['purged']} people, {len(times)} identify calls "
        f"({throttled} answered 429), {seconds:.1f} s in all (search and read-backs included)"
    )
    print(f"purge requests/s            {achieved:.1f}")
    print(f"achieved / configured rate  {achieved / options.rate:.3f}   (target >= 0.95)")


if __name__ == "__main__":
    main()
