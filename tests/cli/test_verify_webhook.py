"""``cio-sec verify-webhook``: exit codes, output, secrets never shown, serve and probe."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cio_sec.errors import ExitCode
from cio_sec.webhook import sign
from cio_sec.webhook.recipe import MAX_TIMESTAMP_DIGITS
from tests.support.cli import CliHarness
from tests.support.http_apps import local_app
from tests.support.schemas import parse_document

pytestmark = pytest.mark.slow

KEY = "cli-webhook-signing-key-0001"
OLD_KEY = "cli-webhook-signing-key-old"
NOW = 1_700_000_000
BODY = b'{"object_type":"email","metric":"sent","data":{"email":"zoe@example.com"}}'


@pytest.fixture(autouse=True)
def signing_key(monkeypatch: pytest.MonkeyPatch, watched_secrets: set[str]) -> None:
    monkeypatch.setenv("CUSTOMERIO_WEBHOOK_SECRET", KEY)
    watched_secrets.update({KEY, OLD_KEY})


@pytest.fixture
def body_file() -> Path:
    path = Path("body.json")
    path.write_bytes(BODY)
    return path


def _verify(run_cli: CliHarness, body: Path, signature: str, *args: str, expect: int = 0):
    return run_cli(
        "verify-webhook",
        "--body",
        str(body),
        "--timestamp",
        str(NOW),
        "--signature",
        signature,
        "--now",
        str(NOW + 5),
        *args,
        expect=expect,
    )


def test_valid_delivery(run_cli: CliHarness, body_file: Path) -> None:
    outcome = _verify(run_cli, body_file, sign(BODY, KEY, NOW)["X-CIO-Signature"])
    assert outcome.stdout.startswith("valid: signed with env:CUSTOMERIO_WEBHOOK_SECRET\n")
    assert "skew 5 s in the past, tolerance 300 s" in outcome.stdout
    document = _verify(
        run_cli, body_file, sign(BODY, KEY, NOW)["X-CIO-Signature"], "-f", "json"
    ).json
    assert document["command"] == "verify-webhook"
    assert (document["ok"], document["reason"], document["skew_seconds"]) == (True, "valid", 5)


def test_stale_delivery_and_allow_stale(run_cli: CliHarness, body_file: Path) -> None:
    signature = sign(BODY, KEY, NOW)["X-CIO-Signature"]
    outcome = _verify(run_cli, body_file, signature, "--tolerance", "1", expect=1)
    assert outcome.stdout.startswith("invalid (stale): the signature is authentic")
    _verify(run_cli, body_file, signature, "--tolerance", "1", "--allow-stale")


def test_mismatch_names_the_likely_cause(run_cli: CliHarness, body_file: Path) -> None:
    signature = sign(BODY.rstrip(b"}") + b',"x":1}', KEY, NOW)["X-CIO-Signature"]
    outcome = _verify(run_cli, body_file, signature, expect=ExitCode.CHECK_FAILED)
    assert outcome.stdout.startswith("invalid (mismatch): no active key (1 tried)")
    assert "likely cause" not in outcome.stdout
    Path("pretty.json").write_text(json.dumps(json.loads(BODY), indent=2) + "\n")
    pretty = _verify(
        run_cli, Path("pretty.json"), sign(BODY, KEY, NOW)["X-CIO-Signature"], "--explain", expect=1
    )
    assert "likely cause: the signature matches the same JSON serialised compactly" in (
        pretty.stdout
    )
    assert "signed string: 'v0:1700000000:' + " in pretty.stdout
    assert "MATCH json-compact" in pretty.stdout
    assert "no    body-only" in pretty.stdout
    assert "zoe@example.com" not in pretty.stdout


def test_two_causes_at_once_are_named_together(run_cli: CliHarness) -> None:
    # signed with a trailing newline, then pretty-printed on the way to the verifier
    Path("pretty.json").write_text(json.dumps(json.loads(BODY), indent=2))
    outcome = _verify(
        run_cli, Path("pretty.json"), sign(BODY + b"\n", KEY, NOW)["X-CIO-Signature"], expect=1
    )
    assert "likely cause: two changes together reproduce the signature" in outcome.stdout
    assert "the final newline was lost after signing" in outcome.stdout
    as_json = _verify(
        run_cli,
        Path("pretty.json"),
        sign(BODY + b"\n", KEY, NOW)["X-CIO-Signature"],
        "-f",
        "json",
        expect=1,
    ).json
    assert "json-compact+trailing-newline-added" in json.dumps(as_json)
    assert "zoe@example.com" not in outcome.stdout


def test_explain_on_a_valid_delivery_and_a_garbled_signature(
    run_cli: CliHarness, body_file: Path
) -> None:
    valid = _verify(run_cli, body_file, sign(BODY, KEY, NOW)["X-CIO-Signature"], "--explain")
    assert "  keys tried: env:CUSTOMERIO_WEBHOOK_SECRET" in valid.stdout
    assert "checks after the rejection" not in valid.stdout
    garbled = _verify(run_cli, body_file, "not-a-signature", "--explain", expect=1)
    assert garbled.stdout.startswith("invalid (malformed-signature): X-CIO-Signature is not hex")
    assert "signed string" not in garbled.stdout


def test_the_wrong_recipe_is_recognised(run_cli: CliHarness, body_file: Path) -> None:
    import hmac

    body_only = hmac.new(KEY.encode(), BODY, "sha256").hexdigest()
    document = _verify(run_cli, body_file, body_only, "-f", "json", expect=1).json
    matched = [f["check"] for f in document["diagnosis"] if f["matched"]]
    assert matched == ["body-only"]


def test_previous_key_accepted_with_a_warning_unless_current_only(
    run_cli: CliHarness, body_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTOMERIO_WEBHOOK_SECRET_PREVIOUS", OLD_KEY)
    signature = sign(BODY, OLD_KEY, NOW)["X-CIO-Signature"]
    outcome = _verify(run_cli, body_file, signature)
    assert "valid: signed with env:CUSTOMERIO_WEBHOOK_SECRET (previous)" in outcome.stdout
    assert "warning: only the previous signing key" in outcome.stderr
    strict = _verify(run_cli, body_file, signature, "--current-only", "-f", "json", expect=1).json
    assert strict["reason"] == "mismatch"
    assert [f["check"] for f in strict["diagnosis"] if f["matched"]] == ["previous-secret"]


def test_secret_ref_adds_a_key(
    run_cli: CliHarness, body_file: Path, monkeypatch: pytest.MonkeyPatch, watched_secrets: set[str]
) -> None:
    Path(".env.staging").write_text("STAGING_KEY=staging-signing-key-0002\n")
    watched_secrets.add("staging-signing-key-0002")
    signature = sign(BODY, "staging-signing-key-0002", NOW)["X-CIO-Signature"]
    outcome = _verify(
        run_cli, body_file, signature, "--secret-ref", "dotenv:.env.staging#STAGING_KEY"
    )
    assert "signed with dotenv:.env.staging#STAGING_KEY" in outcome.stdout
    bad = _verify(run_cli, body_file, signature, "--secret-ref", KEY, expect=ExitCode.USAGE)
    assert "--secret-ref" in bad.stderr
    _verify(run_cli, body_file, signature, "--secret-ref", "env:UNSET", expect=ExitCode.CONFIG)


def test_captured_request_from_stdin(run_cli: CliHarness) -> None:
    headers = sign(BODY, KEY, NOW)
    capture = (
        b"POST /webhooks/customerio HTTP/1.1\nhost: app.example.com\n"
        + f"x-cio-timestamp: {NOW}\nX-CIO-SIGNATURE: {headers['X-CIO-Signature']}\n".encode()
        + b"transfer-encoding: chunked\n\n"
        + b"%x\r\n" % len(BODY)
        + BODY
        + b"\r\n0\r\n\r\n"
    )
    document = run_cli(
        "verify-webhook", "--request", "-", "--now", str(NOW), "-f", "json", input=capture
    ).json
    assert (document["reason"], document["source"]) == ("valid", "<stdin>")


def test_captured_request_with_a_trailing_newline_warns(run_cli: CliHarness) -> None:
    headers = sign(BODY, KEY, NOW)
    Path("capture.http").write_bytes(
        b"POST / HTTP/1.1\r\nContent-Length: %d\r\n" % len(BODY)
        + f"X-CIO-Timestamp: {NOW}\r\n".encode()
        + f"X-CIO-Signature: {headers['X-CIO-Signature']}\r\n\r\n".encode()
        + BODY
        + b"\n"
    )
    outcome = run_cli("verify-webhook", "--request", "capture.http", "--allow-stale")
    assert outcome.stdout.startswith("valid")
    assert "warning: ignored 1 bytes after the" in outcome.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--request", "missing.http"), "missing.http: cannot read"),
        (("--request", "garbage.bin"), "garbage.bin:1: not an HTTP request line"),
        (("--body", "body.json", "--request", "garbage.bin"), "exactly one of"),
        (("--timestamp", "1"), "exactly one of"),
        (("--body", "."), ".: cannot read"),
    ],
)
def test_unreadable_input_exits_2_without_a_traceback(
    run_cli: CliHarness, body_file: Path, args: tuple[str, ...], message: str
) -> None:
    Path("garbage.bin").write_bytes(b"\x00\xff\xfe\x00 not http at all")
    outcome = run_cli("verify-webhook", *args, expect=ExitCode.USAGE)
    assert message in outcome.stderr
    assert "Traceback" not in outcome.stderr
    document = run_cli("verify-webhook", *args, "-f", "json", expect=ExitCode.USAGE).json
    assert document["error"]["type"] == "InputError"


def test_too_large_input_is_refused(run_cli: CliHarness) -> None:
    from cio_sec.webhook.capture import MAX_BODY_BYTES

    Path("big.bin").write_bytes(b"x" * (MAX_BODY_BYTES + 1))
    outcome = run_cli("verify-webhook", "--body", "big.bin", expect=ExitCode.USAGE)
    assert "larger than" in outcome.stderr


def test_no_secret_exits_3_with_a_verdict(
    run_cli: CliHarness, body_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CUSTOMERIO_WEBHOOK_SECRET")
    outcome = _verify(run_cli, body_file, "00" * 32, expect=ExitCode.CONFIG)
    assert outcome.stdout.startswith("invalid (no-secret)")
    assert "hint: set CUSTOMERIO_WEBHOOK_SECRET" in outcome.stderr
    document = _verify(run_cli, body_file, "00" * 32, "-f", "json", expect=ExitCode.CONFIG).json
    assert (document["reason"], document["ok"]) == ("no-secret", False)


def test_pipelines_scheme(run_cli: CliHarness, body_file: Path) -> None:
    signature = sign(BODY, KEY, scheme="pipelines")["X-Signature"]
    run_cli(
        "verify-webhook", "--body", "body.json", "--signature", signature, "--scheme", "pipelines"
    )
    wrong = run_cli("verify-webhook", "--body", "body.json", "--signature", signature, expect=1)
    assert "invalid (malformed-signature)" in wrong.stdout
    assert "likely cause: the signature is a Data Pipelines one" in wrong.stdout


def test_sign_prints_headers_and_never_the_key(run_cli: CliHarness, body_file: Path) -> None:
    outcome = run_cli("verify-webhook", "sign", "--body", "body.json", "--timestamp", str(NOW))
    expected = sign(BODY, KEY, NOW)
    assert outcome.stdout == (
        f"X-CIO-Timestamp: {NOW}\nX-CIO-Signature: {expected['X-CIO-Signature']}\n"
    )
    assert f"signed {len(BODY)} bytes with env:CUSTOMERIO_WEBHOOK_SECRET (reporting)" in (
        outcome.stderr
    )
    document = run_cli(
        "verify-webhook", "sign", "--body", "-", "--scheme", "pipelines", "-f", "json", input=BODY
    ).json
    assert document["headers"] == sign(BODY, KEY, scheme="pipelines")
    assert document["secret"] == "env:CUSTOMERIO_WEBHOOK_SECRET"


def test_sign_timestamps_are_those_verify_accepts(run_cli: CliHarness, body_file: Path) -> None:
    largest = str(10**MAX_TIMESTAMP_DIGITS - 1)
    headers = run_cli(
        "verify-webhook", "sign", "--body", "body.json", "--timestamp", largest, "-f", "json"
    ).json["headers"]
    assert headers["X-CIO-Timestamp"] == largest
    run_cli(
        "verify-webhook",
        "--body",
        "body.json",
        "--timestamp",
        largest,
        "--signature",
        headers["X-CIO-Signature"],
        "--now",
        largest,
    )
    for bad in ("-5", str(10**MAX_TIMESTAMP_DIGITS), "1" * 23):
        outcome = run_cli(
            "verify-webhook",
            "sign",
            "--body",
            "body.json",
            "--timestamp",
            bad,
            expect=ExitCode.USAGE,
        )
        assert "--timestamp" in outcome.stderr
        assert "X-CIO-Signature" not in outcome.stdout


def test_sign_prefers_a_named_reference(
    run_cli: CliHarness, body_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTHER_KEY", "other-signing-key-0003")
    document = run_cli(
        "verify-webhook",
        "sign",
        "--body",
        "body.json",
        "--secret-ref",
        "env:OTHER_KEY",
        "-f",
        "json",
    ).json
    assert document["secret"] == "env:OTHER_KEY"
    monkeypatch.delenv("CUSTOMERIO_WEBHOOK_SECRET")
    monkeypatch.delenv("OTHER_KEY")
    missing = run_cli("verify-webhook", "sign", "--body", "body.json", expect=ExitCode.CONFIG)
    assert "no webhook signing key is available" in missing.stderr


def test_probe_against_an_unsafe_endpoint(run_cli: CliHarness) -> None:
    with local_app(status=200) as app:
        outcome = run_cli("verify-webhook", "probe", app.url, expect=ExitCode.CHECK_FAILED)
    assert f"probe: sending 4 real POST requests to {app.url}" in outcome.stderr
    assert "WRONG tampered  200 accepted" in outcome.stdout
    assert "UNSAFE: the endpoint accepted forged deliveries (tampered, stale, unsigned)" in (
        outcome.stdout
    )


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://127.0.0.1:abc/", "http://h/\x01"])
def test_probe_refuses_urls_it_cannot_send_to(run_cli: CliHarness, url: str) -> None:
    outcome = run_cli("verify-webhook", "probe", url, expect=ExitCode.USAGE)
    assert "the probe URL must be an http:// or https:// URL with a host" in outcome.stderr
    assert "sending" not in outcome.stderr


# ----------------------------------------------------------------------------- serve


def _start_serve(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cio_sec", "verify-webhook", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def _stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    return out, err


def test_serve_verifies_each_delivery_and_probe_finds_it_safe(run_cli: CliHarness) -> None:
    process = _start_serve()
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        good = httpx.post(url, content=BODY, headers=sign(BODY, KEY))
        bad = httpx.post(url, content=BODY, headers=sign(BODY, "forged-key"))
        outcome = run_cli("verify-webhook", "probe", url, "-f", "json")
    finally:
        out, err = _stop(process)
    assert (good.status_code, bad.status_code) == (200, 401)
    lines = out.splitlines()
    assert "valid    valid" in lines[0]
    assert "email.sent" in lines[0]
    assert "invalid  mismatch" in lines[1]
    assert outcome.json["ok"] is True
    assert len(lines) == 6  # the two deliveries and the probe's four
    assert "verifying with env:CUSTOMERIO_WEBHOOK_SECRET; Ctrl-C stops" in err
    for text in (out, err):
        assert KEY not in text
        assert "zoe@example.com" not in text


def test_serve_json_lines_forwarding_and_verbose_bodies() -> None:
    with local_app(status=201, body=b"created") as app:
        process = _start_serve("--forward-to", app.url, "-f", "json")
        try:
            assert process.stdout is not None
            ready = parse_document(process.stdout.readline())
            response = httpx.post(ready["url"], content=BODY, headers=sign(BODY, KEY))
        finally:
            out, _ = _stop(process)
    assert (ready["command"], ready["kind"]) == ("verify-webhook serve", "listening")
    assert (response.status_code, response.content) == (201, b"created")
    delivery = parse_document(out.splitlines()[0])
    assert (delivery["kind"], delivery["event"], delivery["status"]) == (
        "delivery",
        "email.sent",
        201,
    )
    assert delivery["forwarded"] == "ok"
    verbose = subprocess.Popen(
        [sys.executable, "-m", "cio_sec", "-v", "verify-webhook", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        assert verbose.stdout is not None
        url = verbose.stdout.readline().strip()
        httpx.post(url, content=BODY, headers=sign(BODY, KEY))
        time.sleep(0.2)  # let the log line reach stderr before stopping
    finally:
        _, err = _stop(verbose)
    assert "zoe@example.com" in err
    assert KEY not in err


def test_serve_refuses_bad_settings(run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    for url in ("ftp://x", "http://127.0.0.1:abc/"):
        bad = run_cli("verify-webhook", "serve", "--forward-to", url, expect=ExitCode.USAGE)
        assert "--forward-to must be an http:// or https:// URL" in bad.stderr
    monkeypatch.delenv("CUSTOMERIO_WEBHOOK_SECRET")
    missing = run_cli("verify-webhook", "serve", expect=ExitCode.CONFIG)
    assert "no webhook signing key is available" in missing.stderr


def test_a_whitespace_only_key_is_no_key(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch, body_file: Path
) -> None:
    monkeypatch.setenv("CUSTOMERIO_WEBHOOK_SECRET", " ")
    for args in (["sign", "--body", str(body_file)], ["serve"]):
        outcome = run_cli("verify-webhook", *args, expect=ExitCode.CONFIG)
        assert "no webhook signing key is available" in outcome.stderr


def test_serve_limits_are_options(run_cli: CliHarness) -> None:
    process = _start_serve("--max-connections", "1", "--header-timeout", "0.5", "--max-body", "100")
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        address = ("127.0.0.1", int(url.rstrip("/").rsplit(":", 1)[1]))
        with socket.create_connection(address, timeout=10) as idle:  # takes the one slot
            with socket.create_connection(address, timeout=10) as extra:
                refused = extra.recv(4096)
            cut = idle.recv(4096)  # after the header timeout
        too_large = httpx.post(url, content=b"x" * 101, headers=sign(b"x" * 101, KEY))
        good = httpx.post(url, content=BODY[:100], headers=sign(BODY[:100], KEY))
    finally:
        out, _ = _stop(process)
    assert refused.startswith(b"HTTP/1.1 503")
    assert cut == b""
    assert (too_large.status_code, good.status_code) == (413, 200)
    assert len(out.splitlines()) == 1
    for bad in (
        ("--max-body", "0"),
        ("--max-body", str(16 * 1024 * 1024 + 1)),
        ("--max-connections", "0"),
        ("--header-timeout", "0"),
        ("--body-timeout", "0"),
    ):
        outcome = run_cli("verify-webhook", "serve", *bad, expect=ExitCode.USAGE)
        assert bad[0] in outcome.stderr
