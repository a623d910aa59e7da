"""Promises about the project as a whole: docs, completions, start-up, network (the
import rules between layers are tests/test_architecture.py)."""

from __future__ import annotations

import email
import email.message
import os
import re
import socket
import subprocess
import sys
import zipfile
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
    assert first_block.group(1).split("\n")[:2] == ["make demo", "make test"]
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
        ("cio_sec.cli.webhook:SchemeChoice", "cio_sec.webhook.recipe:Scheme"),
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


def _build_wheel(tmp_path: Path) -> tuple[email.message.Message, list[str]]:
    """Build the wheel as a release would and return its metadata and file names."""
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
    subprocess.run(
        [*pip_wheel, "--no-build-isolation", "--wheel-dir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("cio_sec-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata,) = (name for name in names if name.endswith(".dist-info/METADATA"))
        return email.message_from_bytes(archive.read(metadata)), names


@pytest.mark.slow
def test_the_wheel_publishes_no_dev_extra_and_says_what_it_runs_on(tmp_path: Path) -> None:
    metadata, files = _build_wheel(tmp_path)
    # Development tools are a dependency group: `pip install cio-sec[dev]` is no promise.
    assert metadata.get_all("Provides-Extra") == ["aws", "fast", "vault"]
    requirements = " ".join(metadata.get_all("Requires-Dist") or [])
    assert "pytest" not in requirements
    assert "moto" not in requirements
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata["License-File"] == "LICENSE"
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in files)
    assert metadata["Requires-Python"] == ">=3.10"
    classifiers = metadata.get_all("Classifier") or []
    versions = [c.rsplit(" ", 1)[1] for c in classifiers if re.fullmatch(r".*:: 3\.\d+", c)]
    assert versions == ["3.10", "3.11", "3.12", "3.13"]
    assert "Operating System :: POSIX :: Linux" in classifiers
    assert "Operating System :: MacOS" in classifiers
    assert metadata.get_all("Project-URL") == ["Homepage, https://pypi.org/project/cio-sec/"]


def test_the_license_is_the_apache_text_the_metadata_names() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert 'license = "Apache-2.0"' in (ROOT / "pyproject.toml").read_text()


def _pins(lock: Path) -> dict[str, str]:
    """Package → pinned requirement line (name, version and markers) of a hashed lock."""
    pins = {}
    for line in lock.read_text().splitlines():
        if re.match(r"[a-z0-9]", line):
            assert line.endswith("\\"), f"{lock.name}: {line} has no hashes"
            requirement = line.removesuffix("\\").strip()
            pins[requirement] = requirement.split("==")[0]
    return pins


def test_the_demo_lock_holds_runtime_dependencies_at_the_dev_lock_versions() -> None:
    demo = _pins(ROOT / "requirements" / "demo.lock")
    dev = _pins(ROOT / "requirements" / "dev.lock")
    demo_packages = set(demo.values())
    for tool in ("pytest", "moto", "mypy", "ruff", "coverage", "hypothesis", "uv"):
        assert tool not in demo_packages, tool
    assert {"typer", "httpx", "keyring", "hatchling"} <= demo_packages

    def versions(pins: dict[str, str]) -> set[str]:
        return {requirement.split(";")[0].strip() for requirement in pins}

    assert versions(demo) <= versions(dev)


@pytest.mark.slow
def test_the_demo_runs_on_its_dotenv_file_without_asking_the_keyring() -> None:
    """A machine without a keyring gets no "keyring could not be read" note from the demo."""
    env = {
        **os.environ,
        "DEMO_PEOPLE": "20",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    demo = subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo.sh"), sys.prefix],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert demo.returncode == 0, demo.stderr
    assert "keyring" not in demo.stderr
    assert "profile demo" in demo.stdout
    assert "chain verifies" in demo.stdout
    assert "Traceback" not in demo.stderr


def test_system_deps_names_the_packages_before_installing_them(tmp_path: Path) -> None:
    """`make test` may install Debian packages: the user sees which before apt-get runs."""
    tools = tmp_path / "bin"
    tools.mkdir()
    log = tmp_path / "calls.log"
    # Stand-ins for the package manager: nothing on this machine is installed by a test.
    (tools / "dpkg").write_text("#!/bin/sh\nexit 1\n")  # every package is missing
    (tools / "apt-get").write_text(f'#!/bin/sh\necho "apt-get $*" >>{log}\necho apt-get ran >&2\n')
    (tools / "id").write_text("#!/bin/sh\necho 0\n")  # as root, as in CI
    for tool in tools.iterdir():
        tool.chmod(0o755)
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "system-deps.sh")],
        env={**os.environ, "PATH": f"{tools}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        check=True,
    )
    announced = result.stderr.index("installing missing Debian packages: git dbus")
    assert announced < result.stderr.index("apt-get ran")
    assert "gnome-keyring" in result.stderr[: announced + 200]
    assert "apt-get install -y -qq --no-install-recommends git dbus" in log.read_text()
