"""Benchmark: ``sanitize`` NDJSON throughput against a bare json.loads + json.dumps round trip.

Run with ``.venv/bin/python bench/sanitize.py [--records 50000] [--large 1000000]``.

1. Generates an NDJSON file of realistic customer records (nested objects and lists,
   20-40 attributes each, some PII, free text with card numbers, emails and phones, and
   order comments with phones, dates and prices).
2. Splits the file into chunks of ``--chunk`` records and, ``--runs`` times over, round-trips
   each chunk bare (read lines, ``json.loads``, ``json.dumps``, write) and through the
   sanitising stream (what ``cio-sec sanitize`` does: orjson reading and writing, the
   default policy with every detector on, keyed pseudonyms), taking turns at going first.
   Prints records/s for the whole file (best run) and the ratio sanitize/bare (target: at
   least 1.0, issue 18) as the median of the chunk pairs' ratios, with their quartiles.
   The machine's speed drifts by more than the difference measured, within seconds; the
   two halves of a pair, a fraction of a second apart, share the drift. Also prints each
   side's CPU time per record (median over chunks, ``time.process_time``), which other
   processes on the machine disturb less than wall time.
3. Runs ``cio-sec sanitize`` as a subprocess on 10,000 and on ``--large`` records and
   prints each child's peak RSS (``os.wait4``): streaming means the two are about equal.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cio_sec.pseudonym import PseudonymKey
from cio_sec.sanitize import Policy, SanitizeCounts, keyed_hasher, sanitize_records
from cio_sec.sanitize.formats import InputFormat, read_document, write_document

SCRIPTS = Path(sys.executable).parent
KEY_TEXT = "bench-pseudonym-key-0123456789abcdef"
PLANS = ["free", "starter", "growth", "enterprise"]
WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "lazy",
    "dogs",
    "while",
    "customers",
    "browse",
    "our",
    "catalogue",
]


def make_record(rng: random.Random, number: int) -> dict[str, Any]:
    """One customer: 20-40 attributes, two nested objects, a list, some PII."""
    record: dict[str, Any] = {
        "id": f"cust_{number:09d}",
        "email": f"user{number}@example.com",
        "firstName": rng.choice(["Ana", "Bo", "Chen", "Dara", "Eli"]),
        "last_name": rng.choice(["Smith", "Ng", "Okafor", "Silva"]),
        "phone": f"+1 (555) {rng.randrange(1000):03d}-{rng.randrange(10000):04d}",
        "ip_address": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
        "created_at": 1_700_000_000 + number,
        "plan": rng.choice(PLANS),
        "mrr": round(rng.random() * 500, 2),
        "active": rng.random() > 0.2,
        "address": {
            "street_address": f"{rng.randrange(1, 999)} Main St",
            "city": "Springfield",
            "country": "US",
            "zip": f"{rng.randrange(100000):05d}",
        },
        "devices": [
            {"platform": rng.choice(["ios", "android", "web"]), "last_used": 1_700_000_000 + i}
            for i in range(rng.randrange(1, 3))
        ],
        "notes": " ".join(rng.choices(WORDS, k=rng.randrange(3, 12))),
    }
    if number % 50 == 0:
        record["notes"] += " card 4111 1111 1111 1111"
        record["ssn"] = "123-45-6789"
    if number % 20 == 0:
        record["notes"] += f" mail me at home{number}@example.org or call +44 20 7946 0958"
    if number % 10 == 0:
        record["orders"] = [
            {"order_id": f"ORD-{number:08d}", "total": "$1,234.56", "comment": "leave at door"},
            {"placed_at": "2024-01-15T10:30:00Z", "comment": "call 555-123-4567 on arrival"},
        ]
    for extra in range(rng.randrange(10, 28)):
        record[f"custom_attr_{extra}"] = rng.choice(
            [rng.randrange(10_000), rng.choice(WORDS), rng.random() > 0.5, None]
        )
    return record


def generate(path: Path, count: int) -> None:
    rng = random.Random(count)
    with path.open("w", encoding="utf-8") as out:
        for number in range(count):
            out.write(json.dumps(make_record(rng, number)) + "\n")


def bare_round_trip(source: Path, target: Path) -> int:
    loads, dumps = json.loads, json.dumps
    records = 0
    with source.open("rb") as stream, target.open("w", encoding="utf-8") as out:
        for line in stream:
            out.write(dumps(loads(line), ensure_ascii=False, separators=(",", ":")) + "\n")
            records += 1
    return records


def sanitize_round_trip(source: Path, target: Path) -> int:
    """What ``cio-sec sanitize`` does to an NDJSON file, without the process around it."""
    with source.open("rb") as stream, target.open("wb") as out:
        document = read_document(stream, InputFormat.NDJSON, str(source), None)
        counts = SanitizeCounts()
        records = sanitize_records(document.records, POLICY, hasher=HASHER, counts=counts)
        write_document(out, document.shape, records, [])
    return counts.records


POLICY = Policy.default()
HASHER = keyed_hasher(PseudonymKey.from_text(KEY_TEXT))


def split(source: Path, chunk: int) -> list[Path]:
    """The file as files of ``chunk`` lines each, next to it; read a chunk at a time, so
    this process stays small and the peak RSS measured below is the child's own."""
    chunks: list[Path] = []
    with source.open("rb") as stream:
        while lines := list(itertools.islice(stream, chunk)):
            path = source.with_name(f"chunk-{len(chunks):04d}.ndjson")
            path.write_bytes(b"".join(lines))
            chunks.append(path)
    return chunks


CPU_TIMES: dict[str, list[float]] = {"bare": [], "ours": []}


def timed(function: Any, source: Path, target: Path, side: str) -> float:
    start, cpu = time.perf_counter(), time.process_time()
    records = function(source, target)
    elapsed = time.perf_counter() - start
    CPU_TIMES[side].append((time.process_time() - cpu) / records)
    return elapsed


def measure(chunks: list[Path], target: Path, runs: int) -> tuple[list[float], float, float]:
    """Pairwise ratios over all chunks and runs, and the best whole-file times of each side."""
    ratios: list[float] = []
    best_bare = best_ours = float("inf")
    for run in range(runs):
        total_bare = total_ours = 0.0
        for number, chunk in enumerate(chunks):
            if (run + number) % 2:
                ours = timed(sanitize_round_trip, chunk, target, "ours")
                bare = timed(bare_round_trip, chunk, target, "bare")
            else:
                bare = timed(bare_round_trip, chunk, target, "bare")
                ours = timed(sanitize_round_trip, chunk, target, "ours")
            ratios.append(bare / ours)
            total_bare += bare
            total_ours += ours
        best_bare, best_ours = min(best_bare, total_bare), min(best_ours, total_ours)
    return sorted(ratios), best_bare, best_ours


def peak_rss_kib(source: Path, target: Path) -> int:
    """Run the CLI on ``source`` and return the child's own peak RSS (KiB on Linux)."""
    env = {**os.environ, "CIO_SEC_PSEUDONYM_KEY": KEY_TEXT, "CIO_SEC_NON_INTERACTIVE": "1"}
    argv = [str(SCRIPTS / "cio-sec"), "sanitize", str(source), "-o", str(target)]
    child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"cio-sec sanitize failed on {source}")
    return int(usage.ru_maxrss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=2_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source, target = work / "records.ndjson", work / "out.ndjson"
        generate(source, args.records)
        size = source.stat().st_size
        print(f"{args.records} records, {size / args.records:.0f} bytes per record")
        ratios, bare, ours = measure(split(source, args.chunk), target, args.runs)
        print(f"bare json.loads+json.dumps: {args.records / bare:,.0f} records/s (best run)")
        print(f"sanitize (default policy, keyed): {args.records / ours:,.0f} records/s")
        quartiles = statistics.quantiles(ratios, n=4)
        print(
            f"ratio sanitize/bare: {statistics.median(ratios):.2f} (median of {len(ratios)} "
            f"chunk pairs, quartiles {quartiles[0]:.2f}-{quartiles[2]:.2f}; target >= 1.0)"
        )
        bare_cpu, ours_cpu = (statistics.median(CPU_TIMES[side]) * 1e6 for side in CPU_TIMES)
        print(
            f"CPU per record: bare {bare_cpu:.1f} us, sanitize {ours_cpu:.1f} us "
            f"(ratio {bare_cpu / ours_cpu:.2f})"
        )
        for count in (10_000, args.large):
            generate(source, count)
            rss = peak_rss_kib(source, target)
            print(f"cio-sec sanitize, {count:,} records: peak RSS {rss / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
