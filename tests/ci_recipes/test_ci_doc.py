"""The recipes of ``docs/ci.md``, parsed from the doc and run against temporary repositories.

Only the cio-sec commands run (``pip install`` and the upload actions need the network);
``cio-sec`` is this environment's. The uploads are checked for what they would send.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from cio_sec.sandbox import Sandbox
from tests.conftest import CANARY
from tests.support.apps import write_config
from tests.support.git_repos import ENV_PAIR, TRACK_KEY, make_repo

pytestmark = pytest.mark.slow

DOC = Path(__file__).resolve().parents[2] / "docs" / "ci.md"


def fenced(language: str) -> list[str]:
    """The doc's fenced blocks in ``language``."""
    return re.findall(rf"^```{language}\n(.*?)^```$", DOC.read_text(), re.S | re.M)


def blocks() -> list[dict[str, Any]]:
    return [yaml.safe_load(block) for block in fenced("yaml")]


def github_workflow() -> dict[str, Any]:
    return next(block for block in blocks() if "jobs" in block)


def gitlab_job() -> dict[str, Any]:
    return next(block["cio-sec"] for block in blocks() if "script" in block.get("cio-sec", {}))


@pytest.fixture
def repos(tmp_path: Path, watched_secrets: set[str]) -> dict[str, Path]:
    """A repository with a committed key, and a clean one."""
    watched_secrets.add(TRACK_KEY)
    leaky = make_repo(tmp_path, "leaky")
    leaky.commit("leak", {"app/.env": ENV_PAIR})
    clean = make_repo(tmp_path, "clean")
    clean.commit("init", {".gitignore": ".env*\n", "README.md": "hello\n"})
    return {"leaky": leaky.path, "clean": clean.path}


def shell(script: str, cwd: Path, *, runner: str = "bash -e") -> subprocess.CompletedProcess[str]:
    """Run ``script`` the way CI does (bash, stopping at the first failing line), or cron."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    done = subprocess.run(
        [*runner.split(), "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    for secret in (TRACK_KEY, CANARY):
        assert secret not in done.stdout + done.stderr
    return done


def sarif_tool(path: Path) -> str:
    log = json.loads(path.read_text())
    assert log["version"] == "2.1.0"
    return str(log["runs"][0]["tool"]["driver"]["name"])


@pytest.mark.parametrize(("repo", "fails"), [("leaky", True), ("clean", False)])
def test_the_github_workflow_writes_and_uploads_both_logs(
    repos: dict[str, Path], repo: str, fails: bool
) -> None:
    workflow = github_workflow()
    assert workflow["permissions"]["security-events"] == "write"
    (job,) = workflow["jobs"].values()
    steps = job["steps"]
    assert steps[0]["with"]["fetch-depth"] == 0
    outcomes = {}
    for step in steps:
        if "cio-sec" in step.get("run", "") and "pip install" not in step["run"]:
            assert step["continue-on-error"] is True
            done = shell(step["run"], repos[repo])
            assert done.returncode == (1 if fails else 0), done.stderr
            outcomes[step["id"]] = "failure" if done.returncode else "success"
    assert set(outcomes) == {"scan", "audit"}
    uploads = [
        s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif")
    ]
    assert len({upload["with"]["category"] for upload in uploads}) == 2
    for upload in uploads:
        assert upload["if"] == "always()"
        assert sarif_tool(repos[repo] / upload["with"]["sarif_file"]) == "cio-sec"
    gate = next(step for step in steps if step.get("name") == "fail on findings")
    failing = any(f"steps.{name}.outcome == 'failure'" in gate["if"] for name in outcomes)
    assert failing
    assert ("failure" in outcomes.values()) is fails


@pytest.mark.parametrize(("repo", "status"), [("leaky", 1), ("clean", 0)])
def test_the_gitlab_job_keeps_both_logs_and_fails_on_findings(
    repos: dict[str, Path], repo: str, status: int
) -> None:
    job = gitlab_job()
    assert job["variables"]["GIT_DEPTH"] == "0"
    script = "\n".join(line for line in job["script"] if not line.startswith("pip install"))
    done = shell(script, repos[repo])
    assert done.returncode == status, done.stderr
    for artifact in job["artifacts"]["paths"]:
        assert sarif_tool(repos[repo] / artifact) == "cio-sec"


@pytest.mark.parametrize(("repo", "status"), [("leaky", 1), ("clean", 0)])
def test_the_cron_line_runs_audit_online_and_reports_its_exit_code(
    repos: dict[str, Path], repo: str, status: int, tmp_path: Path, sandbox: Sandbox
) -> None:
    """Against the sandbox (its credentials and URLs are in the environment)."""
    write_config(Path(os.environ["HOME"]), 'default_profile = "prod"\n[profiles.prod]\n')
    (line,) = (text.strip() for text in fenced("cron"))
    minute, hour, *days, command = line.split(None, 5)
    assert (minute, hour, days) == ("17", "6", ["*", "*", "*"])
    assert "%" not in command  # cron would turn it into a newline
    logs = tmp_path / "logs"
    logs.mkdir()
    command = (
        command.replace("/srv/app", str(repos[repo]))
        .replace("/var/log/cio-sec", str(logs))
        .replace("logger -t cio-sec", "echo")
    )
    done = shell(command, tmp_path, runner="sh")
    report = json.loads((logs / "audit.json").read_text())
    assert report["command"] == "audit"
    assert report["ok"] is (status == 0)
    online = {c["id"]: c["status"] for c in report["checks"] if c["id"].startswith("online-")}
    assert online == {"online-track": "PASS", "online-app": "PASS", "online-never-send": "PASS"}
    expected = f"audit --online failed with exit {status}\n" if status else ""
    assert done.stdout == expected
    for row in re.findall(r"^\| (\d+) \|", DOC.read_text(), re.M):
        assert int(row) in {0, 1, 2, 3}
