"""Settings that would hang or exhaust the machine are refused where they are written.

``concurrency = 100000000000000000000`` once grew an erase of 2 ids to 24 GB, and
``rate = 1e-300`` waited forever: every numeric setting is held to the bounds of its
command-line option, and a value outside them is exit 2 with ``file:line``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pytest
import typer.main
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.bounds import SETTING_BOUNDS, Bound
from cio_sec.cli import app
from cio_sec.errors import ExitCode, InputError
from cio_sec.settings import CliFlags, load_settings
from cio_sec.settings.config_file import _PROFILE_KEYS
from tests.support.cli import CliHarness

ENV = {"HOME": "/home/op", "XDG_CONFIG_HOME": "/home/op/.config"}
CONFIG = "/home/op/.config/cio-sec/config.toml"


def _load(text: str) -> object:
    return load_settings(CliFlags(), ENV, cwd=Path("/srv"), config_text=text)


def _toml(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(value)


def _outside(bound: Bound) -> st.SearchStrategy[float]:
    """Numbers a profile may hold that lie outside ``bound``: too small, too large, not finite.

    TOML integers have no size limit (tomllib reads them as Python ints), so integers far
    beyond 64 bits are drawn too; the others take floats and integers.
    """
    ints = st.one_of(
        st.integers(max_value=math.ceil(bound.minimum) - 1),
        st.integers(min_value=math.floor(bound.maximum) + 1),
        st.integers(min_value=2**1024).map(lambda big: big * 10**300),
    )
    if isinstance(bound.minimum, int):
        return ints
    below = st.floats(max_value=bound.minimum, exclude_max=True, allow_nan=False)
    above = st.floats(min_value=bound.maximum, exclude_min=True, allow_nan=False)
    return st.one_of(ints, below, above, st.just(math.nan))


@given(
    key=st.sampled_from(sorted(SETTING_BOUNDS)),
    blank_lines=st.integers(min_value=0, max_value=5),
    data=st.data(),
)
def test_a_number_outside_its_bound_is_exit_2_at_its_line(
    key: str, blank_lines: int, data: st.DataObject
) -> None:
    value = data.draw(_outside(SETTING_BOUNDS[key]))
    text = "[profiles.default]\n" + "\n" * blank_lines + f"{key} = {_toml(value)}\n"
    with pytest.raises(InputError) as caught:
        _load(text)
    error = caught.value
    assert error.exit_code == ExitCode.USAGE
    assert error.line == blank_lines + 2
    assert error.message.startswith(f"{CONFIG}:{blank_lines + 2}: {key} in profile 'default'")
    assert SETTING_BOUNDS[key].describe() in error.message


@given(key=st.sampled_from(sorted(SETTING_BOUNDS)), data=st.data())
def test_a_number_inside_its_bound_is_the_setting(key: str, data: st.DataObject) -> None:
    bound = SETTING_BOUNDS[key]
    if isinstance(bound.minimum, int):
        value: float = data.draw(
            st.integers(min_value=int(bound.minimum), max_value=int(bound.maximum))
        )
    else:
        value = data.draw(st.floats(min_value=bound.minimum, max_value=bound.maximum))
    settings = _load(f"[profiles.default]\n{key} = {_toml(value)}\n")
    assert getattr(settings, key) == value


def test_the_reported_numbers_are_refused() -> None:
    """The two values from the report: one grew memory without end, one never finished."""
    with pytest.raises(InputError, match=r":2: concurrency .* between 1 and 256"):
        _load("[profiles.default]\nconcurrency = 100000000000000000000\n")
    with pytest.raises(InputError, match=r":3: rate .* between 0.1 and 10000"):
        _load("[profiles.default]\nregion = 'us'\nrate = 1e-300\n")


@pytest.mark.parametrize("key", sorted(SETTING_BOUNDS))
def test_an_integer_too_large_for_a_float_is_refused_not_a_crash(key: str) -> None:
    """``math.isfinite(10**400)`` raises OverflowError: it was exit 70."""
    with pytest.raises(InputError, match=rf":2: {key} in profile 'default' must be between"):
        _load(f"[profiles.default]\n{key} = {10**400}\n")


def test_an_integer_of_more_digits_than_python_reads_is_exit_2_naming_the_file(
    run_cli: CliHarness,
) -> None:
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "cio-sec" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(f"[profiles.default]\nconcurrency = {'9' * 5000}\n")
    outcome = run_cli("credentials", "show", expect=ExitCode.USAGE)
    assert outcome.stderr.startswith(f"error: {path}: invalid TOML: a number has more digits")


def _numeric_profile_keys() -> set[str]:
    numeric = {int, float}
    return {
        key
        for key, kind in _PROFILE_KEYS.items()
        if numeric & set(kind if isinstance(kind, tuple) else (kind,))
    }


def test_every_numeric_profile_key_has_a_bound_and_every_bound_a_key() -> None:
    assert _numeric_profile_keys() == set(SETTING_BOUNDS)


def _options_named_after_settings() -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    stack: list[tuple[str, Any]] = [("cio-sec", typer.main.get_command(app))]
    while stack:
        path, command = stack.pop()
        for name, sub in (getattr(command, "commands", None) or {}).items():
            stack.append((f"{path} {name}", sub))
        found.extend(
            (path, param)
            for param in command.params
            if param.param_type_name == "option" and param.name in SETTING_BOUNDS
        )
    return found


def test_every_option_of_a_numeric_setting_has_the_same_bound() -> None:
    """An option and a profile key for one setting cannot drift apart."""
    options = _options_named_after_settings()
    assert {param.name for _, param in options} >= {"rate", "concurrency"}
    for path, param in options:
        bound = SETTING_BOUNDS[param.name]
        assert (param.min, param.max) == (bound.minimum, bound.maximum), (path, param.name)


def test_a_profile_beyond_a_bound_stops_every_command_with_file_and_line(
    run_cli: CliHarness,
) -> None:
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "cio-sec" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text("[profiles.default]\n# bulk work\nconcurrency = 100000000000000000000\n")
    outcome = run_cli("credentials", "show", expect=ExitCode.USAGE)
    assert outcome.stderr.startswith(f"error: {path}:3: concurrency in profile 'default' must")


def test_the_option_refuses_what_the_profile_refuses(run_cli: CliHarness) -> None:
    outcome = run_cli("erase", "someone", "--rate", "1e-300", "--dry-run", expect=ExitCode.USAGE)
    assert "--rate" in outcome.stderr
    outcome = run_cli("erase", "someone", "--concurrency", "257", "--dry-run", expect=2)
    assert "--concurrency" in outcome.stderr
