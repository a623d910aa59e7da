"""The case that made read-backs necessary: erasing by email in an ID-only workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from cio_sec.sandbox import Sandbox
from tests.support.cli import CliHarness


def test_an_email_in_an_id_only_workspace_is_never_called_verified(
    run_cli: CliHarness,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    watched_secrets: set[str],
) -> None:
    """The Track API answers 2xx and deletes no one; the read-back says why, not "gone"."""
    keys = sandbox.add_workspace("ids only", identifiers="id")
    app_key = sandbox.add_app_key(workspace_id=keys.workspace_id)
    watched_secrets.update({keys.track_api_key, app_key})
    monkeypatch.setenv("CUSTOMERIO_SITE_ID", keys.site_id)
    monkeypatch.setenv("CUSTOMERIO_TRACK_API_KEY", keys.track_api_key)
    monkeypatch.setenv("CUSTOMERIO_APP_API_KEY", app_key)
    sandbox.add_person("u-1", {"email": "ann@example.com"}, workspace_id=keys.workspace_id)
    Path("ids.csv").write_text("email\nann@example.com\n")
    out = run_cli("erase", "--file", "ids.csv", "--yes", "--ticket", "DSR-9", "-f", "json")
    assert out.json["counts"]["verified"] == 0
    assert out.json["counts"]["unverified"] == 1
    assert "1 erased person(s) could not be proved gone" in out.stderr
    assert "does not take emails as identifiers (ID-only)" in out.stderr
    assert "erase them by id" in out.stderr
    assert "ann@example.com" not in out.stderr
    people = sandbox.people(keys.workspace_id)["people"]
    assert isinstance(people, list)
    assert [p["id"] for p in people] == ["u-1"]  # nobody was erased
    evidence = run_cli("audit", "log", "export", "--ticket", "DSR-9", "-f", "json").json
    assert [s["evidence"] for s in evidence["subjects"]] == ["erased, unverified"]
