"""The ``dotenv:PATH#NAME`` store: a secret in a dotenv file, rewritten atomically.

The previous value lives in the same file as ``NAME_PREVIOUS``. Writes replace the file
in one `os.replace`, so a reader sees the old file or the new one, never half of each,
and keep every other line, comment and the order of the file. The file is checked for
two common leaks, once per process: permissions that let other users read it, and a git
work tree that would commit it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import shutil
import stat
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock; the last writer wins there
    fcntl = None  # type: ignore[assignment]

from dotenv.parser import Binding, parse_stream

from cio_sec.atomicfile import atomic_write
from cio_sec.errors import ConfigError, SecretStoreUnavailableError
from cio_sec.stores import SecretRef, StoredValue
from cio_sec.stores.env import PREVIOUS_SUFFIX, check_variable_name

_LOG = logging.getLogger("cio_sec")

#: How long `git check-ignore` may take before the check is skipped.
GIT_TIMEOUT_SECONDS = 5.0

#: Values made only of these characters are written unquoted (``NAME=value``), as people
#: write them; anything else is quoted (see `quote_value`).
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_.,:/+=@%^-]+")
_EXPORT = re.compile(r"export[ \t]+")
_LINE_END = re.compile(r"(?:\r\n|\n|\r)\Z")

_warned_lock = threading.Lock()
_warned: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class _Snapshot:
    """What a dotenv file held when it was read; a missing file reads as empty."""

    text: str = ""
    status: os.stat_result | None = None
    values: dict[str, str | None] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        value = self.values.get(name)
        return value or None


class DotenvStore:
    """A secret in a dotenv file; the previous value is ``NAME_PREVIOUS`` in the same file.

    Values are read literally (no ``${VAR}`` expansion), so a secret containing ``$``
    reads back as written.
    """

    def __init__(self, ref: SecretRef, path: Path, name: str) -> None:
        self.ref = ref
        self.writable = True
        self.path = path
        self.name = name
        self.previous_name = name + PREVIOUS_SUFFIX

    @classmethod
    def from_ref(cls, ref: SecretRef, *, environ: Mapping[str, str], cwd: Path) -> DotenvStore:
        """Bind the store to the file and variable a ``dotenv:PATH#NAME`` reference names.

        A relative PATH is taken from ``cwd``; a leading ``~`` is the ``HOME`` in
        ``environ``.

        Raises:
            ConfigError: the reference lacks PATH or ``#NAME``, or NAME is not a valid
                variable name.
        """
        path_text, sep, name = ref.location.rpartition("#")
        if not sep or not path_text.strip() or not name:
            raise ConfigError(
                f"this {ref.scheme}: reference does not name a file and a variable (PATH#NAME)",
                hint="use dotenv:PATH#NAME, for example dotenv:.env#CUSTOMERIO_TRACK_API_KEY",
            )
        check_variable_name(name, ref)
        path = _expand_home(path_text, environ)
        return cls(ref, path if path.is_absolute() else cwd / path, name)

    def get(self) -> StoredValue | None:
        """Return the value of NAME; a missing file, variable or empty value is None.

        Raises:
            SecretStoreUnavailableError: the file exists but cannot be read as UTF-8 text.
        """
        return _stored(self._load().get(self.name))

    def get_previous(self) -> StoredValue | None:
        """Return the value of ``NAME_PREVIOUS``, or None.

        Raises:
            SecretStoreUnavailableError: the file exists but cannot be read as UTF-8 text.
        """
        return _stored(self._load().get(self.previous_name))

    def put(self, value: str) -> StoredValue:
        """Write ``value`` as NAME and the value it replaces as ``NAME_PREVIOUS``.

        The file is created when missing, but never its directory (a mistyped path must
        fail); after the write it has mode 0600. Putting the value that is already current
        changes nothing, so a retried write cannot push the real previous value out.

        Raises:
            ConfigError: the value is empty.
            SecretStoreUnavailableError: the file cannot be read or written, or its
                directory does not exist.
        """
        if not value:
            raise ConfigError(f"refusing to store an empty value in {self.describe()}")
        with self._exclusive():
            snapshot = self._load(rewriting=True)
            current = snapshot.get(self.name)
            if current != value:
                updates: dict[str, str | None] = {self.name: value}
                if current is not None:
                    updates[self.previous_name] = current
                self._write(snapshot, updates)
            elif snapshot.status is not None:  # pragma: no branch - same value: file exists
                _check_exposure(self.path, snapshot.status)  # not rewritten: old mode stays
        return StoredValue(value)

    def rollback(self) -> StoredValue:
        """Swap NAME and ``NAME_PREVIOUS``; return the new current value.

        Raises:
            ConfigError: there is no previous value.
            SecretStoreUnavailableError: the file cannot be read or written.
        """
        with self._exclusive():
            snapshot = self._load(rewriting=True)
            previous = snapshot.get(self.previous_name)
            if previous is None:
                raise ConfigError(
                    f"cannot roll back {self.describe()}: {self.previous_name} is not set",
                )
            current = snapshot.get(self.name)
            self._write(snapshot, {self.name: previous, self.previous_name: current})
        return StoredValue(previous)

    def delete(self) -> None:
        """Remove the NAME and ``NAME_PREVIOUS`` lines; other lines stay.

        Raises:
            SecretStoreUnavailableError: the file cannot be read or written.
        """
        with self._exclusive():
            snapshot = self._load(rewriting=True)
            if self.name in snapshot.values or self.previous_name in snapshot.values:
                self._write(snapshot, {self.name: None, self.previous_name: None})
            elif snapshot.status is not None:  # nothing rewritten: the old mode stays
                _check_exposure(self.path, snapshot.status)

    def describe(self) -> str:
        """Say which file and variable hold the secret."""
        return f"dotenv file {self.path}, variable {self.name}"

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Serialise read-modify-write cycles on the file's directory.

        Two writers would otherwise each replace the file with their own edit and lose
        the other's (a new key, or the previous value kept for rollback). The lock is
        ``flock`` on the directory itself, so no lock file is left beside the ``.env``.
        """
        directory = Path(os.path.realpath(self.path)).parent
        try:
            fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except FileNotFoundError:
            yield  # nothing there to race on (put refuses a missing directory)
            return
        except OSError as exc:
            raise self._unreadable(_reason(exc)) from exc
        try:
            if fcntl is not None:  # pragma: no branch - None on Windows only
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # also releases the lock

    def _load(self, *, rewriting: bool = False) -> _Snapshot:
        """Read the file; warn about loose permissions unless a rewrite will fix them."""
        snapshot = self._read()
        if snapshot.status is not None and not rewriting:
            _check_exposure(self.path, snapshot.status)
        return snapshot

    def _read(self) -> _Snapshot:
        try:
            # O_NONBLOCK: opening a FIFO must not hang; the regular-file check rejects it.
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except FileNotFoundError:
            return _Snapshot()
        except OSError as exc:
            raise self._unreadable(_reason(exc)) from exc
        try:
            status = os.fstat(fd)
            if not stat.S_ISREG(status.st_mode):
                raise self._unreadable("it is not a regular file")
            with open(fd, "rb", closefd=False) as handle:
                data = handle.read()
        except OSError as exc:
            raise self._unreadable(_reason(exc)) from exc
        finally:
            os.close(fd)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self._unreadable(f"it is not UTF-8 text (byte {exc.start})") from None
        # Values as python-dotenv reads the file (universal newlines); the raw text keeps
        # the file's own line endings for rewriting.
        universal = text.replace("\r\n", "\n").replace("\r", "\n")
        values, _ = parse_dotenv(universal)
        return _Snapshot(text, status, values)

    def _write(self, snapshot: _Snapshot, updates: dict[str, str | None]) -> None:
        text = _render(snapshot.text, updates, after={self.previous_name: self.name})
        # NOTE: follow a symlinked .env (deployments often link it to a shared file) so
        # the file the application reads is the one that changes.
        target = Path(os.path.realpath(self.path))
        if not target.parent.is_dir():
            # NOTE: a mistyped --store path must not quietly grow a directory tree.
            raise SecretStoreUnavailableError(
                f"cannot write dotenv file {self.path}: its directory does not exist",
                hint=f"check the path, or create the directory first: mkdir -m 700 -p "
                f"{target.parent}",
            )
        try:
            atomic_write(target, text.encode("utf-8"), prepare=_owner_of(snapshot.status))
            status = target.stat()
        except OSError as exc:
            raise SecretStoreUnavailableError(
                f"cannot write dotenv file {self.path}: {_reason(exc)}",
                hint="check that the directory exists and is writable; the file was left as it was",
            ) from exc
        _check_exposure(self.path, status)

    def _unreadable(self, reason: str) -> SecretStoreUnavailableError:
        return SecretStoreUnavailableError(
            f"cannot read dotenv file {self.path}: {reason}",
            hint="point the reference at a readable UTF-8 dotenv file",
        )


def _expand_home(path_text: str, environ: Mapping[str, str]) -> Path:
    home = environ.get("HOME")
    if home and (path_text == "~" or path_text.startswith("~/")):
        return Path(home, path_text[2:])
    return Path(path_text).expanduser()


def _stored(value: str | None) -> StoredValue | None:
    return None if value is None else StoredValue(value)


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def parse_dotenv(text: str) -> tuple[dict[str, str | None], tuple[int, ...]]:
    """Parse dotenv text as python-dotenv does (no interpolation): values, bad lines.

    python-dotenv would log each unparsable line itself, without the file's name and on
    every read; returning the line numbers lets the caller say it once, with the path.
    """
    values: dict[str, str | None] = {}
    bad_lines: list[int] = []
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            bad_lines.append(binding.original.line)
        elif binding.key is not None:
            values[binding.key] = binding.value
    return values, tuple(bad_lines)


def quote_value(value: str) -> str:
    r"""Return ``value`` as a dotenv value that python-dotenv reads back unchanged.

    Plain values (letters, digits and ``_.,:/+=@%^-``) stay unquoted. Values with line
    breaks are double-quoted with ``\n`` and ``\r`` escapes, so the variable stays on one
    line and survives readers that translate line endings. Anything else is
    single-quoted, with ``\\`` and ``'`` escaped (the only escapes python-dotenv decodes
    there); single quotes keep ``#``, spaces and other backslashes literal.

    Raises:
        Nothing: every string has a quoted form.
    """
    if _PLAIN_VALUE.fullmatch(value):
        return value
    escaped = value.replace("\\", "\\\\")
    if "\n" in value or "\r" in value:
        escaped = escaped.replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
        return f'"{escaped}"'
    escaped = escaped.replace("'", "\\'")
    return f"'{escaped}'"


def _render(text: str, updates: dict[str, str | None], *, after: dict[str, str]) -> str:
    """Return ``text`` with the variables in ``updates`` set (None: removed).

    A variable already in the file is rewritten where it stands (later duplicates, which
    would win over it, are dropped); a new one goes right after the line of the variable
    ``after`` names for it, or else at the end.
    """
    bindings = list(parse_stream(io.StringIO(text)))
    present = {binding.key for binding in bindings}
    pending = {key: value for key, value in updates.items() if value is not None}
    placed: set[str] = set()
    lines: list[str] = []

    def emit(key: str, value: str, template: Binding | None, end: str = "\n") -> None:
        placed.add(key)
        if template is None:
            written = "".join(lines)
            if written and not written.endswith(("\n", "\r")):
                lines.append(end or "\n")
            lines.append(f"{key}={quote_value(value)}{end}")
            return
        original = template.original.string
        head = _leading_space(original)
        export = "export " if _EXPORT.match(original, len(head)) else ""
        lines.append(f"{head}{export}{key}={quote_value(value)}{_line_end(original)}")

    for binding in bindings:
        key = binding.key
        if key is None or key not in updates:
            lines.append(binding.original.string)
        elif key in placed:
            continue  # a later duplicate would win over the line just written: drop it
        elif key not in pending:
            placed.add(key)  # removed; the blank lines that stood before it stay
            head = _leading_space(binding.original.string)
            lines.append(head[: max(head.rfind("\n"), head.rfind("\r")) + 1])
        else:
            emit(key, pending[key], binding)
            for follower, leader in after.items():
                if leader == key and follower in pending and follower not in present:
                    emit(follower, pending[follower], None, _line_end(binding.original.string))
    for key, value in pending.items():
        if key not in placed:
            emit(key, value, None)
    return "".join(lines)


def _leading_space(original: str) -> str:
    """Return the blank lines and indentation python-dotenv counts into a binding."""
    return original[: len(original) - len(original.lstrip())]


def _line_end(original: str) -> str:
    end = _LINE_END.search(original)
    return end.group() if end else ""


def _owner_of(owner: os.stat_result | None) -> Callable[[int], None] | None:
    """Give the rewritten file the owner of the file it replaces."""
    if owner is None or os.name != "posix":
        return None

    def copy_owner(fd: int) -> None:
        # NOTE: when root rewrites a deploy user's file, the new file must stay that user's,
        # or the application can no longer read its own secrets.
        if (owner.st_uid, owner.st_gid) != (os.geteuid(), os.getegid()):
            with contextlib.suppress(PermissionError):
                os.fchown(fd, owner.st_uid, owner.st_gid)

    return copy_owner


def _check_exposure(path: Path, status: os.stat_result) -> None:
    """Warn (once per file per process) when the file is readable by others or committable."""
    mode = stat.S_IMODE(status.st_mode)
    # NOTE: on Windows st_mode is synthesised from the read-only flag; only POSIX modes
    # say who else can read the file.
    if os.name == "posix" and mode & 0o077 and _first_time(path, "mode"):
        _LOG.warning(
            "dotenv file %s is readable or writable by group or others (mode %s); "
            "fix it with: chmod 600 %s",
            path,
            f"{mode:04o}",
            path,
        )
    if _first_time(path, "git") and _git_ignores(path) is False:
        _LOG.warning(
            "dotenv file %s is inside a git work tree and not ignored by git, so its "
            "secrets can be committed; add it to .gitignore",
            path,
        )


def _first_time(path: Path, check: str) -> bool:
    key = (str(path), check)
    with _warned_lock:
        if key in _warned:
            return False
        _warned.add(key)
        return True


def _git_ignores(path: Path) -> bool | None:
    """Return whether git ignores ``path``; None when git or a work tree is missing."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell; the path is an argument
            [git, "check-ignore", "-q", "--", str(path)],
            cwd=path.parent,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    # 0: ignored, 1: not ignored, 128: not a work tree (or another fatal error).
    return {0: True, 1: False}.get(result.returncode)
