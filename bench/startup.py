"""Start-up cost of a TAB press and of ``--version``, against a bare Python start.

Every TAB runs cio-sec once, so its start-up is what users feel. Each round runs, one
after the other: ``python -c pass`` (the baseline, same interpreter), a completion request
as the bash, zsh and fish scripts send it, ``cio-sec --version``, and the full
``cio-sec --help`` for comparison. Prints the median of each and its ratio to the
baseline. Target: each TAB kind and ``--version`` <= 3x the baseline. The real console
script of this virtualenv is measured, so its own start-up counts.

    .venv/bin/python bench/startup.py [--runs 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROGRAM = str(Path(sys.executable).parent / "cio-sec")
TARGET = 3.0


def _tab(shell: str) -> tuple[list[str], dict[str, str]]:
    return [PROGRAM, "rotate", ""], {"_CIO_SEC_COMPLETE": shell}


SCENARIOS: dict[str, tuple[list[str], dict[str, str]]] = {
    "python -c pass": ([sys.executable, "-c", "pass"], {}),
    "TAB bash": _tab("bash"),
    "TAB zsh": _tab("zsh"),
    "TAB fish": _tab("fish"),
    "TAB --profile bash": ([PROGRAM, "--profile", ""], {"_CIO_SEC_COMPLETE": "bash"}),
    "--version": ([PROGRAM, "--version"], {}),
    "--help (full CLI)": ([PROGRAM, "--help"], {}),
}
CHECKED = ("TAB bash", "TAB zsh", "TAB fish", "TAB --profile bash", "--version")


def _time_once(argv: list[str], extra_env: dict[str, str]) -> float:
    env = {**os.environ, **extra_env}
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as config_home:
        config = Path(config_home) / "cio-sec" / "config.toml"
        config.parent.mkdir()
        config.write_text('[profiles.staging]\nregion = "eu"\n[profiles.prod]\nregion = "us"\n')
        SCENARIOS["TAB --profile bash"][1]["XDG_CONFIG_HOME"] = config_home
        _report(_measure(args.runs))


def _measure(runs: int) -> dict[str, list[float]]:
    for argv, env in SCENARIOS.values():  # warm the OS caches and the bytecode once
        _time_once(argv, env)
    times: dict[str, list[float]] = {name: [] for name in SCENARIOS}
    for _ in range(runs):
        for name, (argv, env) in SCENARIOS.items():  # interleaved: they share the noise
            times[name].append(_time_once(argv, env))
    return times


def _report(times: dict[str, list[float]]) -> None:
    baseline = statistics.median(times["python -c pass"])
    print(f"{'scenario':<20} {'median ms':>10} {'ratio':>6}")
    for name, samples in times.items():
        median = statistics.median(samples)
        verdict = ""
        if name in CHECKED:
            verdict = "  ok" if median / baseline <= TARGET else f"  over {TARGET:.0f}x"
        print(f"{name:<20} {median * 1000:>10.1f} {median / baseline:>6.2f}{verdict}")


if __name__ == "__main__":
    main()
