"""Promises about the project as a whole: docs, completions, imports, start-up, network."""

from __future__ import annotations

import ast
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer.main
from pytest_socket import SocketConnectBlockedError

from cio_sec import __version__
from cio_sec.cli import app
from cio_sec.errors import EXIT_CODE_TABLE
from cio_sec.settings import CREDENTIAL_NAMES

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "cio_sec"
README = (ROOT / "README.md").read_text()
SCRIPTS = Path(sys.executable).parent


def _commands(
    command: object, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], object]]:
    subcommands = getattr(command, "commands", None)
    if subcommands:
        for name, sub in subcommands.items():
            yield from _commands(sub, (*prefix, name))
    else:
        yield prefix, command


COMMANDS = dict(_commands(typer.main.get_command(app)))


def test_every_command_is_in_the_readme() -> None:
    docs = README + "".join(page.read_text() for page in sorted((ROOT / "docs").rglob("*.md")))
    for path in COMMANDS:
        assert f"cio-sec {' '.join(path)}" in docs, path


def test_the_readme_has_the_exit_code_table() -> None:
    for code, meaning in EXIT_CODE_TABLE:
        assert f"| {int(code)} | {meaning} |" in README


def test_the_readme_starts_with_the_demo_and_the_test_command() -> None:
    first_block = re.search(r"```sh\n(.*?)```", README, re.S)
    assert first_block is not None
    assert first_block.group(1).split("\n")[:2] == ["make demo", "make check"]
    readme_test_command = first_block.group(1).split("\n")[1]
    ci_lines = (ROOT / ".ci" / "run").read_text().rstrip().splitlines()
    assert ci_lines[-1] == readme_test_command, "CI must run exactly the README's test command"
    commands = [line for line in ci_lines if line and not line.startswith("#")]
    # Nothing else runs: only the shell options, the move to the project root and the command.
    assert commands == [
        "set -euo pipefail",
        'cd "$(dirname "$0")/.."',
        "set -x",
        readme_test_command,
    ]


_SECRET_WORDS = re.compile(r"key|secret|token|password|passwd|credential|value", re.I)
#: ``--secret-ref REF`` takes a secret *reference* (env:NAME, keyring:S/U ...), which names
#: where a secret lives; its parser never echoes what was typed (it may be a pasted key).
_REFERENCE_OPTION = re.compile(r"--[a-z-]+-ref")
#: Options whose names mention a key but whose values are not secrets.
_NOT_SECRETS = {"--max-key-age"}  # a number of days


def _every_command(
    command: object, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], object]]:
    """Groups as well as leaf commands: a group's own options take values too."""
    yield prefix, command
    for name, sub in (getattr(command, "commands", None) or {}).items():
        yield from _every_command(sub, (*prefix, name))


def test_no_command_accepts_a_secret_as_an_option_value() -> None:
    """Secrets come from prompts, stdin, files or stores, never from argv."""
    for path, command in _every_command(typer.main.get_command(app)):
        for param in command.params:  # type: ignore[attr-defined]
            if getattr(param, "is_flag", False) or getattr(param, "count", False):
                continue
            for name in param.opts:
                if _REFERENCE_OPTION.fullmatch(name) or name in _NOT_SECRETS:
                    continue
                assert not _SECRET_WORDS.search(name), f"{' '.join(path)} {name}"


def test_credential_choices_match_the_settings() -> None:
    from cio_sec.cli import CredentialName

    assert tuple(member.value for member in CredentialName) == CREDENTIAL_NAMES


@pytest.mark.parametrize(
    ("cli_choice", "core_enum"),
    [
        ("cio_sec.cli.erase:IdTypeChoice", "cio_sec.erase.inputs:IdType"),
        ("cio_sec.cli.rotate:RotateKind", "cio_sec.rotate.steps:Kind"),
        ("cio_sec.cli.webhook:SchemeChoice", "cio_sec.webhook.signing:Scheme"),
        ("cio_sec.cli.sanitize:InputFormatChoice", "cio_sec.sanitize.formats:InputFormat"),
    ],
)
def test_cli_choices_mirror_the_core_enums(cli_choice: str, core_enum: str) -> None:
    """The CLI keeps its own copies so start-up never imports a capability's core."""
    import importlib

    def values(target: str) -> list[str]:
        module, name = target.split(":")
        return [member.value for member in getattr(importlib.import_module(module), name)]

    assert values(cli_choice) == values(core_enum)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _in_cli_layer(path: Path) -> bool:
    """The command line (cio_sec/cli/) and output.py may import typer and rich."""
    return path.parent == PACKAGE / "cli" or path == PACKAGE / "output.py"


@pytest.mark.parametrize(
    "module",
    sorted(p for p in PACKAGE.rglob("*.py") if not _in_cli_layer(p)),
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_core_modules_never_import_typer_or_rich(module: Path) -> None:
    assert not _imports(module) & {"typer", "rich", "click"}


def test_the_cli_imports_nothing_heavy_at_start_up() -> None:
    code = (
        "import sys, cio_sec.cli;"
        "heavy = {'httpx', 'keyring', 'git', 'rich', 'dotenv', 'cio_sec.client',"
        " 'cio_sec.sandbox', 'cio_sec.settings', 'cio_sec.stores', 'logging', 'json',"
        " 'boto3', 'botocore', 'hvac', 'requests'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    # Without coverage's own hooks, which import json and more into every subprocess.
    env = {key: value for key, value in os.environ.items() if not key.startswith("COVERAGE")}
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert loaded.strip() == "[]"


def test_the_completions_directory_is_the_packaged_scripts() -> None:
    """One source of truth: ``completions/`` points at the scripts the wheel carries."""
    assert (ROOT / "completions").resolve() == PACKAGE / "completion" / "scripts"


def test_a_completion_request_of_the_older_scripts_still_lists_subcommands() -> None:
    env = {
        **os.environ,
        "_CIO_SEC_COMPLETE": "complete_bash",
        "COMP_WORDS": "cio-sec credentials ",
        "COMP_CWORD": "2",
    }
    result = subprocess.run(
        [str(SCRIPTS / "cio-sec")], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["show", "set", "check"]


def test_python_dash_m_and_the_console_script_report_the_version() -> None:
    for argv in ([sys.executable, "-m", "cio_sec"], [str(SCRIPTS / "cio-sec")]):
        result = subprocess.run([*argv, "--version"], capture_output=True, text=True, check=True)
        assert result.stdout == f"cio-sec {__version__}\n"


def test_non_loopback_connections_are_blocked_in_tests() -> None:
    with (
        pytest.warns(UserWarning, match="192.0.2.1"),
        pytest.raises(SocketConnectBlockedError),
        socket.create_connection(("192.0.2.1", 80), 1),
    ):
        pass


def test_changelog_follows_keep_a_changelog() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert changelog.startswith("# Changelog")
    assert "## [Unreleased]" in changelog
    assert "keepachangelog.com" in changelog
