"""The webhook handler heuristic on real source files."""

from __future__ import annotations

from pathlib import Path

from cio_sec.audit.report import Status
from cio_sec.audit.webhook_code import check_webhook_code, find_handlers, inspect_handler
from tests.support.apps import (
    BAD_PYTHON_HANDLER,
    BAD_TS_HANDLER,
    GOOD_JS_HANDLER,
    GOOD_PYTHON_HANDLER,
)


def messages(text: str, language: str) -> dict[str, int | None]:
    return {f.message: f.line for f in inspect_handler("h", text, language)}


def test_good_handlers_have_no_findings() -> None:
    assert messages(GOOD_PYTHON_HANDLER, "python") == {}
    assert messages(GOOD_JS_HANDLER, "script") == {}


def test_a_python_handler_with_every_mistake() -> None:
    assert messages(BAD_PYTHON_HANDLER, "python") == {
        "compares the signature with ==, which leaks timing": 15,
        "no constant-time comparison of the signature": 12,
        "the signature is checked against a parsed JSON body, not the raw bytes": 13,
        "the HMAC covers the body only, without the v0:<timestamp>: prefix": 12,
    }


def test_a_typescript_handler_on_parsed_json_without_a_length_check() -> None:
    assert messages(BAD_TS_HANDLER, "script") == {
        "the signature is checked against a parsed JSON body, not the raw bytes": 3,
        "the HMAC covers the body only, without the v0:<timestamp>: prefix": 4,
        "timingSafeEqual without a length check throws on a malformed signature": 9,
    }


def test_strict_equality_in_javascript_is_flagged_and_null_checks_are_not() -> None:
    text = GOOD_JS_HANDLER.replace(
        "  res.sendStatus(200);",
        "  if (signature === undefined) return;\n  if (computedSig === sig) res.sendStatus(200);",
    )
    found = messages(text, "script")
    assert found == {"compares the signature with ==, which leaks timing": 15}


def test_a_handler_whose_body_handling_is_unclear_is_a_warning() -> None:
    text = 'sig = headers["X-CIO-Signature"]\nprefix = b"v0:"\nok = hmac.compare_digest(a, sig)\n'
    found = list(inspect_handler("h.py", text, "python"))
    assert [(f.status, f.message) for f in found] == [
        (Status.WARN, "could not tell whether the raw request body is verified")
    ]


def test_handlers_are_found_by_the_header_and_dependencies_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "hooks.py").write_text(GOOD_PYTHON_HANDLER)
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "hook.ts").write_text(BAD_TS_HANDLER)
    (tmp_path / "node_modules" / "lib").mkdir(parents=True)
    (tmp_path / "node_modules" / "lib" / "x.js").write_text(BAD_TS_HANDLER)
    (tmp_path / "README.md").write_text("X-CIO-Signature")
    (tmp_path / "other.py").write_text("print('hello')\n")
    (tmp_path / "package.py").mkdir()  # a directory with a source-like name
    handlers = find_handlers(tmp_path)
    assert [h.path for h in handlers] == ["app/hooks.py", "web/hook.ts"]
    result = check_webhook_code(handlers)
    assert result.status is Status.FAIL
    assert result.evidence == (
        "web/hook.ts:3: the signature is checked against a parsed JSON body, not the raw "
        "bytes (+2 more findings)"
    )
    good = check_webhook_code(handlers[:1])
    assert good.status is Status.PASS
    assert good.evidence == "1 handler(s) verify the raw body in constant time: app/hooks.py"


def test_no_handler_is_a_manual_check() -> None:
    result = check_webhook_code([])
    assert result.status is Status.MANUAL
    assert "verify-webhook" in result.remediation
