"""The skip rule of the real SecretService tests: skip locally, never under CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.secretservice import require_programs


@pytest.fixture
def no_daemons(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))


@pytest.mark.usefixtures("no_daemons")
def test_missing_daemons_skip_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="dbus-daemon and gnome-keyring-daemon"):
        require_programs()


@pytest.mark.usefixtures("no_daemons")
def test_missing_daemons_fail_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set, so they must run"):
        require_programs()
