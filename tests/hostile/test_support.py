"""The hostile-input helpers themselves: a run under a limit leaves the checkout working."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.hostile import run_with_file_size_limit


def test_a_run_under_a_file_size_limit_leaves_no_truncated_bytecode(tmp_path: Path) -> None:
    """A child under RLIMIT_FSIZE once wrote .pyc files cut at the limit: later runs died."""
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(tmp_path / "pycache")}
    limited = run_with_file_size_limit(["--version"], limit_bytes=4096, env=env)
    assert limited.returncode == 0, limited.stderr
    later = subprocess.run(
        [sys.executable, "-m", "cio_sec", "--version"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert later.returncode == 0, later.stderr
