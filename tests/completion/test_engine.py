"""What a TAB offers beyond Typer's answers: profiles, paths, and each shell's format."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.completion.engine import FILES, WORDS, complete
from cio_sec.completion.profiles import config_path, profile_names
from cio_sec.completion.protocol import respond
from cio_sec.completion.table import TABLE
from cio_sec.settings import default_config_path

CONFIG = """\
default_profile = "staging"

[profiles.staging]
region = "eu"

[profiles."prod:main"]
region = "us"
"""


@pytest.fixture
def config(hermetic_env: Path) -> Path:
    path = Path.home() / ".config" / "cio-sec" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(CONFIG)
    return path


def _words(*words: str) -> list[str]:
    answer = complete(TABLE, list(words), environ=dict(_environ()), cwd=os.getcwd())
    assert answer.mode == WORDS
    return [word for word, _help in answer.candidates]


def _environ() -> dict[str, str]:
    return dict(os.environ)


def test_profile_offers_the_profiles_of_config_toml(config: Path) -> None:
    assert _words("--profile", "") == ["staging", "prod:main"]
    assert _words("--profile", "pr") == ["prod:main"]
    assert _words("-v", "--profile", "st") == ["staging"]


def test_profile_reads_the_file_cio_sec_config_names(config: Path, tmp_path: Path) -> None:
    other = tmp_path / "work" / "team.toml"
    other.write_text('[profiles.team]\nregion = "us"\n')
    answer = complete(
        TABLE, ["--profile", ""], environ={"CIO_SEC_CONFIG": "team.toml"}, cwd=str(other.parent)
    )
    assert answer.candidates == [("team", "")]


@pytest.mark.parametrize(
    "text",
    [
        "not toml = = =",
        'profiles = "a string"',
        "[profiles",
    ],
)
def test_a_config_that_cannot_be_read_offers_no_profile(config: Path, text: str) -> None:
    config.write_text(text)
    assert _words("--profile", "") == []


def test_a_config_that_is_not_utf8_or_missing_offers_no_profile(config: Path) -> None:
    config.write_bytes(b"[profiles.\xff]\n")
    assert _words("--profile", "") == []
    config.unlink()
    assert _words("--profile", "") == []


@given(
    home=st.sampled_from(["/home/u", "/root"]),
    xdg=st.sampled_from([None, "", "/xdg", "relative/xdg"]),
    explicit=st.sampled_from([None, "", "/etc/cio.toml", "cio.toml", "~/cio.toml", "~"]),
)
def test_the_config_file_is_the_one_settings_reads(
    home: str, xdg: str | None, explicit: str | None
) -> None:
    environ = {"HOME": home}
    if xdg is not None:
        environ["XDG_CONFIG_HOME"] = xdg
    if explicit is not None:
        environ["CIO_SEC_CONFIG"] = explicit
    assert Path(config_path(environ, "/work/dir")) == default_config_path(
        environ, Path("/work/dir")
    )


def test_profile_names_ignores_a_profiles_key_that_is_not_a_table(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("profiles = [1, 2]\n")
    assert profile_names({"CIO_SEC_CONFIG": str(path)}, str(tmp_path)) == []


def test_an_option_given_once_is_not_offered_again_but_a_repeatable_one_is() -> None:
    assert "--yes" not in _words("rotate", "--yes", "-")
    assert "-y" not in _words("rotate", "-y", "-")
    assert _words("scan-repo", "--branch", "main", "--b") == ["--branch", "--baseline"]


def test_short_options_in_one_word_count_as_given() -> None:
    offered = _words("rotate", "-yfjson", "-")
    assert "-y" not in offered
    assert "-f" not in offered
    assert _words("rotate", "-yf", "json", "") == ["track", "app", "webhook", "pseudonym"]


def test_after_double_dash_a_dash_word_is_an_argument() -> None:
    assert _words("erase", "--", "-") == []


def test_a_lone_equals_sign_from_bash_completes_the_value() -> None:
    assert _words("rotate", "--format", "=") == ["text", "json"]


def test_an_unknown_option_stops_the_reading_as_click_does() -> None:
    assert _words("--bogus", "rotate", "") == list(TABLE.commands)


def test_a_word_that_names_no_subcommand_offers_nothing_further() -> None:
    assert _words("nonsense", "") == list(TABLE.commands)


def test_no_words_at_all_is_a_tab_after_the_program_name() -> None:
    answer = complete(TABLE, [], environ={}, cwd=os.getcwd())
    assert [word for word, _help in answer.candidates] == list(TABLE.commands)


def test_paths_are_left_to_the_shell() -> None:
    answer = complete(TABLE, ["sanitize", "-o", ""], environ={}, cwd=os.getcwd())
    assert (answer.mode, answer.candidates) == (FILES, [])


def test_bash_gets_bare_words() -> None:
    assert respond("bash", ["rotate", ""], environ={}, cwd=os.getcwd()) == (
        "words\ntrack\napp\nwebhook\npseudonym\n"
    )


def test_fish_gets_each_word_with_its_help_after_a_tab() -> None:
    lines = respond("fish", ["credentials", ""], environ={}, cwd=os.getcwd()).splitlines()
    assert lines[0] == "words"
    assert lines[1].startswith("show\tShow where each credential comes from")
    assert respond("fish", ["sanitize", ""], environ={}, cwd=os.getcwd()) == "files\n"


def test_zsh_gets_word_colon_help_with_colons_in_the_word_escaped(config: Path) -> None:
    lines = respond("zsh", ["--profile", ""], environ=_environ(), cwd=os.getcwd()).splitlines()
    assert lines == ["words", "staging", r"prod\:main"]
    lines = respond("zsh", ["rotate", "--r"], environ={}, cwd=os.getcwd()).splitlines()
    assert lines == [
        "words",
        "--resume:Continue the rotation in progress.",
        "--rollback:Restore the previous value and forget the attempt.",
    ]


def test_bash_splits_an_option_and_its_value_at_the_equals_sign() -> None:
    assert _words("rotate", "--format", "=", "j") == ["json"]
    assert _words("--profile", "=", "") == []


def test_zsh_and_fish_keep_option_equals_value_as_one_word(config: Path) -> None:
    assert _words("rotate", "--format=") == ["--format=text", "--format=json"]
    assert _words("--profile=pr") == ["--profile=prod:main"]
    assert _words("rotate", "--yes=") == []
    assert _words("rotate", "--nonsense=") == []
    answer = complete(TABLE, ["sanitize", "--policy=p"], environ={}, cwd=os.getcwd())
    assert answer.mode == FILES
