"""The wheel carries the completion scripts and table, so a pipx install can use them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_wheel_carries_the_scripts_the_table_and_the_fast_entry_point(
    tmp_path: Path,
) -> None:
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*build, "--quiet", "--disable-pip-version-check", "--wheel-dir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("cio_sec-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        scripts = archive.read(entry_points).decode()
        packaged = archive.read("cio_sec/completion/scripts/_cio-sec").decode()
    for script in ("_cio-sec", "cio-sec.bash", "cio-sec.fish"):
        assert f"cio_sec/completion/scripts/{script}" in names
    assert "cio_sec/completion/table.py" in names
    assert packaged == (ROOT / "cio_sec/completion/scripts/_cio-sec").read_text()
    assert "cio-sec = cio_sec.fastpath:main" in scripts
