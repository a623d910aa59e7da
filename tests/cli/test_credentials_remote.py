"""``credentials`` on the production stores, through the CLI, against real local servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from cio_sec.errors import ExitCode
from tests.conftest import CANARY
from tests.support.cli import CliHarness
from tests.support.servers import MotoServer, VaultServer, free_port

pytestmark = pytest.mark.slow

TRACK_KEY = "0123456789abcdef0123"
NEW_TRACK_KEY = "fedcba9876543210fedc"


def _profile(**references: str) -> Path:
    """Write the default profile naming ``references``; return the config file."""
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "cio-sec" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    lines = [f'{name} = "{ref}"' for name, ref in references.items()]
    config.write_text("[profiles.default]\n" + "\n".join(lines) + "\n")
    return config


def _credential(outcome_json: dict[str, object], name: str) -> dict[str, object]:
    credentials = outcome_json["credentials"]
    assert isinstance(credentials, list)
    return next(item for item in credentials if item["name"] == name)


def test_set_and_show_name_the_secrets_manager_version(
    run_cli: CliHarness, aws: MotoServer, watched_secrets: set[str]
) -> None:
    watched_secrets.update({TRACK_KEY, NEW_TRACK_KEY})
    ref = "aws-sm:prod/customerio#track_api_key"
    _profile(track_api_key=ref, pseudonym_key="aws-sm:prod/cio-sec#pseudonym_key")
    boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="prod/cio-sec", SecretString=json.dumps({"pseudonym_key": CANARY})
    )
    run_cli("credentials", "set", "track_api_key", "--stdin", input=TRACK_KEY)
    stored = run_cli(
        "credentials", "set", "track_api_key", "--stdin", "-f", "json", input=NEW_TRACK_KEY
    )
    assert stored.json["store"] == ref
    assert stored.json["previous_kept"] is True
    version = stored.json["version"]
    assert isinstance(version, str)
    stages = boto3.client("secretsmanager", region_name="us-east-1").describe_secret(
        SecretId="prod/customerio"
    )
    assert stages["VersionIdsToStages"][version] == ["AWSCURRENT"]

    shown = run_cli("credentials", "show", "-f", "json").json
    track = _credential(shown, "track_api_key")
    assert (track["source"], track["version"]) == (ref, version)
    assert _credential(shown, "pseudonym_key")["source"] == "aws-sm:prod/cio-sec#pseudonym_key"
    text = run_cli("credentials", "show").stdout
    assert version in text
    assert "aws-sm:prod/customerio#track_api_key" in text


def test_set_on_vault_reports_the_kv_version(
    run_cli: CliHarness, vault: VaultServer, watched_secrets: set[str]
) -> None:
    watched_secrets.update({TRACK_KEY, NEW_TRACK_KEY})
    ref = "vault:secret/cli/prod#track_api_key"
    _profile(track_api_key=ref)
    run_cli("credentials", "set", "track_api_key", "--store", ref, "--stdin", input=TRACK_KEY)
    outcome = run_cli(
        "credentials", "set", "track_api_key", "--store", ref, "--stdin", input=NEW_TRACK_KEY
    )
    assert "Vault KV v2 secret secret/cli/prod, field track_api_key as version 2" in outcome.stdout
    assert "previous value kept for rollback" in outcome.stdout
    shown = run_cli("credentials", "show", "-f", "json").json
    assert _credential(shown, "track_api_key")["version"] == "2"


def test_a_store_that_is_down_exits_4_with_a_hint(
    run_cli: CliHarness, vault: VaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_ADDR", f"http://127.0.0.1:{free_port()}")
    _profile(track_api_key="vault:secret/cli/prod#track_api_key")
    outcome = run_cli("credentials", "show", expect=ExitCode.REMOTE)
    assert "cannot reach Vault" in outcome.stderr
    assert "VAULT_ADDR" in outcome.stderr


def test_access_denied_is_a_note_with_the_permission_needed(
    run_cli: CliHarness, aws: MotoServer
) -> None:
    _profile(track_api_key="aws-ssm:/prod/customerio/track_api_key")
    aws.enforce_iam(True)  # the fixture's "testing" key is unknown to IAM
    outcome = run_cli("credentials", "show")
    assert "the aws-ssm store could not be read for track_api_key" in outcome.stderr
    assert "hint:" in outcome.stderr


def test_a_malformed_store_option_is_a_usage_error(run_cli: CliHarness) -> None:
    outcome = run_cli(
        "credentials",
        "set",
        "track_api_key",
        "--store",
        "vault:no-field",
        "--stdin",
        input=TRACK_KEY,
        expect=ExitCode.USAGE,
    )
    assert "vault:MOUNT/PATH#FIELD" in outcome.stderr


#: Runs the CLI as a core install would: the extra's module cannot be imported.
_WITHOUT = (
    "import sys; sys.modules[sys.argv[1]] = None; sys.argv[1:2] = [];"
    "from cio_sec.cli import main; main()"
)


@pytest.mark.parametrize(
    ("module", "ref", "extra"),
    [
        ("boto3", "aws-sm:prod/customerio#track_api_key", "aws"),
        ("boto3", "aws-ssm:/prod/customerio/track_api_key", "aws"),
        ("hvac", "vault:secret/prod#track_api_key", "vault"),
    ],
)
def test_without_the_extra_the_hint_is_the_install_command(
    module: str, ref: str, extra: str
) -> None:
    _profile(track_api_key=ref)
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT, module, "credentials", "show"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
        check=False,
    )
    assert result.returncode == ExitCode.CONFIG, result.stderr
    assert f"pip install 'cio-sec[{extra}]'" in result.stderr
    assert f"need the Python package {module}, which is not installed" in result.stderr
    assert "Traceback" not in result.stderr
    assert CANARY not in result.stdout + result.stderr


_NAMES = ("site_id", "track_api_key", "app_api_key", "webhook_signing_key", "pseudonym_key")

_LOADED = (
    "import sys\n"
    "from cio_sec.cli import main\n"
    "try:\n"
    "    main()\n"
    "except SystemExit:\n"
    "    pass\n"
    "print(sorted({'boto3', 'botocore', 'hvac'} & set(sys.modules)), file=sys.stderr)\n"
)


def _clients_loaded_by_show() -> str:
    result = subprocess.run(
        [sys.executable, "-c", _LOADED, "credentials", "show"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
        check=False,
    )
    return result.stderr.strip().splitlines()[-1]


def test_boto3_and_hvac_are_imported_only_for_their_references(aws: MotoServer) -> None:
    local = {name: f"env:CIO_TEST_{name.upper()}" for name in _NAMES}
    _profile(**local)
    assert _clients_loaded_by_show() == "[]"
    _profile(**{**local, "track_api_key": "aws-ssm:/prod/customerio/track_api_key"})
    assert _clients_loaded_by_show() == "['boto3', 'botocore']"
