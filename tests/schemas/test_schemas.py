"""The published JSON Schemas: valid, one per command, shipped, and enforced by the tests."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.cli import app
from cio_sec.errors import ExitCode
from cio_sec.render import SCHEMA_VERSION, error_document
from tests.support.cli import CliHarness
from tests.support.schemas import ERROR, SANDBOX, check_document, load_schema, schema_name

SCHEMAS = files("cio_sec.schemas")
SHIPPED = sorted(p.name for p in SCHEMAS.iterdir() if p.name.endswith(".schema.json"))
ROOT = Path(__file__).resolve().parents[2]


#: Commands that print the document of another spelling (its ``command`` key names it).
_SAME_DOCUMENT = {"audit check": "audit"}


def _commands_with_a_format(command: Any = None, path: str = "") -> Iterator[str]:
    """Every command that takes ``--format`` (the ones that print JSON), by its document."""
    command = command or typer.main.get_command(app)
    if any("--format" in getattr(param, "opts", ()) for param in command.params):
        yield _SAME_DOCUMENT.get(path, path)
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands_with_a_format(sub, f"{path} {name}".strip())


def test_every_command_that_prints_json_has_a_schema_and_every_schema_a_command() -> None:
    commands = set(_commands_with_a_format())
    assert "credentials check" in commands
    expected = {f"{schema_name(command)}.schema.json" for command in commands}
    assert set(SHIPPED) == expected | {f"{ERROR}.schema.json", f"{SANDBOX}.schema.json"}


@pytest.mark.parametrize("name", SHIPPED)
def test_each_schema_is_a_valid_draft_2020_12_schema_of_this_version(name: str) -> None:
    schema = json.loads(SCHEMAS.joinpath(name).read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"urn:cio-sec:schema:{SCHEMA_VERSION}:{name.split('.')[0]}"
    # One error object everywhere: a change to it is made in every file.
    assert schema["$defs"]["error"] == load_schema(ERROR)["$defs"]["error"]
    raised = schema["$defs"]["raised" if "raised" in schema["$defs"] else "failure"]
    assert raised["properties"]["schema_version"] == {"const": SCHEMA_VERSION}


@pytest.fixture
def shown(run_cli: CliHarness) -> dict[str, object]:
    """A real document: ``credentials show`` with nothing configured."""
    return run_cli("credentials", "show", "-f", "json").json


def test_a_document_with_a_key_the_schema_does_not_list_fails(shown: dict[str, object]) -> None:
    with pytest.raises(jsonschema.ValidationError, match="'surprise' was unexpected"):
        check_document({**shown, "surprise": 1})


def test_a_document_with_a_changed_type_or_a_missing_key_fails(shown: dict[str, object]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        check_document({**shown, "profile": 7})
    with pytest.raises(jsonschema.ValidationError):
        check_document({key: value for key, value in shown.items() if key != "credentials"})
    with pytest.raises(jsonschema.ValidationError):
        check_document({**shown, "schema_version": SCHEMA_VERSION - 1})


def test_a_failure_without_its_error_or_with_a_bad_error_fails(shown: dict[str, object]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        check_document({**shown, "ok": False})  # ok false and no error
    failed = error_document("credentials show", 3, "ConfigError", "no profile", None)
    check_document(failed)
    broken = copy.deepcopy(failed)
    broken["error"]["extra"] = True
    with pytest.raises(jsonschema.ValidationError):
        check_document(broken)
    with pytest.raises(jsonschema.ValidationError):
        check_document({**failed, "error": {**failed["error"], "exit_code": 0}})


def test_a_document_of_another_command_fails_its_schema(shown: dict[str, object]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        check_document({**shown, "command": "credentials check"})


@pytest.mark.slow
@given(
    command=st.sampled_from([None, "sandbox", *sorted(_commands_with_a_format())]),
    code=st.sampled_from([code for code in ExitCode if code not in (0, 141)]),
    kind=st.from_regex(r"[A-Z][A-Za-z]{0,30}", fullmatch=True),
    message=st.text(),
    hint=st.none() | st.text(),
)
def test_any_raised_failure_matches_its_commands_schema(
    command: str | None, code: ExitCode, kind: str, message: str, hint: str | None
) -> None:
    """The envelope of a raised error is the same for every command, whatever it says."""
    check_document(error_document(command, int(code), kind, message, hint))


@pytest.mark.slow
def test_the_wheel_ships_every_schema(tmp_path: Path) -> None:
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "."),
            *("-w", str(tmp_path), "--quiet", "--disable-pip-version-check"),
        ],
        cwd=ROOT,
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("cio_sec-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"cio_sec/schemas/{name}" for name in SHIPPED} <= names
    assert len(SHIPPED) >= 17
