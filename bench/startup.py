"""Start-up cost of cio-sec against a minimal Typer app with the same command names.

Shell completion runs the program on every TAB press, so its cost is what users feel.
Prints the median wall time of ``--help`` and of a bash completion request for both
programs, measured alternately in the same run, and the ratios (target: completion
<= 1.3x the baseline).

    .venv/bin/python bench/startup.py [--runs 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

BASELINE_APP = textwrap.dedent(
    '''
    """A minimal Typer app with cio-sec's command names and nothing else."""
    import os

    import typer

    app = typer.Typer(no_args_is_help=True, add_completion=False)
    credentials = typer.Typer(no_args_is_help=True)
    app.add_typer(credentials, name="credentials")


    @app.callback()
    def root(profile: str = "", verbose: int = 0) -> None:
        """Root."""


    @credentials.command("show")
    def show(format: str = "text") -> None:
        """Show."""


    @credentials.command("set")
    def set_(name: str, store: str = "", stdin: bool = False, format: str = "text") -> None:
        """Set."""


    @credentials.command("check")
    def check(format: str = "text") -> None:
        """Check."""


    @app.command("sandbox")
    def sandbox(port: int = 0) -> None:
        """Sandbox."""


    webhook = typer.Typer(invoke_without_command=True)
    app.add_typer(webhook, name="verify-webhook")


    @webhook.callback()
    def verify(body: str = "", timestamp: str = "", signature: str = "") -> None:
        """Verify."""


    @webhook.command("sign")
    def sign(body: str = "") -> None:
        """Sign."""


    @webhook.command("serve")
    def serve(port: int = 0) -> None:
        """Serve."""


    @webhook.command("probe")
    def probe(url: str) -> None:
        """Probe."""


    @app.command("sanitize")
    def sanitize(path: str = "-", output: str = "", report: bool = False) -> None:
        """Sanitize."""


    @app.command("erase")
    def erase(file: str = "", yes: bool = False, ticket: str = "") -> None:
        """Erase."""


    @app.command("rotate")
    def rotate(kind: str, resume: bool = False, rollback: bool = False) -> None:
        """Rotate."""


    @app.command("scan-repo")
    def scan_repo(path: str = ".", staged: bool = False) -> None:
        """Scan."""


    audit = typer.Typer(invoke_without_command=True)
    app.add_typer(audit, name="audit")
    log = typer.Typer(no_args_is_help=True)
    audit.add_typer(log, name="log")


    @audit.callback()
    def audit_checks(strict: bool = False) -> None:
        """Audit."""


    @log.command("verify")
    def log_verify(path: str = "") -> None:
        """Verify."""


    @log.command("show")
    def log_show(ticket: str = "") -> None:
        """Show."""


    @log.command("export")
    def log_export(ticket: str = "") -> None:
        """Export."""


    if "_CIO_SEC_COMPLETE" in os.environ:
        from typer.completion import completion_init

        completion_init()
    app(prog_name="cio-sec")
    '''
)


def _time_once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def _completion_env(words: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "_CIO_SEC_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - 1 + (1 if words.endswith(" ") else 0)),
        }
    )
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        baseline_path = Path(tmp) / "baseline_app.py"
        baseline_path.write_text(BASELINE_APP)
        programs = {
            "cio-sec": [sys.executable, str(Path(sys.executable).parent / "cio-sec")],
            "baseline": [sys.executable, str(baseline_path)],
        }
        scenarios = {
            "--help": ([" --help"], dict(os.environ)),
            "completion": ([], _completion_env("cio-sec credentials ")),
        }
        results: dict[tuple[str, str], list[float]] = {}
        for scenario, (extra, env) in scenarios.items():
            argv_extra = [arg.strip() for arg in extra]
            for name in programs:  # warm the OS caches once per program
                _time_once(programs[name] + argv_extra, env)
            for _ in range(args.runs):
                for name, argv in programs.items():  # alternate to share the noise
                    results.setdefault((scenario, name), []).append(
                        _time_once(argv + argv_extra, env)
                    )

    print(f"{'scenario':<12} {'cio-sec ms':>11} {'baseline ms':>12} {'ratio':>6}")
    for scenario in scenarios:
        ours = statistics.median(results[(scenario, "cio-sec")]) * 1000
        base = statistics.median(results[(scenario, "baseline")]) * 1000
        print(f"{scenario:<12} {ours:>11.1f} {base:>12.1f} {ours / base:>6.2f}")


if __name__ == "__main__":
    main()
