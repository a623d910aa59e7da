"""Full-history scan time of ``cio-sec scan-repo`` against git itself and truffleHog 2.

Generates a repository (several thousand commits over branches and tags, mixed file types:
Python, JS, JSON, YAML, .env, binaries, gzip, with a few Customer.io keys planted) or
takes any local repository, then measures in the same run:

- git alone streaming every object: ``git cat-file --batch-all-objects --batch >/dev/null``;
- ``cio-sec scan-repo REPO --format json`` (a real process, start-up included);
- truffleHog 2.2.1 (PyPI, GitPython-based), installed into a throwaway virtualenv (it
  pins old dependencies), with a Customer.io rule through its ``--rules`` option.

Prints the times and the ratios (targets: <= 3x git, >= 10x faster than truffleHog).

    .venv/bin/python bench/scan_repo.py [--commits 4000] [--repo PATH] [--no-trufflehog]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CIO_SEC = Path(sys.executable).parent / "cio-sec"
TRUFFLEHOG_VERSION = "2.2.1"
# trufflehog's own Customer.io rule (reference notes §6), as a truffleHog 2 --rules file.
TRUFFLEHOG_RULES = {"Customer.io key": "(?i:customer)(?:.|[\\n\\r]){0,40}?\\b([a-z0-9A-Z]{20})\\b"}
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


def generate_repo(path: Path, commits: int, seed: int = 7) -> None:
    """Build a repository with git fast-import: branches, tags, merges-free linear lines."""
    rng = random.Random(seed)
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
                content += (
                    f"\nCUSTOMERIO_SITE_ID={secrets.token_hex(10)}\n"
                    f"CUSTOMERIO_TRACK_API_KEY={secrets.token_hex(10)}\n"
                ).encode()
            stream += f"M 100644 inline {name}\n".encode()
            stream += b"data %d\n%s\n" % (len(content), content)
        if number % 500 == 0:
            stream += f"tag v{number}\nfrom :{number}\n".encode()
            stream += b"tagger Bench <b@example.com> 1600000000 +0000\ndata 0\n"
    subprocess.run(["git", "fast-import", "--quiet"], input=bytes(stream), cwd=path, check=True)
    subprocess.run(["git", "checkout", "-q", "main"], cwd=path, check=True)
    subprocess.run(["git", "gc", "-q"], cwd=path, check=True)


def best_of(runs: int, command: list[str], cwd: Path) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - started)
    return min(times)


def trufflehog(workdir: Path) -> Path:
    venv = workdir / "trufflehog-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(venv / "bin/python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"truffleHog=={TRUFFLEHOG_VERSION}",
        ],
        check=True,
    )
    return venv / "bin/trufflehog"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commits", type=int, default=4000)
    parser.add_argument("--repo", type=Path, help="scan this repository instead")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-trufflehog", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-scan-repo-") as tmp:
        workdir = Path(tmp)
        repo = args.repo.resolve() if args.repo else workdir / "repo"
        if args.repo is None:
            started = time.perf_counter()
            generate_repo(repo, args.commits)
            print(f"generated {args.commits} commits in {time.perf_counter() - started:.1f} s")
        count = subprocess.run(
            ["git", "count-objects", "-vH"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.replace("\n", "; ")
        print(f"repository {repo}: {count}")
        git_time = best_of(args.runs, ["git", "cat-file", "--batch-all-objects", "--batch"], repo)
        scan_time = best_of(args.runs, [str(CIO_SEC), "scan-repo", ".", "-f", "json"], repo)
        print(f"git cat-file --batch-all-objects --batch : {git_time:8.3f} s")
        print(f"cio-sec scan-repo (full history)          : {scan_time:8.3f} s")
        print(f"ratio to git streaming                    : {scan_time / git_time:8.2f}x")
        if args.no_trufflehog:
            return
        binary = trufflehog(workdir)
        rules = workdir / "rules.json"
        rules.write_text(json.dumps(TRUFFLEHOG_RULES))
        # truffleHog 2 fetches `origin` and walks its remote branches: give it a clone
        # made beforehand (--repo_path), so that cloning is not counted in its time.
        clone = workdir / "hog-clone"
        subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
        command = [
            str(binary),
            "--regex",
            "--entropy=False",
            "--rules",
            str(rules),
            "--json",
            "--repo_path",
            str(clone),
            f"file://{repo}",
        ]
        env = {**os.environ, "GIT_PYTHON_REFRESH": "quiet"}
        started = time.perf_counter()
        hog = subprocess.run(command, cwd=clone, capture_output=True, env=env, check=False)
        hog_time = time.perf_counter() - started
        if b"Traceback" in hog.stderr:
            sys.exit(f"truffleHog failed:\n{hog.stderr.decode()[-2000:]}")
        hog_findings = hog.stdout.count(b"\n")
        print(f"truffleHog findings (JSON lines)          : {hog_findings:8d}")
        print(f"truffleHog {TRUFFLEHOG_VERSION} --rules (Customer.io)  : {hog_time:8.3f} s")
        print(f"speed-up over truffleHog                  : {hog_time / scan_time:8.2f}x")


if __name__ == "__main__":
    main()
