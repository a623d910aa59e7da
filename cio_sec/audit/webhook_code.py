"""Does the application verify Customer.io webhooks properly? A heuristic over its sources.

Customer.io signs ``v0:<X-CIO-Timestamp>:<raw body>`` with HMAC-SHA256 and sends the hex
digest in ``X-CIO-Signature``. A handler is any Python or JavaScript/TypeScript file that
mentions the header; in each one this flags the classic mistakes: ``==``/``===`` on
signatures (a timing oracle), no constant-time comparison at all, an HMAC over parsed and
re-serialised JSON instead of the raw bytes, an HMAC over the body alone without the
``v0:`` timestamp prefix, and Node's ``timingSafeEqual`` called without a length check
(it throws on unequal lengths, so a malformed header becomes a 500).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cio_sec.audit.report import CheckFinding, CheckResult, Status, from_findings, passed

if TYPE_CHECKING:
    from cio_sec.stores.chain import ResolvedCredential

PYTHON_SUFFIXES = frozenset({".py"})
SCRIPT_SUFFIXES = frozenset({".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx"})
#: Directories that hold dependencies or build output, not the application's own code.
SKIPPED_DIRS = frozenset(
    {".git", "node_modules", ".venv", "venv", "__pycache__", ".tox", "dist", "build", ".next"}
)
MAX_SOURCE_BYTES = 1 << 20
HEADER = "x-cio-signature"

_SIGNATURE_WORD = re.compile(r"sig|digest|hmac|expected|computed", re.I)
_EQUALITY = re.compile(r"[=!]==?")
_NOT_A_SIGNATURE = re.compile(r"\b(None|null|undefined|length|len|typeof)\b|''|\"\"", re.I)
_CONSTANT_TIME = {"python": re.compile(r"compare_digest"), "script": re.compile(r"timingSafeEqual")}
_PARSED_BODY = {
    "python": re.compile(r"request\.(get_json\(|json\b)|json\.dumps\("),
    "script": re.compile(r"JSON\.stringify\(|\.json\(\)|(express|bodyParser)\.json\("),
}
_RAW_BODY = {
    "python": re.compile(r"get_data\(|request\.(data|body)\b|raw_body|rawBody|\.read\(\)"),
    "script": re.compile(
        r"(express|bodyParser)\.raw\(|rawBody|raw_body|getRawBody|\.text\(\)|\.arrayBuffer\(\)"
        r"|Buffer\.concat\("
    ),
}
_TIMESTAMP_PREFIX = re.compile(r"v0:")
_LENGTH_CHECK = re.compile(
    r"\.(byteL|l)ength\s*(!==|===|!=|==)|(!==|===|!=|==)\s*[\w.]+\.(byteL|l)ength"
)
_COMMENT = {"python": re.compile(r"#.*$"), "script": re.compile(r"//.*$")}


@dataclass(frozen=True)
class Handler:
    """A source file that handles Customer.io webhooks, and what is wrong with it."""

    path: str
    findings: tuple[CheckFinding, ...]


def iter_sources(root: Path) -> Iterator[Path]:
    """Python and JavaScript/TypeScript files under ``root``, dependencies skipped."""
    suffixes = PYTHON_SUFFIXES | SCRIPT_SUFFIXES
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if set(relative.parts[:-1]) & SKIPPED_DIRS or path.suffix not in suffixes:
            continue
        if path.is_file() and path.stat().st_size <= MAX_SOURCE_BYTES:
            yield path


def find_handlers(root: Path) -> list[Handler]:
    """Every source file under ``root`` that mentions ``X-CIO-Signature``, with findings."""
    handlers = []
    for path in iter_sources(root):
        text = path.read_text(encoding="utf-8", errors="replace")
        if HEADER in text.lower():
            relative = path.relative_to(root).as_posix()
            language = "python" if path.suffix in PYTHON_SUFFIXES else "script"
            handlers.append(Handler(relative, tuple(inspect_handler(relative, text, language))))
    return handlers


def inspect_handler(path: str, text: str, language: str) -> Iterator[CheckFinding]:
    """The problems of one handler file (``language`` is ``python`` or ``script``)."""
    lines = [_COMMENT[language].sub("", line) for line in text.splitlines()]
    header_line = next(n for n, line in enumerate(text.splitlines(), 1) if HEADER in line.lower())
    for number, line in enumerate(lines, start=1):
        signature_equality = _EQUALITY.search(line) and _SIGNATURE_WORD.search(line)
        if signature_equality and not _NOT_A_SIGNATURE.search(line):
            yield CheckFinding(
                Status.FAIL,
                "compares the signature with ==, which leaks timing",
                path,
                number,
            )
    code = "\n".join(lines)
    constant_time = _CONSTANT_TIME[language].search(code)
    if constant_time is None:
        yield CheckFinding(
            Status.FAIL, "no constant-time comparison of the signature", path, header_line
        )
    yield from _body_findings(path, code, language, header_line)
    if _TIMESTAMP_PREFIX.search(code) is None:
        yield CheckFinding(
            Status.FAIL,
            "the HMAC covers the body only, without the v0:<timestamp>: prefix",
            path,
            header_line,
        )
    if language == "script" and constant_time is not None and not _LENGTH_CHECK.search(code):
        yield CheckFinding(
            Status.WARN,
            "timingSafeEqual without a length check throws on a malformed signature",
            path,
            _line_of(code, constant_time.start()),
        )


def _body_findings(path: str, code: str, language: str, header_line: int) -> Iterator[CheckFinding]:
    parsed = _PARSED_BODY[language].search(code)
    if _RAW_BODY[language].search(code):
        return
    if parsed is not None:
        yield CheckFinding(
            Status.FAIL,
            "the signature is checked against a parsed JSON body, not the raw bytes",
            path,
            _line_of(code, parsed.start()),
        )
        return
    yield CheckFinding(
        Status.WARN, "could not tell whether the raw request body is verified", path, header_line
    )


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


_REMEDIATION = (
    "verify HMAC-SHA256 over v0:<X-CIO-Timestamp>:<raw body> and compare with "
    "hmac.compare_digest / crypto.timingSafeEqual after a length check, before parsing JSON"
)


def check_webhook_code(handlers: list[Handler]) -> CheckResult:
    """PASS when every handler verifies the raw body in constant time; MANUAL when none exist."""
    title = "Webhook handlers verify X-CIO-Signature"
    if not handlers:
        return CheckResult(
            "webhook-handler",
            title,
            Status.MANUAL,
            "no Python or JavaScript/TypeScript source mentions X-CIO-Signature",
            "if the application receives Customer.io webhooks, review its verification by "
            "hand (cio-sec verify-webhook checks a captured delivery)",
        )
    findings = [finding for handler in handlers for finding in handler.findings]
    if not findings:
        names = ", ".join(handler.path for handler in handlers)
        return passed(
            "webhook-handler",
            title,
            f"{len(handlers)} handler(s) verify the raw body in constant time: {names}",
        )
    return from_findings(
        "webhook-handler", title, findings, remediation=_REMEDIATION, more="more findings"
    )


def check_webhook_key(
    resolved: Mapping[str, ResolvedCredential], handlers: list[Handler]
) -> CheckResult:
    """PASS when the signing key resolves; FAIL without it when handlers exist, else WARN."""
    title = "Webhook signing key configured"
    key = resolved["webhook_signing_key"]
    if key.source is not None:
        return passed("webhook-signing-key", title, f"webhook_signing_key found at {key.source}")
    status = Status.FAIL if handlers else Status.WARN
    because = f"{len(handlers)} handler(s) in the code" if handlers else "no handler found"
    return CheckResult(
        "webhook-signing-key",
        title,
        status,
        f"webhook_signing_key is not configured ({because})",
        "copy the signing key from Customer.io's Reporting Webhooks page and run: "
        "cio-sec credentials set webhook_signing_key",
    )
