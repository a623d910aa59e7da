"""Nothing a server or a file supplies reaches the terminal raw: escapes are shown, not obeyed.

The hostile text is what a malicious endpoint would send: an OSC sequence that retitles the
window, a clear-screen CSI, 8-bit C1 controls and bidi overrides.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.errors import ExitCode
from cio_sec.terminal import printable
from cio_sec.webhook import Secret, sign
from cio_sec.webhook.delivery import VerifyOptions
from cio_sec.webhook.keys import SigningKeys
from cio_sec.webhook.receiver import DeliveryLine, Receiver
from tests.support.cli import CliHarness
from tests.support.loopback import serve

pytestmark = pytest.mark.slow

ESCAPES = "\x1b]0;pwned\x07\x1b[2J"
SHOWN = "\\x1b]0;pwned\\x07\\x1b[2J"
KEY = "terminal-webhook-signing-key"
_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _unsafe(character: str, *, newline_ok: bool = True) -> bool:
    """The oracle, written independently of the module: what must never be printed raw."""
    if character == "\t" or (character == "\n" and newline_ok):
        return False
    category = unicodedata.category(character)
    return category in ("Cc", "Cs", "Zl", "Zp") or character in _BIDI


# ----------------------------------------------------------------- printable()


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (ESCAPES, SHOWN),
        ("8-bit CSI \x9b2J and NEL \x85", "8-bit CSI \\x9b2J and NEL \\x85"),
        ("rub\x7fout, nul\x00, bell\x07", "rub\\x7fout, nul\\x00, bell\\x07"),
        ("over\rwritten", "over\\x0dwritten"),
        ("invoice_\u202egpj.exe", "invoice_\\u202egpj.exe"),
        ("\u2066isolated\u2069 \u200f", "\\u2066isolated\\u2069 \\u200f"),
        ("line\u2028separator", "line\\u2028separator"),
        ("undecodable \udcff byte", "undecodable \\udcff byte"),
        ("tabs\tand\nnewlines stay", "tabs\tand\nnewlines stay"),
        ("Zoë, 東京, emoji 🙂, back\\slash", "Zoë, 東京, emoji 🙂, back\\slash"),
    ],
)
def test_control_characters_are_shown_as_escapes(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_one_line_mode_shows_newlines_too() -> None:
    assert printable("a\nforged: line", keep_newlines=False) == "a\\x0aforged: line"
    assert printable("a\tb", keep_newlines=False) == "a\tb"


def test_safe_text_is_returned_as_it_is() -> None:
    text = "error: nothing to see here"
    assert printable(text) is text


@given(st.text(), st.booleans())
def test_nothing_unsafe_survives_and_a_second_pass_changes_nothing(
    text: str, keep_newlines: bool
) -> None:
    shown = printable(text, keep_newlines=keep_newlines)
    assert not any(_unsafe(c, newline_ok=keep_newlines) for c in shown)
    assert printable(shown, keep_newlines=keep_newlines) == shown
    if not any(_unsafe(c, newline_ok=keep_newlines) for c in text):
        assert shown == text


# ----------------------------------------------------------------- a hostile endpoint


@contextmanager
def hostile_server(status: int, body: bytes, content_type: str) -> Iterator[str]:
    """Answer every request with ``status``, ``body`` and escapes in a header and the reason."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or "0"))
            self.send_response(status, f"Nope {ESCAPES}")
            self.send_header("Content-Type", content_type)
            self.send_header("X-Evil", ESCAPES)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serve(Handler) as url:
        yield f"{url}/hooks"


@pytest.fixture
def signing_key(monkeypatch: pytest.MonkeyPatch, watched_secrets: set[str]) -> None:
    monkeypatch.setenv("CUSTOMERIO_WEBHOOK_SECRET", KEY)
    watched_secrets.add(KEY)


def _no_escape_reached_the_terminal(*texts: str) -> None:
    for text in texts:
        assert "\x1b" not in text
        assert "\x07" not in text


@pytest.mark.usefixtures("signing_key")
def test_probe_shows_a_hostile_answer_without_obeying_it(run_cli: CliHarness) -> None:
    body = f"{ESCAPES} go away \u202eelif.exe\n".encode()
    with hostile_server(403, body, "text/plain") as url:
        outcome = run_cli("verify-webhook", "probe", url, expect=ExitCode.CHECK_FAILED)
        document = run_cli(
            "verify-webhook", "probe", url, "-f", "json", expect=ExitCode.CHECK_FAILED
        )
    _no_escape_reached_the_terminal(outcome.stdout, outcome.stderr)
    assert f"answer: {SHOWN} go away \\u202eelif.exe" in outcome.stdout
    # JSON carries the answer as it was, escaped by the encoder: nothing raw on stdout.
    _no_escape_reached_the_terminal(document.stdout, document.stderr)
    assert "\u202e" not in document.stdout
    attempt = document.json["attempts"][0]
    assert attempt["answer"] == f"{ESCAPES} go away \u202eelif.exe"


def test_serve_logs_a_hostile_body_on_one_visible_line(caplog: pytest.LogCaptureFixture) -> None:
    lines: list[DeliveryLine] = []
    body = json.dumps({"note": ESCAPES}).encode() + b"\nwarning: forged line\x1b[2J"
    keys = SigningKeys((Secret("env:KEY", KEY),))
    with (
        caplog.at_level(logging.INFO, logger="cio_sec"),
        Receiver(keys, VerifyOptions(), lines.append) as running,
    ):
        response = httpx.post(running.url, content=body, headers=sign(body, KEY))
    assert response.status_code == 200
    (record,) = [r for r in caplog.records if "delivery body" in r.getMessage()]
    message = record.getMessage()
    _no_escape_reached_the_terminal(message)
    assert "\n" not in message
    assert "\\x0awarning: forged line\\x1b[2J" in message


def test_a_delivery_line_is_one_visible_line() -> None:
    line = DeliveryLine("t", "valid", "valid", 1, None, 502, None, forwarded=f"x{ESCAPES}\ny")
    assert line.text().endswith(f"(forward failed: x{SHOWN}\\x0ay)")


# ----------------------------------------------------------------- the error boundary


@contextmanager
def hostile_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A Secrets Manager endpoint whose error code (from its JSON body) is an escape sequence."""
    error = json.dumps({"__type": ESCAPES, "message": ESCAPES}).encode()
    with hostile_server(400, error, "application/x-amz-json-1.1") as url:
        for name, value in {
            "AWS_ENDPOINT_URL": url.removesuffix("/hooks"),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }.items():
            monkeypatch.setenv(name, value)
        yield


def test_an_error_quoting_a_remote_answer_is_shown_not_obeyed(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    Path("body.json").write_bytes(b"{}")
    args = ("verify-webhook", "--body", "body.json", "--timestamp", "1", "--signature", "00")
    with hostile_aws(monkeypatch):
        outcome = run_cli(*args, "--secret-ref", "aws-sm:prod/x#key", expect=ExitCode.CONFIG)
        document = run_cli(
            *args, "--secret-ref", "aws-sm:prod/x#key", "-f", "json", expect=ExitCode.CONFIG
        )
    _no_escape_reached_the_terminal(outcome.stdout, outcome.stderr)
    assert "error: aws-sm:prod/x#key: AWS refused" in outcome.stderr
    assert SHOWN in outcome.stderr
    _no_escape_reached_the_terminal(document.stdout, document.stderr)
    assert ESCAPES in document.json["error"]["message"]


def test_a_warning_quoting_a_remote_answer_is_shown_not_obeyed(
    run_cli: CliHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = Path("config.toml")
    config.write_text('[profiles.default]\nwebhook_signing_key = "aws-sm:prod/x#key"\n')
    Path("body.json").write_bytes(b"{}")
    monkeypatch.setenv("CIO_SEC_CONFIG", str(config.resolve()))
    with hostile_aws(monkeypatch):
        outcome = run_cli(
            "verify-webhook",
            "--body",
            "body.json",
            "--timestamp",
            "1",
            "--signature",
            "00",
            expect=ExitCode.CONFIG,
        )
    _no_escape_reached_the_terminal(outcome.stdout, outcome.stderr)
    assert "warning: aws-sm:prod/x#key could not be read" in outcome.stderr
    assert SHOWN in outcome.stderr


# ----------------------------------------------------------------- file-supplied text


@pytest.mark.usefixtures("signing_key")
def test_a_file_name_with_escapes_is_shown_not_obeyed(run_cli: CliHarness) -> None:
    name = f"capture{ESCAPES}\u202e.http"
    missing = run_cli("verify-webhook", "--request", name, expect=ExitCode.USAGE)
    _no_escape_reached_the_terminal(missing.stdout, missing.stderr)
    assert f"error: capture{SHOWN}\\u202e.http: cannot read" in missing.stderr
    headers = sign(b"{}", KEY, 1_700_000_000)
    Path(name).write_bytes(
        b"POST / HTTP/1.1\r\nContent-Length: 2\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode()
        + b"X-Extra: \x1b[2J\r\n\r\n{}\n"
    )
    explained = run_cli("verify-webhook", "--request", name, "--allow-stale", "--explain")
    _no_escape_reached_the_terminal(explained.stdout, explained.stderr)
    assert f"input: capture{SHOWN}\\u202e.http" in explained.stdout


@pytest.mark.usefixtures("signing_key")
def test_a_hostile_signature_header_is_never_echoed(run_cli: CliHarness) -> None:
    Path("capture.http").write_bytes(
        b"POST / HTTP/1.1\r\nContent-Length: 2\r\nX-CIO-Timestamp: 1\x1b[2J\r\n"
        + f"X-CIO-Signature: {ESCAPES}\r\n\r\n{{}}".encode()
    )
    outcome = run_cli(
        "verify-webhook", "--request", "capture.http", "--explain", expect=ExitCode.CHECK_FAILED
    )
    _no_escape_reached_the_terminal(outcome.stdout, outcome.stderr)
    assert outcome.stdout.startswith("invalid (malformed-signature)")


def test_serve_and_its_log_name_a_key_file_with_escapes_visibly() -> None:
    name = f"keys{ESCAPES}.env"
    Path(name).write_text(f"KEY={KEY}\n")
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "cio_sec", "verify-webhook", "serve", "--port", "0"),
            *("--secret-ref", f"dotenv:{name}#KEY"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        response = httpx.post(url, content=b"{}", headers=sign(b"{}", KEY))
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert response.status_code == 200
    _no_escape_reached_the_terminal(out, err)
    assert f"verifying with dotenv:keys{SHOWN}.env#KEY" in err
    assert f"keys{SHOWN}.env is readable or writable by group or others" in err  # a log record
    assert KEY not in out + err
