"""Benchmark: erase's request rate, batch speed-up and memory, against the sandbox.

Run with ``.venv/bin/python bench/erase.py``. The sandbox runs in its own process
(``cio-sec sandbox``) with an enforced rate limit (by default exactly the configured
``--rate``, so any overshoot shows up as 429s) and a few milliseconds of latency; each
measurement runs ``cio-sec erase`` as a subprocess, as an operator would. Printed:

- achieved requests/s ÷ configured rate, over the erasing requests the sandbox logged
  (target >= 0.95);
- people/s with ``--api batch`` ÷ people/s with ``--api v1`` at the same request rate
  (target >= 10);
- peak RSS of the erase process at 10,000 and at 200,000 people (target: within 20 MB);
- verified people/s ÷ the App API limit the sandbox enforces (``app_rate_limit``, by
  default 10/s, Customer.io's own), with the read-back rate set to that limit
  (target >= 0.95).

The erase figures are measured with ``--no-verify``, so they are the erasing alone.
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

BIN = Path(sys.executable).parent
MB = 1024 * 1024


def start_sandbox() -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """A sandbox process and its info line."""
    process = subprocess.Popen(
        [str(BIN / "cio-sec"), "sandbox"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    if process.stdout is None:  # pragma: no cover - PIPE was asked for
        raise SystemExit("no sandbox output")
    return process, json.loads(process.stdout.readline())


def set_faults(info: dict[str, Any], **faults: object) -> None:
    """Replace the sandbox's faults."""
    httpx.put(f"{info['admin_url']}/faults", json=faults).raise_for_status()


def erasing_times(info: dict[str, Any], *, method: str | None = None) -> tuple[list[float], int]:
    """Arrival times of the erasing requests the sandbox logged, and how many got a 429.

    With ``method="GET"``: the read-backs instead (the region lookup is left out).
    """
    log = httpx.get(f"{info['admin_url']}/requests").json()
    entries = [
        entry
        for entry in log["requests"]
        if (entry["method"] != "GET" if method is None else entry["path"].endswith("/attributes"))
    ]
    httpx.delete(f"{info['admin_url']}/requests").raise_for_status()
    throttled = sum(1 for entry in entries if entry["status"] == 429)
    return sorted(entry["time"] for entry in entries), throttled


def write_ids(directory: Path, prefix: str, count: int) -> Path:
    """A CSV file of ``count`` ids."""
    path = directory / f"{prefix}.csv"
    with path.open("w") as handle:
        handle.write("id\n")
        handle.writelines(f"{prefix}-{n:07d}\n" for n in range(count))
    return path


def create_people(info: dict[str, Any], ids: Path) -> None:
    """Identify everyone in ``ids`` first: a read-back proves something only of someone real."""
    auth = (info["site_id"], info["track_api_key"])
    with httpx.Client(base_url=info["track_url"], auth=auth) as track:
        for line in ids.read_text().splitlines()[1:]:
            track.put(f"/api/v1/customers/{line}", json={"bench": True}).raise_for_status()


def run_erase(env: dict[str, str], ids: Path, *args: str) -> tuple[float, int]:
    """Run one erase to completion; returns wall seconds and the peak RSS in bytes.

    Raises:
        SystemExit: the erase failed, or a person was left, or not verified when asked.
    """
    started = time.monotonic()
    process = subprocess.Popen(
        [str(BIN / "cio-sec"), "erase", "--file", str(ids), "--yes", "-f", "json", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.monotonic() - started
    if process.stdout is None:  # pragma: no cover - PIPE was asked for
        raise SystemExit("no erase output")
    doc = json.loads(process.stdout.read())
    process.stdout.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    counts = doc["counts"]
    verifying = "--no-verify" not in args
    if (
        process.returncode != 0
        or counts["left"]
        or (verifying and counts["verified"] != counts["erased"])
    ):
        raise SystemExit(f"erase failed (exit {process.returncode}): {doc}")
    return elapsed, usage.ru_maxrss * 1024  # Linux reports KiB


def main() -> None:
    """Measure and print the three ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="configured requests/s")
    parser.add_argument("--latency-ms", type=float, default=3.0)
    parser.add_argument("--v1-people", type=int, default=600)
    parser.add_argument("--batch-people", type=int, default=20_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=200_000)
    parser.add_argument(
        "--headroom",
        type=float,
        default=1.0,
        help="the sandbox enforces this multiple of the configured rate (default: exactly it)",
    )
    parser.add_argument("--skip-memory", action="store_true", help="skip the RSS runs")
    parser.add_argument("--verify-people", type=int, default=300)
    parser.add_argument(
        "--app-limit", type=float, default=10.0, help="App API requests/s the sandbox enforces"
    )
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
            rate = str(options.rate)
            enforced = options.rate * options.headroom
            set_faults(info, rate_limit=enforced, latency_ms=options.latency_ms)
            erasing_times(info)  # start from an empty log

            ids = write_ids(work, "v1", options.v1_people)
            v1_seconds, _ = run_erase(env, ids, "--rate", rate, "--api", "v1", "--no-verify")
            times, throttled = erasing_times(info)
            achieved = (len(times) - 1) / (times[-1] - times[0])
            v1_people_per_s = options.v1_people / v1_seconds

            ids = write_ids(work, "batch", options.batch_people)
            batch_seconds, _ = run_erase(env, ids, "--rate", rate, "--api", "batch", "--no-verify")
            batch_times, _ = erasing_times(info)
            batch_people_per_s = options.batch_people / batch_seconds

            # Verification: erasing is fast, the read-backs are held to the App API's limit.
            limit = options.app_limit
            set_faults(info, app_rate_limit=limit, latency_ms=options.latency_ms)
            ids = write_ids(work, "verify", options.verify_people)
            create_people(info, ids)
            erasing_times(info)
            verify_seconds, _ = run_erase(
                env, ids, "--rate", "5000", "--concurrency", "32", "--verify-rate", str(limit)
            )
            reads, read_throttled = erasing_times(info, method="GET")
            verified_per_s = (len(reads) - 1) / (reads[-1] - reads[0])

            set_faults(info)  # memory: as fast as the sandbox goes
            rss = {}
            for count in () if options.skip_memory else (options.small, options.large):
                ids = write_ids(work, f"m{count}", count)
                seconds, peak = run_erase(
                    env, ids, "--api", "batch", "--rate", "10000", "--no-verify"
                )
                rss[count] = (peak, seconds)
    finally:
        sandbox.terminate()
        sandbox.wait()

    print(
        f"configured rate             {options.rate:.0f} requests/s, latency "
        f"{options.latency_ms:g} ms; the sandbox enforces {enforced:.0f} requests/s"
    )
    print(
        f"v1: {options.v1_people} people, {len(times)} requests ({throttled} answered 429), "
        f"achieved {achieved:.1f} requests/s"
    )
    print(f"achieved / configured rate  {achieved / options.rate:.3f}   (target >= 0.95)")
    print(
        f"people/s v1                 {v1_people_per_s:.1f}  "
        f"({v1_seconds:.1f} s, start-up included)"
    )
    print(
        f"people/s batch              {batch_people_per_s:.1f}  ({options.batch_people} "
        f"people, {len(batch_times)} requests, {batch_seconds:.1f} s)"
    )
    print(
        f"batch / v1 people/s         {batch_people_per_s / v1_people_per_s:.1f}   (target >= 10)"
    )
    print(
        f"verify: {options.verify_people} people, {len(reads)} read-backs ({read_throttled} "
        f"answered 429), {verified_per_s:.1f} verified people/s ({verify_seconds:.1f} s in all)"
    )
    print(
        f"verified/s / App API limit  {verified_per_s / limit:.3f}   (limit {limit:g}/s; "
        "target >= 0.95)"
    )
    if options.skip_memory:
        return
    (small, small_s), (large, large_s) = rss[options.small], rss[options.large]
    print(f"peak RSS {options.small:>7} people    {small / MB:.1f} MB  ({small_s:.1f} s)")
    print(f"peak RSS {options.large:>7} people    {large / MB:.1f} MB  ({large_s:.1f} s)")
    print(f"RSS difference              {(large - small) / MB:.1f} MB   (target <= 20 MB)")


if __name__ == "__main__":
    main()
