"""The ``dotenv:PATH#NAME`` store: a secret in a dotenv file, rewritten atomically.

The previous value lives in the same file as ``NAME_PREVIOUS``. Writes replace the file
in one `os.replace`, so a reader sees the old file or the new one, never half of each,
and keep every other line, comment and the order of the file. The file is checked for
two common leaks, once per process: permissions that let other users read it, and a git
work tree that would commit it.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock; the last writer wins there
    fcntl = None  # type: ignore[assignment]


from cio_sec.atomicfile import atomic_write
from cio_sec.errors import ConfigError, SecretStoreUnavailableError
from cio_sec.stores import SecretRef, StoredValue
from cio_sec.stores.dotenv_exposure import check_exposure
from cio_sec.stores.dotenv_text import parse_dotenv, render_updates
from cio_sec.stores.env import PREVIOUS_SUFFIX, check_variable_name


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
                check_exposure(self.path, snapshot.status)  # not rewritten: old mode stays
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
                check_exposure(self.path, snapshot.status)

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
            check_exposure(self.path, snapshot.status)
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
        text = render_updates(snapshot.text, updates, after={self.previous_name: self.name})
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
        check_exposure(self.path, status)

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
