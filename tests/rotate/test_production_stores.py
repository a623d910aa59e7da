"""Track rotations and rollbacks in the production stores, on real moto and OpenBao servers."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import boto3
import hvac
import pytest

from cio_sec.errors import ExitCode
from cio_sec.rotate import Action, Kind
from cio_sec.sandbox import Sandbox
from cio_sec.stores import open_store
from tests.rotate.test_flow import ScriptedOperator, _rotate

pytestmark = pytest.mark.slow

LAYOUTS = ["aws-sm-one-secret", "aws-ssm", "vault-one-secret"]


def _seed(layout: str, sandbox: Sandbox, request: pytest.FixtureRequest) -> dict[str, str]:
    """Store the sandbox's Track pair in the layout; return the two references."""
    info = sandbox.info
    pair = {"site_id": info.site_id, "track_api_key": info.track_api_key}
    if layout == "aws-sm-one-secret":  # both credentials are fields of one secret
        request.getfixturevalue("aws")
        boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name="prod/customerio", SecretString=json.dumps(pair)
        )
        return {name: f"aws-sm:prod/customerio#{name}" for name in pair}
    if layout == "aws-ssm":
        request.getfixturevalue("aws")
        ssm = boto3.client("ssm", region_name="us-east-1")
        for name, value in pair.items():
            ssm.put_parameter(Name=f"/prod/{name}", Value=value, Type="SecureString")
        return {name: f"aws-ssm:/prod/{name}" for name in pair}
    server = request.getfixturevalue("vault")
    path = f"customerio/{uuid.uuid4().hex[:12]}"  # the server lives for the whole session
    hvac.Client(url=server.url, token=server.root_token).secrets.kv.v2.create_or_update_secret(
        path=path, secret=pair, mount_point="secret"
    )
    return {name: f"vault:secret/{path}#{name}" for name in pair}


def _config(references: dict[str, str]) -> str:
    lines = "".join(f'{name} = "{reference}"\n' for name, reference in references.items())
    return f"[profiles.default]\n{lines}"


def _stored(references: dict[str, str]) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    for name, reference in references.items():
        current = open_store(reference, environ=dict(os.environ), cwd=Path.cwd()).get()
        values[name] = None if current is None else current.value
    return values


@pytest.fixture
def production(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Sandbox:
    for variable in ("CUSTOMERIO_SITE_ID", "CUSTOMERIO_TRACK_API_KEY"):
        monkeypatch.delenv(variable)
    return sandbox


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_track_rotation_completes_in_a_production_store(
    layout: str, production: Sandbox, request: pytest.FixtureRequest
) -> None:
    old = production.info
    references = _seed(layout, production, request)
    new = production.add_track_keys()

    def operator_acts(count: int) -> None:
        if count == 2:  # "delete the old key"
            production.revoke_track_keys(old.site_id)

    operator = ScriptedOperator([new.site_id, new.track_api_key], on_wait=operator_acts)
    report = _rotate(Kind.TRACK, operator, yes=True, config=_config(references))
    assert report.outcome == "completed", report.message
    assert _stored(references) == {"site_id": new.site_id, "track_api_key": new.track_api_key}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_track_rotation_rolls_back_in_a_production_store(
    layout: str, production: Sandbox, request: pytest.FixtureRequest
) -> None:
    old = production.info
    references = _seed(layout, production, request)
    new = production.add_track_keys()
    operator = ScriptedOperator([new.site_id, new.track_api_key], interactive=False)
    report = _rotate(Kind.TRACK, operator, yes=True, config=_config(references))
    assert report.outcome == "stopped", report.message
    assert report.exit_code == ExitCode.PARTIAL  # stored and tested, waiting for the deploy
    assert _stored(references) == {"site_id": new.site_id, "track_api_key": new.track_api_key}
    rolled = _rotate(Kind.TRACK, ScriptedOperator(), Action.ROLLBACK, yes=True)
    assert rolled.outcome == "rolled-back", rolled.message
    assert rolled.old_key_works is True
    assert _stored(references) == {"site_id": old.site_id, "track_api_key": old.track_api_key}
