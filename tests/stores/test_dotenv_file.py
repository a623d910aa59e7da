"""DotenvStore: reads, atomic writes that keep the file's layout, and leak warnings."""

from __future__ import annotations

import errno
import io
import logging
import os
import resource
import signal
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from dotenv import dotenv_values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cio_sec.errors import ConfigError, SecretStoreUnavailableError
from cio_sec.stores import SecretRef, SecretStore, StoredValue, dotenv_exposure, open_store
from cio_sec.stores.dotenv_file import DotenvStore
from cio_sec.stores.dotenv_text import quote_value

SECRET = "trk_live_5ecret_value_0001"
NEW_SECRET = "trk_live_5ecret_value_0002"


def open_dotenv(location: str = ".env#TRACK_KEY", **environ: str) -> SecretStore:
    return open_store(f"dotenv:{location}", environ=environ, cwd=Path.cwd())


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8", newline="")
    path.chmod(mode)
    return path


def read(path: Path) -> str:
    if not path.exists():
        return ""
    with path.open(encoding="utf-8", newline="") as handle:
        return handle.read()


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def cio_sec_warnings(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> Iterator[pytest.LogCaptureFixture]:
    """Capture cio-sec's warnings even when the CLI's logging setup stopped propagation."""
    monkeypatch.setattr(logging.getLogger("cio_sec"), "propagate", True)
    with caplog.at_level(logging.WARNING, logger="cio_sec"):
        yield caplog


def warnings_about(caplog: pytest.LogCaptureFixture, path: Path) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "cio_sec" and str(path) in record.getMessage()
    ]


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


# --- references -------------------------------------------------------------------------


def test_relative_path_is_taken_from_cwd(tmp_path: Path) -> None:
    ref = SecretRef.parse("dotenv:conf/.env#TRACK_KEY")
    store = DotenvStore.from_ref(ref, environ={}, cwd=tmp_path)
    assert isinstance(store, SecretStore)
    assert store.path == tmp_path / "conf" / ".env"
    assert store.name == "TRACK_KEY"
    assert store.previous_name == "TRACK_KEY_PREVIOUS"
    assert store.describe() == f"dotenv file {tmp_path / 'conf' / '.env'}, variable TRACK_KEY"


def test_absolute_path_ignores_cwd(tmp_path: Path) -> None:
    ref = SecretRef.parse(f"dotenv:{tmp_path}/a#b/x.env#TRACK_KEY")
    store = DotenvStore.from_ref(ref, environ={}, cwd=Path("/elsewhere"))
    assert store.path == tmp_path / "a#b" / "x.env"


def test_tilde_is_the_home_of_the_given_environment(tmp_path: Path) -> None:
    ref = SecretRef.parse("dotenv:~/secrets/.env#TRACK_KEY")
    store = DotenvStore.from_ref(ref, environ={"HOME": str(tmp_path)}, cwd=Path("/elsewhere"))
    assert store.path == tmp_path / "secrets" / ".env"


def test_tilde_without_home_in_environ_uses_the_process_home() -> None:
    ref = SecretRef.parse("dotenv:~/.env#TRACK_KEY")
    store = DotenvStore.from_ref(ref, environ={}, cwd=Path("/elsewhere"))
    assert store.path == Path.home() / ".env"


@pytest.mark.parametrize("location", [".env", ".env#", "#TRACK_KEY", "  #TRACK_KEY"])
def test_missing_path_or_name_is_a_config_error(location: str) -> None:
    with pytest.raises(ConfigError, match="does not name a file and a variable") as caught:
        open_dotenv(location)
    assert caught.value.hint is not None
    assert "dotenv:PATH#NAME" in caught.value.hint


def test_invalid_variable_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not a valid variable name"):
        open_dotenv(".env#TRACK-KEY")


# --- reading ----------------------------------------------------------------------------


def test_reads_current_and_previous(dotenv_path: Path) -> None:
    write(dotenv_path, f"TRACK_KEY={SECRET}\nTRACK_KEY_PREVIOUS='{NEW_SECRET}'\n")
    store = open_dotenv()
    assert store.get() == StoredValue(SECRET, version=None)
    assert store.get_previous() == StoredValue(NEW_SECRET)


@pytest.mark.parametrize("text", ["", "OTHER=1\n", "TRACK_KEY=\n", "TRACK_KEY\n", "TRACK_KEY=''\n"])
def test_missing_or_empty_values_read_as_none(dotenv_path: Path, text: str) -> None:
    write(dotenv_path, text)
    assert open_dotenv().get() is None
    assert open_dotenv().get_previous() is None


def test_missing_file_reads_as_empty_and_is_not_created(dotenv_path: Path) -> None:
    assert open_dotenv().get() is None
    assert not dotenv_path.exists()


def test_values_are_literal_and_os_environ_is_untouched(
    dotenv_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTERPOLATED", "from_os_environ")
    write(dotenv_path, "TRACK_KEY=abc${INTERPOLATED}def\n")
    before = dict(os.environ)
    assert open_dotenv().get() == StoredValue("abc${INTERPOLATED}def")
    assert dict(os.environ) == before


def test_directory_is_unreadable(dotenv_path: Path) -> None:
    dotenv_path.mkdir()
    with pytest.raises(SecretStoreUnavailableError, match="not a regular file") as caught:
        open_dotenv().get()
    assert str(dotenv_path) in caught.value.message


def test_fifo_is_refused_without_blocking(dotenv_path: Path) -> None:
    os.mkfifo(dotenv_path)
    with pytest.raises(SecretStoreUnavailableError, match="not a regular file"):
        open_dotenv().get()


def test_invalid_utf8_is_unreadable_and_the_content_is_not_shown(dotenv_path: Path) -> None:
    dotenv_path.write_bytes(b"TRACK_KEY=" + SECRET.encode() + b"\xff\xfe\n")
    with pytest.raises(SecretStoreUnavailableError) as caught:
        open_dotenv().get()
    assert caught.value.message == (
        f"cannot read dotenv file {dotenv_path}: it is not UTF-8 text (byte {10 + len(SECRET)})"
    )
    assert caught.value.__cause__ is None
    assert SECRET not in str(caught.value) + (caught.value.hint or "")


def test_parent_that_is_a_file_is_unreadable(dotenv_path: Path) -> None:
    write(dotenv_path, "TRACK_KEY=x\n")
    with pytest.raises(SecretStoreUnavailableError, match="Not a directory") as caught:
        open_dotenv(".env/inner.env#TRACK_KEY").get()
    assert isinstance(caught.value.__cause__, NotADirectoryError)


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux /proc")
def test_read_error_after_open_is_unavailable() -> None:
    # A regular file that opens but cannot be read: offset 0 of this process's memory.
    with pytest.raises(SecretStoreUnavailableError, match="Input/output error") as caught:
        open_dotenv("/proc/self/mem#TRACK_KEY").get()
    assert isinstance(caught.value.__cause__, OSError)


# --- writing ----------------------------------------------------------------------------


def test_put_creates_the_file_with_mode_0600_whatever_the_umask(dotenv_path: Path) -> None:
    old_umask = os.umask(0)
    try:
        open_dotenv().put(SECRET)
    finally:
        os.umask(old_umask)
    assert mode_of(dotenv_path) == 0o600
    assert read(dotenv_path) == f"TRACK_KEY={SECRET}\n"


def test_put_refuses_a_missing_directory_and_creates_nothing(hermetic_env: Path) -> None:
    """A mistyped path must fail, not quietly grow a directory tree."""
    with pytest.raises(SecretStoreUnavailableError, match="its directory does not exist") as caught:
        open_dotenv("deploy/secrets/.env#TRACK_KEY").put(SECRET)
    assert caught.value.hint is not None
    assert "mkdir -m 700 -p" in caught.value.hint
    assert not (hermetic_env / "deploy").exists()


def test_put_tightens_an_existing_file_to_0600(dotenv_path: Path) -> None:
    write(dotenv_path, f"TRACK_KEY={SECRET}\n", mode=0o644)
    open_dotenv().put(NEW_SECRET)
    assert mode_of(dotenv_path) == 0o600


def test_put_replaces_in_place_and_keeps_everything_else(dotenv_path: Path) -> None:
    write(
        dotenv_path,
        "# Customer.io credentials\n"
        "CUSTOMERIO_SITE_ID=site123\n"
        "\n"
        "  export TRACK_KEY='old value' # rotated quarterly\r\n"
        'APP_KEY="app value"\n'
        "# trailing comment\n"
        "UNPARSEABLE LINE !!\n"
        "LAST=1",
    )

    open_dotenv().put(NEW_SECRET)

    assert read(dotenv_path) == (
        "# Customer.io credentials\n"
        "CUSTOMERIO_SITE_ID=site123\n"
        "\n"
        f"  export TRACK_KEY={NEW_SECRET}\r\n"
        "TRACK_KEY_PREVIOUS='old value'\r\n"
        'APP_KEY="app value"\n'
        "# trailing comment\n"
        "UNPARSEABLE LINE !!\n"
        "LAST=1"
    )


def test_put_rewrites_an_existing_previous_line_where_it_stands(dotenv_path: Path) -> None:
    write(dotenv_path, "TRACK_KEY_PREVIOUS=oldest\nA=1\nTRACK_KEY=old\n")
    open_dotenv().put("new")
    assert read(dotenv_path) == "TRACK_KEY_PREVIOUS=old\nA=1\nTRACK_KEY=new\n"


def test_put_appends_to_a_file_without_final_newline(dotenv_path: Path) -> None:
    write(dotenv_path, "A=1")
    open_dotenv().put(SECRET)
    assert read(dotenv_path) == f"A=1\nTRACK_KEY={SECRET}\n"


def test_put_after_a_last_line_without_newline_keeps_lines_apart(dotenv_path: Path) -> None:
    write(dotenv_path, "A=1\nTRACK_KEY=old")
    open_dotenv().put("new")
    assert read(dotenv_path) == "A=1\nTRACK_KEY=new\nTRACK_KEY_PREVIOUS=old"
    assert dotenv_values(dotenv_path) == {"A": "1", "TRACK_KEY": "new", "TRACK_KEY_PREVIOUS": "old"}


def test_put_drops_later_duplicates_that_would_win(dotenv_path: Path) -> None:
    write(dotenv_path, "TRACK_KEY=first\nA=1\nTRACK_KEY=second\n")
    store = open_dotenv()
    assert store.get() == StoredValue("second")  # python-dotenv: the last one wins
    store.put("third")
    assert read(dotenv_path) == "TRACK_KEY=third\nTRACK_KEY_PREVIOUS=second\nA=1\n"


def test_put_of_the_current_value_does_not_touch_the_file(dotenv_path: Path) -> None:
    write(dotenv_path, f"TRACK_KEY={SECRET}   # keep this comment\n")
    inode = dotenv_path.stat().st_ino
    open_dotenv().put(SECRET)
    assert dotenv_path.stat().st_ino == inode
    assert read(dotenv_path) == f"TRACK_KEY={SECRET}   # keep this comment\n"


def test_put_quotes_values_that_need_it(dotenv_path: Path) -> None:
    value = 'it\'s a #secret with $HOME and \\ and "quotes" = '
    open_dotenv().put(value)
    assert (
        read(dotenv_path) == "TRACK_KEY='it\\'s a #secret with $HOME and \\\\ and \"quotes\" = '\n"
    )
    assert dotenv_values(dotenv_path, interpolate=False) == {"TRACK_KEY": value}


def test_put_through_a_symlink_writes_the_target(hermetic_env: Path, dotenv_path: Path) -> None:
    shared = hermetic_env / "shared"
    shared.mkdir()
    target = write(shared / "app.env", "TRACK_KEY=old\n")
    dotenv_path.symlink_to(target)

    open_dotenv().put("new")

    assert dotenv_path.is_symlink()
    assert read(target) == "TRACK_KEY=new\nTRACK_KEY_PREVIOUS=old\n"
    assert sorted(path.name for path in shared.iterdir()) == ["app.env"]


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_put_keeps_the_owner_of_the_file(dotenv_path: Path) -> None:
    write(dotenv_path, "TRACK_KEY=old\n")
    os.chown(dotenv_path, 4321, 4322)
    open_dotenv().put("new")
    status = dotenv_path.stat()
    assert (status.st_uid, status.st_gid) == (4321, 4322)


def test_failed_write_leaves_the_original_intact_and_no_temp_file(dotenv_path: Path) -> None:
    original = "# production\nTRACK_KEY=old_value_0001\n"
    write(dotenv_path, original)
    store = open_dotenv()
    huge = "x" * 64 * 1024
    # A real failure in the middle of writing the temporary file: the kernel refuses to
    # let this process grow a file past 1 KiB (EFBIG instead of the default SIGXFSZ).
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, hard))
    try:
        with pytest.raises(SecretStoreUnavailableError, match="cannot write dotenv file") as caught:
            store.put(huge)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old_handler)

    assert read(dotenv_path) == original
    assert [path.name for path in dotenv_path.parent.iterdir()] == [".env"]
    assert isinstance(caught.value.__cause__, OSError)
    assert caught.value.__cause__.errno == errno.EFBIG
    assert huge not in caught.value.message
    assert caught.value.hint is not None
    assert "left as it was" in caught.value.hint


def test_write_below_a_file_is_unavailable_and_changes_nothing(dotenv_path: Path) -> None:
    write(dotenv_path, "A=1\n")
    with pytest.raises(SecretStoreUnavailableError, match="Not a directory"):
        open_dotenv(".env/sub/inner.env#TRACK_KEY").put(SECRET)
    assert read(dotenv_path) == "A=1\n"


# --- rollback and delete ----------------------------------------------------------------


def test_rollback_swaps_the_lines_in_place(dotenv_path: Path) -> None:
    write(dotenv_path, "# head\nTRACK_KEY=new\nA=1\nTRACK_KEY_PREVIOUS=old\n")
    assert open_dotenv().rollback() == StoredValue("old")
    assert read(dotenv_path) == "# head\nTRACK_KEY=old\nA=1\nTRACK_KEY_PREVIOUS=new\n"


def test_rollback_without_current_value_removes_the_previous_line(dotenv_path: Path) -> None:
    write(dotenv_path, "A=1\nTRACK_KEY_PREVIOUS=old\n")
    assert open_dotenv().rollback() == StoredValue("old")
    assert read(dotenv_path) == "A=1\nTRACK_KEY=old\n"


def test_rollback_without_previous_is_a_config_error(dotenv_path: Path) -> None:
    write(dotenv_path, "TRACK_KEY=current\n")
    with pytest.raises(ConfigError, match="TRACK_KEY_PREVIOUS is not set"):
        open_dotenv().rollback()
    assert read(dotenv_path) == "TRACK_KEY=current\n"


def test_delete_removes_both_lines_and_keeps_the_rest(dotenv_path: Path) -> None:
    write(dotenv_path, "# head\n\nTRACK_KEY=new\nTRACK_KEY_PREVIOUS=old\n\n  A=1\nTRACK_KEY=dup\n")
    open_dotenv().delete()
    assert read(dotenv_path) == "# head\n\n\n  A=1\n"


def test_delete_without_the_variables_leaves_the_file_alone(dotenv_path: Path) -> None:
    write(dotenv_path, "A=1\n", mode=0o640)
    inode = dotenv_path.stat().st_ino
    open_dotenv().delete()
    assert dotenv_path.stat().st_ino == inode
    assert mode_of(dotenv_path) == 0o640


def test_delete_of_a_missing_file_creates_nothing(dotenv_path: Path) -> None:
    open_dotenv().delete()
    assert not dotenv_path.exists()


# --- leak warnings ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o666])
def test_group_or_world_access_is_warned_once(
    dotenv_path: Path, cio_sec_warnings: pytest.LogCaptureFixture, mode: int
) -> None:
    write(dotenv_path, f"TRACK_KEY={SECRET}\n", mode=mode)
    store = open_dotenv()
    store.get()
    store.get_previous()
    open_dotenv().get()

    messages = warnings_about(cio_sec_warnings, dotenv_path)
    assert messages == [
        f"dotenv file {dotenv_path} is readable or writable by group or others "
        f"(mode {mode:04o}); fix it with: chmod 600 {dotenv_path}"
    ]
    assert all(record.levelno == logging.WARNING for record in cio_sec_warnings.records)
    assert SECRET not in cio_sec_warnings.text


def test_private_file_outside_git_is_not_warned(
    dotenv_path: Path, cio_sec_warnings: pytest.LogCaptureFixture
) -> None:
    write(dotenv_path, f"TRACK_KEY={SECRET}\n")
    open_dotenv().get()
    open_dotenv().put(NEW_SECRET)
    assert warnings_about(cio_sec_warnings, dotenv_path) == []


def test_file_in_a_git_work_tree_that_git_does_not_ignore_is_warned(
    hermetic_env: Path, cio_sec_warnings: pytest.LogCaptureFixture
) -> None:
    git("init", "-q", cwd=hermetic_env)
    (hermetic_env / "app").mkdir()

    open_dotenv("app/.env#TRACK_KEY").put(SECRET)  # the warning follows the write, too
    open_dotenv("app/.env#TRACK_KEY").get()

    env_path = hermetic_env / "app" / ".env"
    assert warnings_about(cio_sec_warnings, env_path) == [
        f"dotenv file {env_path} is inside a git work tree and not ignored by git, so its "
        "secrets can be committed; add it to .gitignore"
    ]


def test_file_that_gitignore_lists_is_not_warned(
    hermetic_env: Path, dotenv_path: Path, cio_sec_warnings: pytest.LogCaptureFixture
) -> None:
    git("init", "-q", cwd=hermetic_env)
    write(hermetic_env / ".gitignore", ".env\n")
    write(dotenv_path, f"TRACK_KEY={SECRET}\n")
    open_dotenv().get()
    assert warnings_about(cio_sec_warnings, dotenv_path) == []


def test_without_git_the_check_is_skipped_silently(
    dotenv_path: Path,
    hermetic_env: Path,
    cio_sec_warnings: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    git("init", "-q", cwd=hermetic_env)
    write(dotenv_path, f"TRACK_KEY={SECRET}\n")
    monkeypatch.setenv("PATH", str(hermetic_env / "no-programs-here"))
    assert open_dotenv().get() == StoredValue(SECRET)
    assert warnings_about(cio_sec_warnings, dotenv_path) == []


@pytest.mark.parametrize(
    "script",
    [
        "#!/bin/sh\nexec sleep 5\n",  # hangs: the check times out
        "not a program\n",  # cannot be executed: OSError
    ],
    ids=["timeout", "broken"],
)
def test_a_misbehaving_git_is_skipped_silently(
    dotenv_path: Path,
    hermetic_env: Path,
    cio_sec_warnings: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    script: str,
) -> None:
    bin_dir = hermetic_env / "bin"
    bin_dir.mkdir()
    write(bin_dir / "git", script, mode=0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(dotenv_exposure, "GIT_TIMEOUT_SECONDS", 0.2)
    write(dotenv_path, f"TRACK_KEY={SECRET}\n")
    assert open_dotenv().get() == StoredValue(SECRET)
    assert warnings_about(cio_sec_warnings, dotenv_path) == []


# --- properties -------------------------------------------------------------------------

#: Printable single-line values, biased towards what breaks naive quoting.
single_line_values = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("'\"#$=\\ `{}!\t")),
        st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")),
    ),
    min_size=1,
)

#: Each example rewrites the same file from scratch; sharing the test's directory is safe.
FILE_PROPERTY_SETTINGS = settings(
    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FILE_PROPERTY_SETTINGS
@given(value=single_line_values)
def test_written_values_read_back_exactly(dotenv_path: Path, value: str) -> None:
    dotenv_path.unlink(missing_ok=True)
    open_dotenv().put(value)
    assert dotenv_values(dotenv_path, interpolate=False) == {"TRACK_KEY": value}
    assert open_dotenv().get() == StoredValue(value)
    if "${" not in value:
        # What a reader with python-dotenv's defaults (interpolation on) sees.
        assert dotenv_values(dotenv_path) == {"TRACK_KEY": value}


@FILE_PROPERTY_SETTINGS
@given(value=st.text(min_size=1))
def test_any_text_value_reads_back_exactly(dotenv_path: Path, value: str) -> None:
    # Line breaks included: they are written as escapes, so the file keeps one line.
    dotenv_path.unlink(missing_ok=True)
    open_dotenv().put(value)
    assert dotenv_values(dotenv_path, interpolate=False) == {"TRACK_KEY": value}
    assert open_dotenv().get() == StoredValue(value)
    assert read(dotenv_path).count("\n") == 1


def test_line_breaks_are_written_as_escapes(dotenv_path: Path) -> None:
    open_dotenv().put('line one\r\nline "two"\\n')
    assert read(dotenv_path) == 'TRACK_KEY="line one\\r\\nline \\"two\\"\\\\n"\n'
    assert open_dotenv().get() == StoredValue('line one\r\nline "two"\\n')


def test_values_read_as_python_dotenv_reads_them_from_a_crlf_file(dotenv_path: Path) -> None:
    write(dotenv_path, "A=1\r\nTRACK_KEY='multi\r\nline'\r\n")
    assert open_dotenv().get() == StoredValue(dotenv_values(dotenv_path)["TRACK_KEY"] or "")
    open_dotenv().put("new")
    assert read(dotenv_path) == 'A=1\r\nTRACK_KEY=new\r\nTRACK_KEY_PREVIOUS="multi\\nline"\r\n'


@pytest.mark.slow
@FILE_PROPERTY_SETTINGS
@given(
    others=st.dictionaries(
        st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True).filter(
            lambda name: not name.startswith("TRACK_KEY")
        ),
        single_line_values,
        max_size=5,
    ),
    old=single_line_values,
    new=single_line_values,
)
def test_put_changes_only_its_own_variables(
    dotenv_path: Path, others: dict[str, str], old: str, new: str
) -> None:
    lines = [f"{name}={quote_value(value)}\n" for name, value in others.items()]
    write(
        dotenv_path,
        "# comment\n" + "".join(lines[:2]) + f"TRACK_KEY={quote_value(old)}\n" + "".join(lines[2:]),
    )

    open_dotenv().put(new)

    values = dotenv_values(dotenv_path, interpolate=False)
    assert {name: values[name] for name in others} == others
    assert values["TRACK_KEY"] == new
    assert values.get("TRACK_KEY_PREVIOUS") == (old if old != new else None)
    assert read(dotenv_path).startswith("# comment\n")


@given(value=single_line_values)
def test_quote_value_round_trips_through_python_dotenv(value: str) -> None:
    parsed = dotenv_values(stream=io.StringIO(f"K={quote_value(value)}\n"), interpolate=False)
    assert parsed == {"K": value}


def test_concurrent_writers_do_not_lose_each_others_changes(dotenv_path: Path) -> None:
    """Two writers on one file: without the lock one read-modify-replace wins."""
    import threading

    for round_number in range(30):
        names = (f"KEY_A{round_number}", f"KEY_B{round_number}")
        start = threading.Barrier(len(names))

        def put(name: str, start: threading.Barrier) -> None:
            start.wait()
            open_dotenv(f".env#{name}").put(f"value-of-{name}")

        threads = [threading.Thread(target=put, args=(name, start)) for name in names]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        values = dotenv_values(dotenv_path)
        assert all(values.get(name) == f"value-of-{name}" for name in names), values


def test_a_rewrite_that_fixes_the_mode_does_not_warn_about_it(
    dotenv_path: Path, cio_sec_warnings: pytest.LogCaptureFixture
) -> None:
    write(dotenv_path, "TRACK_KEY=old\n", mode=0o644)
    open_dotenv().put("new")
    assert mode_of(dotenv_path) == 0o600
    assert warnings_about(cio_sec_warnings, dotenv_path) == []


def test_a_put_that_changes_nothing_still_warns_about_the_mode(
    dotenv_path: Path, cio_sec_warnings: pytest.LogCaptureFixture
) -> None:
    write(dotenv_path, "TRACK_KEY=same\n", mode=0o644)
    open_dotenv().put("same")
    assert mode_of(dotenv_path) == 0o644
    assert any("chmod 600" in w for w in warnings_about(cio_sec_warnings, dotenv_path))
    write(dotenv_path.with_name("other.env"), "X=1\n", mode=0o640)
    open_dotenv("other.env#TRACK_KEY").delete()
    assert any(
        "chmod 600" in w
        for w in warnings_about(cio_sec_warnings, dotenv_path.with_name("other.env"))
    )


def test_delete_and_rollback_in_a_missing_directory_create_nothing(hermetic_env: Path) -> None:
    store = open_dotenv("gone/.env#TRACK_KEY")
    store.delete()
    with pytest.raises(ConfigError, match="is not set"):
        store.rollback()
    assert not (hermetic_env / "gone").exists()
