"""Compact JSON text from one reusable encoder (the hot path of every record written).

``json.dumps`` builds a new encoder for every call; for a stream of small records that is
a large share of the cost. The output is exactly what ``json.dumps`` with the same options
writes; tests compare the two.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable
from typing import Any

import orjson


def compact_encoder(*, ensure_ascii: bool, sort_keys: bool) -> Callable[[Any], str]:
    """``json.dumps(value, ensure_ascii=..., sort_keys=..., separators=(",", ":"))``.

    Values come from JSON documents or attribute mappings and are never circular, so no
    circular-reference bookkeeping is kept (a circular value fails with RecursionError).
    """
    encoder = json.JSONEncoder(
        ensure_ascii=ensure_ascii, sort_keys=sort_keys, separators=(",", ":")
    )
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has the C accelerator
        return encoder.encode
    strings = (
        json.encoder.encode_basestring_ascii if ensure_ascii else json.encoder.encode_basestring
    )
    chunks = make(None, encoder.default, strings, None, ":", ",", sort_keys, False, True)
    join = "".join

    def encode(value: Any) -> str:
        return join(chunks(value, 0))

    return encode


_STDLIB_CANONICAL = compact_encoder(ensure_ascii=True, sort_keys=True)


def canonical_json(value: Any) -> str:
    """``json.dumps(value, sort_keys=True, separators=(",", ":"))``, usually by orjson.

    Pseudonyms of objects hash this text, so it must never change: orjson's output is
    used only where it is ASCII and holds nothing orjson writes differently; everything
    else (non-ASCII text, keys that are not strings, integers beyond 64 bits) is written
    by the standard library.
    """
    try:
        data = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return _STDLIB_CANONICAL(value)
    # Where orjson may differ: a float below 1e-4 ("0.00001", "1.5e-7"), and null, which may
    # be a NaN or infinity (the standard library writes NaN and Infinity). The same text in
    # a string only costs the slower path.
    if not data.isascii() or b"e-" in data or b"0.0000" in data or b"null" in data:
        return _STDLIB_CANONICAL(value)
    return data.decode("ascii")
