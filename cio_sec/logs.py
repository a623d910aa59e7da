"""Logging to stderr through the redactor: the only log handler cio-sec installs.

Records are redacted, and their control characters shown as escapes (`printable`): a
log line may quote a file name or a server's answer, and stderr is often a terminal.
"""

from __future__ import annotations

import logging
import sys

from cio_sec.redact import REDACTOR, Redactor
from cio_sec.terminal import printable

LOGGER_NAME = "cio_sec"
_FORMATTER = logging.Formatter()


class RedactingFilter(logging.Filter):
    """A logging filter that masks registered secrets in the message and its arguments."""

    def __init__(self, redactor: Redactor = REDACTOR) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the record's message once, redact it, and drop the raw arguments."""
        record.msg = printable(self._redactor.redact(record.getMessage()))
        record.args = None
        # NOTE: formatters fill exc_text only after filters ran; format it here so the
        # traceback text exists, and is redacted, before any handler sees it.
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = printable(self._redactor.redact(record.exc_text))
        if record.stack_info:
            record.stack_info = self._redactor.redact(record.stack_info)
        return True


def configure_logging(verbose: int, *, debug: bool) -> None:
    """Send cio-sec's log records to stderr, redacted; -v for INFO, -vv or --debug for DEBUG.

    Warnings of other libraries (httpx, keyring ...) go through the same redacting
    handler on the root logger, instead of Python's unfiltered last-resort handler.
    Replaces handlers installed by an earlier call, so repeated in-process invocations
    (tests, library use) do not stack them.
    """
    logger = logging.getLogger(LOGGER_NAME)
    _install(
        logger,
        logging.DEBUG
        if debug
        else {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG),
    )
    logger.propagate = False
    _install(logging.getLogger(), logging.WARNING, handler_level=logging.WARNING)


def _install(logger: logging.Logger, level: int, *, handler_level: int = logging.NOTSET) -> None:
    for handler in list(logger.handlers):
        if isinstance(handler, _StderrHandler):
            logger.removeHandler(handler)
    handler = _StderrHandler()
    handler.setLevel(handler_level)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(_LowercaseLevelFormatter("%(levelname)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)


class _LowercaseLevelFormatter(logging.Formatter):
    """``warning: ...`` like every other message cio-sec writes to stderr."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging API
        return super().formatMessage(record).replace(record.levelname, record.levelname.lower(), 1)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at emit time (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)
