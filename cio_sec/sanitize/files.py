"""``cio-sec sanitize``: one input file or stdin through a policy to a file or stdout.

:func:`run` is the command's core, exported as ``cio_sec.sanitize.run``.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cio_sec.errors import NO_ROOM_ERRNOS, NO_ROOM_HINT, ExitCode, InputError, OutputWriteError
from cio_sec.pseudonym import KeyRing
from cio_sec.sanitize.counts import SanitizeCounts
from cio_sec.sanitize.engine import HASH_SUFFIX, sanitize_records
from cio_sec.sanitize.formats import (
    SNIFF_LIMIT,
    InputFormat,
    format_for,
    format_from_name,
    read_document,
    write_document,
)
from cio_sec.sanitize.hashers import Hasher, keyed_hasher, legacy_hasher, placeholder_hasher
from cio_sec.sanitize.policy import Policy
from cio_sec.sanitize.rules import Action

LEGACY_WARNING = (
    "--legacy-sha256 writes unkeyed sha256(value)[:16] hashes, which anyone can reverse by "
    "enumerating phone numbers or IP addresses; use it only to match values an older "
    "integration wrote, then move to keyed pseudonyms"
)
_INVALID_EXAMPLES = 5
#: Errors of a write that ran out of room: a full disk, a quota, a file-size limit.


#: Reads the pseudonym key ring (creating the key on first use). Called only when keyed
#: pseudonyms will be written, so a run that needs no key never reads settings or stores.
KeySource = Callable[[], KeyRing]


@dataclass(frozen=True, kw_only=True)
class SanitizeRequest:
    """What the command was asked to do."""

    input: Path | None
    """None reads stdin."""
    output: Path | None
    """None writes stdout."""
    input_format: InputFormat | None = None
    policy: Path | None = None
    check: bool = False
    legacy_sha256: bool = False
    skip_invalid: bool = False
    report: bool = False
    stdin: IO[bytes] | None = field(default=None, repr=False, compare=False)
    """Read instead of the process's stdin (``input`` None)."""
    stdout: IO[bytes] | None = field(default=None, repr=False, compare=False)
    """Written instead of the process's stdout (``output`` None)."""


@dataclass(frozen=True)
class SanitizeReport:
    """Counts and context of one run; never any attribute value."""

    request: SanitizeRequest
    input_format: InputFormat
    policy_source: str
    counts: SanitizeCounts
    key_id: str | None = None
    key_source: str | None = None
    key_created: bool = False
    invalid_examples: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """False when ``--check`` found something to change."""
        return not (self.request.check and self.counts.changed)

    @property
    def exit_code(self) -> ExitCode:
        """1 when ``--check`` found something to change."""
        return ExitCode.OK if self.ok else ExitCode.CHECK_FAILED

    @property
    def data_on_stdout(self) -> bool:
        """Sanitised records went to stdout, so the report goes to stderr."""
        return self.request.output is None and not self.request.check

    def to_json(self) -> dict[str, object]:
        """The report: where from and to, which key id, and the counts."""
        request = self.request
        return {
            "input": str(request.input) if request.input else "-",
            "output": None if request.check else str(request.output or "-"),
            "input_format": self.input_format.value,
            "policy": self.policy_source,
            "check": request.check,
            "changed": self.counts.changed,
            "legacy_sha256": request.legacy_sha256,
            "key_id": self.key_id,
            "key_created": self.key_created,
            "invalid_examples": list(self.invalid_examples),
            "warnings": list(self.warnings),
            **self.counts.to_json(),
        }


def run(request: SanitizeRequest, keys: KeySource) -> SanitizeReport:
    """Sanitise the request's input into its output (``--check``: into nothing).

    ``keys`` is only called when keyed pseudonyms will be written.

    Raises:
        InputError: unreadable input or policy, malformed input (naming the line).
        SecretMissingError: no pseudonym key and no writable store to create one in.
    """
    policy = Policy.load(request.policy) if request.policy else Policy.default()
    warnings: tuple[str, ...] = ()
    ring: KeyRing | None = None
    hasher: Hasher
    if request.check:
        hasher = placeholder_hasher
    elif request.legacy_sha256:
        hasher, warnings = legacy_hasher, (LEGACY_WARNING,)
    elif policy.pseudonymises:
        ring = keys()
        hasher = keyed_hasher(ring.current)
    else:
        hasher = placeholder_hasher
    counts = SanitizeCounts()
    examples: list[str] = []

    def skipped(error: InputError) -> None:
        counts.invalid += 1
        if len(examples) < _INVALID_EXAMPLES:
            examples.append(error.message)

    label = str(request.input) if request.input else "<stdin>"
    stdin = sys.stdin.buffer if request.stdin is None else request.stdin
    stdout = sys.stdout.buffer if request.stdout is None else request.stdout
    with _open_input(request.input, stdin) as raw:
        fmt, stream = _detect(raw, request.input_format, label)
        document = read_document(stream, fmt, label, skipped if request.skip_invalid else None)
        records = sanitize_records(document.records, policy, hasher=hasher, counts=counts)
        header = output_columns(document.header, policy)
        if request.check:
            for _ in records:
                pass
        else:
            with _open_output(request.output, stdout) as out:
                write_document(out, document.shape, records, header)
    replaces = "would replace" if request.check else "replaced"
    warnings += tuple(
        f"{path} already existed in {count} record(s): the pseudonym of "
        f"{path.removesuffix(HASH_SUFFIX)} {replaces} it, losing its old value"
        for path, count in sorted(counts.overwritten.items())
    )
    return SanitizeReport(
        request=request,
        input_format=fmt,
        policy_source=policy.source,
        counts=counts,
        key_id=ring.current.key_id if ring else None,
        key_source=ring.source if ring else None,
        key_created=ring.created if ring else False,
        invalid_examples=tuple(examples),
        warnings=warnings,
    )


def output_columns(header: list[str], policy: Policy) -> list[str]:
    """The CSV header after sanitising: dropped columns gone, pseudonymised ones renamed."""
    renamed = {
        name: name + HASH_SUFFIX
        for name in header
        if policy.decide(name).action is Action.PSEUDONYMISE
    }
    targets = set(renamed.values())
    columns: list[str] = []
    for name in header:
        action = policy.decide(name).action
        if action is Action.DROP or (name in targets and name not in renamed):
            continue
        columns.append(renamed.get(name, name))
    return columns


@contextlib.contextmanager
def _open_input(path: Path | None, stdin: IO[bytes]) -> Iterator[IO[bytes]]:
    if path is None:
        yield stdin
        return
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=path) from None
    with handle:
        yield handle


@contextlib.contextmanager
def _open_output(path: Path | None, stdout: IO[bytes]) -> Iterator[IO[bytes]]:
    """Stdout, or a private temporary file renamed over ``path`` only on success."""
    if path is None:
        yield stdout
        stdout.flush()
        return
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - renamed or removed below
            "wb",
            dir=path.parent,
            prefix=f".{path.name}.",
            suffix=".tmp",
            delete=False,
        )
    except OSError as exc:
        raise _write_error(exc, path) from None
    try:
        with handle:
            yield handle
        _replace(handle.name, path)
    except BaseException as exc:  # a full disk, a bad record, Ctrl-C, SIGTERM
        with contextlib.suppress(FileNotFoundError):  # SIGTERM just after the rename
            os.unlink(handle.name)
        if isinstance(exc, OSError) and exc.errno in NO_ROOM_ERRNOS:
            raise _write_error(exc, path) from None
        raise


def _write_error(exc: OSError, path: Path) -> InputError | OutputWriteError:
    if exc.errno in NO_ROOM_ERRNOS:
        return OutputWriteError(
            f"cannot write: {exc.strerror}; the file was left as it was",
            path=path,
            hint=NO_ROOM_HINT,
        )
    return InputError(f"cannot write: {exc.strerror}", path=path)


def _replace(temporary: str, path: Path) -> None:
    try:
        os.replace(temporary, path)
    except OSError as exc:  # e.g. -o names a directory
        raise InputError(f"cannot write: {exc.strerror}", path=path) from None


def _detect(raw: IO[bytes], given: InputFormat | None, label: str) -> tuple[InputFormat, IO[bytes]]:
    """The format (given, from the name, or from the first line) and a stream from byte 0.

    Only when neither the option nor the name decides is the start of the input read, and
    at most :data:`SNIFF_LIMIT` bytes of it: a one-line JSON array still streams.
    """
    given = given or format_from_name(label)
    if given is not None:
        return given, raw
    head = raw.readline(SNIFF_LIMIT)
    stream = io.BufferedReader(_Prefixed(head, raw))
    return format_for(label, head), stream


class _Prefixed(io.RawIOBase):
    """Bytes already read, then the rest of the stream (stdin cannot seek back)."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self.head = head
        self.rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self.head:
            size = min(len(view), len(self.head))
            view[:size] = self.head[:size]
            self.head = self.head[size:]
            return size
        data = self.rest.read(len(view))
        view[: len(data)] = data
        return len(data)
