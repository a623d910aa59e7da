"""Hostile stores: redirecting endpoints, malformed answers, tokens that are not tokens.

Every case runs against a real HTTP server on 127.0.0.1: the redirect trap of
`tests.support.hostile`, or a tiny server answering exactly the bytes under test. The
token (or signed request) must never reach the redirect target, and a malformed answer
must be a clear error with exit 3, never a traceback or exit 70.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest

from cio_sec.errors import ExitCode, SecretStoreUnavailableError
from cio_sec.stores import SecretStore, open_store
from tests.conftest import CANARY
from tests.support.cli import CliHarness
from tests.support.hostile import redirect_trap
from tests.support.servers import MotoServer

pytestmark = pytest.mark.slow

REDIRECTS = (301, 302, 307, 308)

#: A KV v2 answer carrying a value: what an attacker's server behind a redirect would send.
_PLANTED = json.dumps(
    {"data": {"data": {"key": "planted-by-the-redirect-target"}, "metadata": {"version": 1}}}
).encode()


def _open(ref: str, **environ: str) -> SecretStore:
    return open_store(ref, environ=environ, cwd=Path.cwd())


@contextmanager
def answering(body: bytes, *, status: int = 200) -> Iterator[str]:
    """A loopback HTTP server that answers every request with ``body``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or "0")
            self.rfile.read(length)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = _any  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------- redirects


@pytest.mark.parametrize("status", REDIRECTS)
def test_vault_never_follows_a_redirect_with_the_token(status: int) -> None:
    with redirect_trap(status, trap_body=_PLANTED) as trap:
        store = _open("vault:secret/app#key", VAULT_ADDR=trap.url, VAULT_TOKEN=CANARY)
        with pytest.raises(SecretStoreUnavailableError) as raised:
            store.get()
        assert trap.received == []
        assert [request.headers.get("X-Vault-Token") for request in trap.redirected] == [CANARY]
    message = raised.value.message
    target = trap.trap_url.removeprefix("http://")
    assert f"answered {status} redirecting to {target}" in message
    assert "the token was not sent there" in message
    assert CANARY not in message + str(raised.value.hint)
    assert raised.value.exit_code == ExitCode.CONFIG


def test_vault_writes_are_not_redirected_either() -> None:
    with redirect_trap(307) as trap:
        store = _open("vault:secret/app#key", VAULT_ADDR=trap.url, VAULT_TOKEN=CANARY)
        with pytest.raises(SecretStoreUnavailableError, match="redirecting to"):
            store.put("a-new-value-for-the-key")
        assert trap.received == []


def test_a_redirecting_vault_is_exit_3_in_the_cli_with_no_token_shown(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    with redirect_trap(307, trap_body=_PLANTED) as trap:
        monkeypatch.setenv("VAULT_ADDR", trap.url)
        monkeypatch.setenv("VAULT_TOKEN", CANARY)
        outcome = run_cli(
            "credentials",
            "set",
            "site_id",
            "--stdin",
            "--store",
            "vault:secret/app#site_id",
            input="0123456789abcdef0123",
            expect=ExitCode.CONFIG,
        )
        assert trap.received == []
    assert "cio-sec follows no redirect" in outcome.stderr


@pytest.mark.parametrize("status", REDIRECTS)
@pytest.mark.parametrize("ref", ["aws-ssm:/prod/key", "aws-sm:prod/key"])
def test_aws_stores_never_follow_a_redirect(
    aws: MotoServer, monkeypatch: pytest.MonkeyPatch, status: int, ref: str
) -> None:
    with redirect_trap(status) as trap:
        monkeypatch.setenv("AWS_ENDPOINT_URL", trap.url)
        store = _open(ref)
        with pytest.raises(SecretStoreUnavailableError) as raised:
            store.get()
        assert trap.received == []
        assert len(trap.redirected) == 1  # and botocore did not retry it either
    target = trap.trap_url.removeprefix("http://")
    assert f"answered {status} redirecting to {target}" in raised.value.message


def test_a_redirect_to_a_url_with_a_password_names_only_the_host() -> None:
    from cio_sec.stores.addresses import host_of

    assert host_of(f"https://user:{CANARY}@vault.example:8200/v1/x?q={CANARY}") == (
        "vault.example:8200"
    )
    assert host_of("https://[::1") == "an address that is not a URL"
    assert host_of("/relative/path") == "an address without a host"
    assert host_of("https://ev\x1bil.example/") == "evil.example"


# --------------------------------------------------------------------------- malformed answers


@pytest.mark.parametrize(
    "body",
    [
        b'{"data": {"data": ["key", "value"], "metadata": {"version": 1}}}',
        b'[{"data": {"key": "value"}}]',
        b"<html>this is a proxy's login page</html>",
        b'{"data": {"data": {"key": "value"}, "metadata": {"version": "1"}}}',
        b'{"data": "nothing"}',
        b"null",
    ],
    ids=[
        "data-is-a-list",
        "bare-array",
        "not-json",
        "version-not-a-number",
        "data-a-string",
        "null",
    ],
)
def test_a_malformed_vault_answer_is_a_clear_error(body: bytes) -> None:
    with answering(body) as url:
        store = _open("vault:secret/app#key", VAULT_ADDR=url, VAULT_TOKEN=CANARY)
        with pytest.raises(SecretStoreUnavailableError) as raised:
            store.get()
    assert "is not what Vault sends" in raised.value.message
    assert url.removeprefix("http://") in raised.value.message


def test_a_malformed_vault_write_answer_is_a_clear_error() -> None:
    # The read finds a deleted version 3; the write's answer (the same body) has no
    # data.version, so what was written cannot be said.
    body = b'{"data": {"data": null, "metadata": {"version": 3}}}'
    with answering(body) as url:
        store = _open("vault:secret/app#key", VAULT_ADDR=url, VAULT_TOKEN=CANARY)
        with pytest.raises(SecretStoreUnavailableError, match="may have been written"):
            store.put("a-new-value-for-the-key")


def test_the_malformed_vault_answer_is_exit_3_in_the_cli(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    with answering(b"[1, 2, 3]") as url:
        monkeypatch.setenv("VAULT_ADDR", url)
        monkeypatch.setenv("VAULT_TOKEN", CANARY)
        outcome = run_cli(
            "credentials",
            "set",
            "site_id",
            "--stdin",
            "--store",
            "vault:secret/app#site_id",
            input="0123456789abcdef0123",
            expect=ExitCode.CONFIG,
        )
    assert "is not what Vault sends" in outcome.stderr


@pytest.mark.parametrize(
    "token",
    ["t\u00f6ken-with-an-umlaut", "token with a blank", "token\x1b[2Jescape", "\u202etoken"],
)
def test_a_token_that_cannot_be_a_header_is_refused_before_sending(token: str) -> None:
    with redirect_trap(200) as server:  # anything sent would be recorded
        store = _open("vault:secret/app#key", VAULT_ADDR=server.url, VAULT_TOKEN=token)
        with pytest.raises(SecretStoreUnavailableError, match="characters a token never has"):
            store.get()
        assert server.redirected == []


def test_a_non_ascii_token_is_exit_3_in_the_cli(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VAULT_ADDR", "http://127.0.0.1:9")
    monkeypatch.setenv("VAULT_TOKEN", "t\u00f6ken-" + CANARY)
    outcome = run_cli(
        "credentials",
        "set",
        "site_id",
        "--stdin",
        "--store",
        "vault:secret/app#site_id",
        input="0123456789abcdef0123",
        expect=ExitCode.CONFIG,
    )
    assert "VAULT_TOKEN" in outcome.stderr


@pytest.mark.parametrize(
    ("ref", "body", "missing"),
    [
        ("aws-sm:prod/key", {"Name": "prod/key", "SecretString": "value"}, "VersionId"),
        (
            "aws-ssm:/prod/key",
            {"Parameter": {"Name": "/prod/key", "Version": 1}},
            "Parameter.Value",
        ),
        (
            "aws-ssm:/prod/key",
            {"Parameter": {"Name": "/prod/key", "Value": "v"}},
            "Parameter.Version",
        ),
        ("aws-ssm:/prod/key", {}, "Parameter.Value"),
    ],
)
def test_an_aws_answer_without_a_field_aws_always_sends_is_a_clear_error(
    aws: MotoServer, monkeypatch: pytest.MonkeyPatch, ref: str, body: object, missing: str
) -> None:
    with answering(json.dumps(body).encode()) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        with pytest.raises(SecretStoreUnavailableError) as raised:
            _open(ref).get()
    assert f"the AWS answer has no {missing}" in raised.value.message


def test_aws_writes_check_the_answer_too(aws: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # The read finds the old value; the PutParameter answer (the same body) has no Version.
    with answering(json.dumps({"Parameter": {"Value": "old", "Version": 1}}).encode()) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        with pytest.raises(SecretStoreUnavailableError, match="has no Version"):
            _open("aws-ssm:/prod/key").put("a-new-value")


def test_secrets_manager_version_listings_are_checked(
    aws: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _open("aws-sm:prod/key#field")
    store.put("first-value")
    store.put("second-value")
    body = {
        "Name": "prod/key",
        "VersionId": "v1",
        "SecretString": '{"field": "value"}',
        "Versions": [{"VersionStages": ["AWSCURRENT"]}],
    }
    with answering(json.dumps(body).encode()) as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        with pytest.raises(SecretStoreUnavailableError, match="has no VersionId"):
            _open("aws-sm:prod/key#field").get_previous()
