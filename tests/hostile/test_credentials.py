"""Hostile input to ``credentials``: redirecting APIs and rejected input that must not echo.

The canary is what gets redirected or rejected, so `run_cli` fails the test if it shows up
in stdout or stderr, in a usage error as much as anywhere else.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cio_sec.errors import ExitCode
from tests.conftest import CANARY
from tests.support.cli import CliHarness
from tests.support.hostile import redirect_trap

REDIRECTS = (301, 302, 307, 308)


@pytest.mark.parametrize("status", REDIRECTS)
def test_the_customerio_client_never_follows_a_redirect(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    with redirect_trap(status) as trap:
        monkeypatch.setenv("CIO_SEC_TRACK_URL", trap.url)
        monkeypatch.setenv("CIO_SEC_APP_URL", trap.url)
        monkeypatch.setenv("CUSTOMERIO_SITE_ID", "0123456789abcdef0123")
        monkeypatch.setenv("CUSTOMERIO_TRACK_API_KEY", CANARY)
        monkeypatch.setenv("CUSTOMERIO_APP_API_KEY", CANARY + "0123456789")
        outcome = run_cli("credentials", "check", expect=ExitCode.REMOTE)
        assert trap.received == []
        assert {request.path for request in trap.redirected} == {
            "/api/v1/accounts/region",
            "/v1/workspaces",
        }
    assert "redirected" in outcome.stdout + outcome.stderr


#: A key pasted where a reference belongs, in each shape a store kind rejects.
REJECTED_REFERENCES = {
    "env": "env:0" + CANARY,
    "env-read-only": "env:" + CANARY,
    "dotenv": "dotenv:" + CANARY,
    "dotenv-variable": "dotenv:.env#0" + CANARY,
    "keyring": "keyring:" + CANARY,
    "keyring-previous": "keyring:cio-sec/" + CANARY + "@previous",
    "vault": "vault:" + CANARY,
    "aws-ssm": "aws-ssm:" + CANARY,
    "aws-sm": "aws-sm: " + CANARY,
    "no-scheme": CANARY,
    "unknown-scheme": CANARY + ":x",
}


@pytest.mark.parametrize("ref", REJECTED_REFERENCES.values(), ids=REJECTED_REFERENCES.keys())
def test_a_rejected_store_reference_is_never_echoed(run_cli: CliHarness, ref: str) -> None:
    outcome = run_cli(
        "credentials",
        "set",
        "site_id",
        "--stdin",
        "--store",
        ref,
        input="0123456789abcdef0123",
        expect=ExitCode.USAGE,
    )
    assert outcome.stderr.startswith("error: --store: ")
    scheme = ref.partition(":")[0]
    if scheme in ("env", "dotenv", "keyring", "vault", "aws-ssm", "aws-sm"):
        assert f"{scheme}:" in outcome.stderr  # which kind was wrong, and why


@pytest.mark.parametrize("ref", REJECTED_REFERENCES.values(), ids=REJECTED_REFERENCES.keys())
def test_a_rejected_reference_in_config_toml_is_never_echoed(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ref: str
) -> None:
    if ref == "env:" + CANARY:
        return  # a valid reference to read: only --store refuses it (read-only)
    config = tmp_path / "config.toml"
    config.write_text(f'[profiles.default]\nregion = "us"\nsite_id = "{ref}"\n')
    monkeypatch.setenv("CIO_SEC_CONFIG", str(config))
    outcome = run_cli("credentials", "show", expect=ExitCode.USAGE)
    assert f"{config}:3: " in outcome.stderr


@pytest.mark.parametrize("ref", [r for r in REJECTED_REFERENCES.values() if r != "env:" + CANARY])
def test_a_rejected_secret_ref_is_a_usage_error_never_echoed(
    run_cli: CliHarness, tmp_path: Path, ref: str
) -> None:
    body = tmp_path / "body.json"
    body.write_text("{}")
    outcome = run_cli(
        "verify-webhook",
        "--body",
        str(body),
        "--timestamp",
        "1700000000",
        "--signature",
        "0" * 64,
        "--secret-ref",
        ref,
        expect=ExitCode.USAGE,
    )
    assert "--secret-ref: " in outcome.stderr


def test_storing_into_the_dotenv_file_of_the_chain_by_absolute_path_does_not_warn(
    run_cli: CliHarness, hermetic_env: Path
) -> None:
    for path in (f"{hermetic_env}/.env", "./.env", ".env"):
        outcome = run_cli(
            "credentials",
            "set",
            "site_id",
            "--stdin",
            "--store",
            f"dotenv:{path}#CUSTOMERIO_SITE_ID",
            input="0123456789abcdef0123",
        )
        assert "will not be used" not in outcome.stderr, path
        assert "comes first" not in outcome.stderr, path
    outcome = run_cli(
        "credentials",
        "set",
        "site_id",
        "--stdin",
        "--store",
        f"dotenv:{hermetic_env}/other.env#CUSTOMERIO_SITE_ID",
        input="0123456789abcdef0123",
    )
    assert "will not be used" in outcome.stderr


@pytest.mark.parametrize(
    "option", ["--" + CANARY, "--" + CANARY + "=x", "-" + CANARY, "--0123456789abcdef0123"]
)
def test_a_key_typed_as_an_option_is_never_echoed(run_cli: CliHarness, option: str) -> None:
    outcome = run_cli("credentials", "set", "track_api_key", option, expect=ExitCode.USAGE)
    assert "0123456789abcdef0123" not in outcome.stderr
    assert "No such option" in outcome.stderr


def test_a_mistyped_option_is_still_shown(run_cli: CliHarness) -> None:
    outcome = run_cli("credentials", "set", "track_api_key", "--stdn", expect=ExitCode.USAGE)
    assert "No such option: --stdn" in outcome.stderr


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_password_in_the_probe_url_is_never_echoed(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    monkeypatch.setenv("CUSTOMERIO_WEBHOOK_SECRET", "abcdefabcdefabcdef01")
    url = f"http://user:{CANARY}@127.0.0.1:9/hook"
    outcome = run_cli("verify-webhook", "probe", url, "-f", fmt, expect=ExitCode.REMOTE)
    assert "127.0.0.1:9" in outcome.stdout + outcome.stderr
    encoded = f"http://user:{CANARY[:5]}%40{CANARY[5:]}@127.0.0.1:9/hook"
    outcome = run_cli("verify-webhook", "probe", encoded, "-f", fmt, expect=ExitCode.REMOTE)
    assert CANARY[5:] not in outcome.stdout + outcome.stderr
