"""Exit codes and the exception hierarchy; each error class carries its exit code."""

from __future__ import annotations

import errno
from enum import IntEnum
from pathlib import Path
from typing import ClassVar


class ExitCode(IntEnum):
    """The process exit codes cio-sec documents and keeps stable."""

    OK = 0
    """Done; nothing to report."""
    CHECK_FAILED = 1
    """The command ran and the answer is "no" (findings, invalid signature, failures)."""
    USAGE = 2
    """Usage error, or an input file that cannot be read or parsed."""
    CONFIG = 3
    """Configuration or credential problem, or input needed while non-interactive."""
    REMOTE = 4
    """Customer.io unreachable, 5xx after retries, timeout."""
    PARTIAL = 5
    """A multi-step operation stopped midway and can be resumed."""
    INTERNAL = 70
    """A bug in cio-sec."""
    INTERRUPTED = 130
    """Interrupted (Ctrl-C); state was saved first."""
    OUTPUT_CLOSED = 141
    """Stdout was closed before all output was written (128 + SIGPIPE, as a shell reports)."""


EXIT_CODE_TABLE: tuple[tuple[ExitCode, str], ...] = (
    (ExitCode.OK, "done, nothing to report"),
    (
        ExitCode.CHECK_FAILED,
        'the command ran and the answer is "no": findings, failed checks, invalid signature, '
        "some people not erased or still present, the account is in another region",
    ),
    (ExitCode.USAGE, "usage error, or an unreadable/invalid input file"),
    (
        ExitCode.CONFIG,
        "configuration or credential problem (missing, rejected by Customer.io, store "
        "unavailable, input needed while non-interactive)",
    ),
    (ExitCode.REMOTE, "remote failure (Customer.io unreachable, 5xx after retries, timeout)"),
    (ExitCode.PARTIAL, "a multi-step operation stopped midway and can be resumed"),
    (ExitCode.INTERNAL, "internal error (a bug); --debug shows the traceback"),
    (ExitCode.INTERRUPTED, "interrupted (Ctrl-C); state is saved first"),
    (
        ExitCode.OUTPUT_CLOSED,
        "stdout was closed, or its reader went away, before all output was written; work "
        "already done is kept",
    ),
)


class CioSecError(Exception):
    """Base of every error cio-sec reports to the user as one line plus a hint."""

    exit_code: ClassVar[ExitCode] = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class InputError(CioSecError):
    """An input file (or stdin) that cannot be read or parsed; names the file and line."""

    exit_code = ExitCode.USAGE

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = None if path is None else str(path)
        self.line = line
        location = ""
        if self.path is not None:
            location = self.path if line is None else f"{self.path}:{line}"
            location += ": "
        super().__init__(f"{location}{message}", hint=hint)


#: A write that failed for lack of room: a full disk, a quota, a file-size limit.
NO_ROOM_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
NO_ROOM_HINT = "free some space (or raise the limit) and run the command again"


class OutputWriteError(CioSecError):
    """A file could not be written for lack of room: a full disk, a quota, a size limit.

    Exit 3, like other local state problems: the input was fine, the machine needs room.
    """

    exit_code = ExitCode.CONFIG

    def __init__(self, message: str, *, path: str | Path, hint: str | None = None) -> None:
        self.path = str(path)
        super().__init__(f"{self.path}: {message}", hint=hint)


class ConfigError(CioSecError):
    """Missing or invalid settings or credentials."""

    exit_code = ExitCode.CONFIG


class SecretMissingError(ConfigError):
    """A credential has no value in any of its stores."""


class SecretStoreUnavailableError(ConfigError):
    """A secret store cannot be reached, unlocked or written."""

    def __init__(self, message: str, *, hint: str | None = None, reason: str | None = None):
        super().__init__(message, hint=hint)
        self.reason = reason
        """Why, in a few words that are the same for every entry of the store
        ("the keyring is locked"), when the store knows; None otherwise."""


class InteractionRequiredError(ConfigError):
    """A prompt or confirmation is needed but the session is non-interactive."""


class RemoteError(CioSecError):
    """Customer.io (or another remote) failed to answer usefully."""

    exit_code = ExitCode.REMOTE


class RemoteUnavailableError(RemoteError):
    """Unreachable, timed out, rate limited or 5xx after retries."""


class ApiError(RemoteError):
    """The API answered with an error that retrying will not fix."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.status = status


class RedirectError(RemoteError):
    """An authenticated request was redirected; usually the wrong region."""

    def __init__(self, message: str, *, target: str | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.target = target
        """``host[:port]`` the redirect pointed to, when it named one."""


class RegionMismatchError(CioSecError):
    """The account is in another region than the configured one; nothing was changed."""

    exit_code = ExitCode.CHECK_FAILED

    def __init__(self, message: str, *, region: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.region = region
        """The region the account is really in."""


class CredentialRejectedError(RemoteError):
    """Customer.io answered 401/403: the operator must fix a credential."""

    exit_code = ExitCode.CONFIG


class PartialFailureError(CioSecError):
    """A multi-step operation stopped midway; it can be resumed."""

    exit_code = ExitCode.PARTIAL


def error_type_name(exc: BaseException) -> str:
    """The error's ``type`` in JSON: its class, or the nearest public one above it."""
    return next(cls.__name__ for cls in type(exc).__mro__ if not cls.__name__.startswith("_"))
