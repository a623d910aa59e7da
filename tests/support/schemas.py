"""Every JSON document a CLI test sees is checked against the command's published schema.

The schema comes from the document itself: its ``command`` picks the file in
``cio_sec/schemas/``, and ``ok`` picks the success or the failure definition, so a
failure names the part that does not match. An output change the schema does not
describe fails the test that produced it.
"""

from __future__ import annotations

import json
import os
from functools import cache
from importlib.resources import files
from typing import Any

import jsonschema

#: The schema of the one JSON line ``cio-sec sandbox`` prints (it has no envelope).
SANDBOX = "sandbox"
#: The schema of a failure that never reached a command (a usage error at the root).
ERROR = "error"


def schema_name(command: str | None) -> str:
    """The schema file's stem for a command: ``credentials check`` → ``credentials-check``."""
    return ERROR if command is None else command.replace(" ", "-")


@cache
def load_schema(name: str) -> dict[str, Any]:
    """One published schema, read from the installed package."""
    text = files("cio_sec.schemas").joinpath(f"{name}.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def check_document(document: object, *, schema: str | None = None) -> dict[str, Any]:
    """Validate one document against its schema and return it.

    Raises:
        jsonschema.ValidationError: the document does not match its schema.
    """
    assert isinstance(document, dict), f"a JSON document is an object, got {document!r}"
    _record(document)
    if schema is None:
        assert "command" in document, f"no command: {document}"
        schema = schema_name(document["command"])
    if _SAMPLES:
        return document
    published = load_schema(schema)
    part = "failure" if document.get("ok") is False else "success"
    if part in published.get("$defs", {}):  # the part alone: a failure names the right definition
        published = {**published, "$ref": f"#/$defs/{part}"}
        del published["anyOf"]
    jsonschema.validate(document, published)
    return document


def parse_document(text: str | bytes, *, schema: str | None = None) -> dict[str, Any]:
    """Parse one JSON document printed by cio-sec and validate it."""
    return check_document(json.loads(text), schema=schema)


def parse_lines(text: str) -> list[dict[str, Any]]:
    """Parse JSON lines printed by cio-sec (``verify-webhook serve``) and validate each."""
    return [parse_document(line) for line in text.splitlines() if line.strip()]


_SAMPLES = os.environ.get("CIO_SEC_SCHEMA_SAMPLES_FILE")


def _record(document: dict[str, Any]) -> None:
    if _SAMPLES:
        with open(_SAMPLES, "a", encoding="utf-8") as sink:
            sink.write(json.dumps(document, sort_keys=True) + "\n")
