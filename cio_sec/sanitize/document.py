"""An open input (its shape and a lazy iterator over its records) and how bad records go.

The readers in :mod:`cio_sec.sanitize.formats` and :mod:`cio_sec.sanitize.json_reader`
return a :class:`Document`; a malformed record is either an error or, with an
:data:`OnInvalid` callback (``--skip-invalid``), counted and skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from cio_sec.errors import InputError


@dataclass
class Document:
    """An open input: its shape and a lazy iterator over its records."""

    shape: str
    """``object`` (one JSON object), ``array``, ``lines`` (NDJSON) or ``table`` (CSV)."""
    records: Iterator[dict[str, Any]]
    header: list[str] = field(default_factory=list)
    """CSV column names."""


OnInvalid = Callable[[InputError], None]


def reject(error: InputError, on_invalid: OnInvalid | None) -> None:
    """Raise ``error``, or hand it to ``on_invalid`` to skip the record."""
    if on_invalid is None:
        raise error
    on_invalid(error)
