"""The JSON document every command writes: the stable envelope, and the shape of a failure."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cio_sec.redact import redact
from cio_sec.results import Result

if TYPE_CHECKING:
    from cio_sec.render.streams import Streams

#: Bumped when any command's JSON changes incompatibly (docs/reference/json-output.md).
SCHEMA_VERSION = 2

#: What a failed result says when it cannot say more: its exit code's name and meaning.
_DEFAULT_FAILURE: dict[int, tuple[str, str]] = {
    1: ("CheckFailed", "the check failed; the results in this document say why"),
    2: ("InputError", "the input was refused; the results in this document say why"),
    3: ("ConfigError", "a setting or credential needs fixing; the results say which"),
    4: ("RemoteError", "a remote service failed; the results say which call"),
    5: ("PartialFailureError", "stopped midway; run the same command again to resume"),
    130: ("Interrupted", "interrupted; run the same command again to resume"),
}


def json_document(command: str, result: Result) -> dict[str, Any]:
    """Wrap a result in the stable envelope: ``schema_version``, ``command``, ``ok``.

    A failed result carries the same ``error`` object as a failure that raised, next to
    its partial results.
    """
    if result.ok:
        return _envelope(command, ok=True, **result.to_json())
    return _envelope(command, ok=False, **result.to_json(), error=result_error(result))


def result_error(result: Result) -> dict[str, object]:
    """The ``error`` object of a result that is not ok."""
    code = int(result.exit_code)
    default_kind, message = _DEFAULT_FAILURE.get(code, ("CheckFailed", "the command failed"))
    kind: str | None = None
    hint = None
    # A result may say why in ``failure() -> (type or None, message, hint)``.
    describe = getattr(result, "failure", None)
    if callable(describe):
        kind, message, hint = describe()
    return _error(code, kind or default_kind, message, hint)


def error_document(
    command: str | None, exit_code: int, kind: str, message: str, hint: str | None
) -> dict[str, Any]:
    """The envelope of a failure that left no result: ``ok: false`` and an ``error``."""
    return {
        "schema_version": SCHEMA_VERSION,
        "command": command,
        "ok": False,
        "error": _error(exit_code, kind, message, hint),
    }


def write_json(document: dict[str, Any], streams: Streams) -> None:
    """One JSON object on stdout, stdlib-encoded (never through Rich), redacted."""
    import json  # not at import: the CLI loads this module on every run, text or JSON

    streams.out.write(redact(json.dumps(document, indent=2, sort_keys=True)) + "\n")
    streams.out.flush()


def _error(exit_code: int, kind: str, message: str, hint: str | None) -> dict[str, object]:
    return {"exit_code": exit_code, "type": kind, "message": message, "hint": hint}


def _envelope(command: str, *, ok: bool, **fields: object) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "command": command, "ok": ok, **fields}
