"""Streaming readers and writers: round trips, line numbers, skipping, formats from names."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.errors import InputError
from cio_sec.sanitize import formats
from cio_sec.sanitize.document import Document
from cio_sec.sanitize.formats import (
    InputFormat,
    format_for,
    read_document,
    write_document,
)


def read(data: bytes, fmt: InputFormat, skip: list[str] | None = None) -> Document:
    on_invalid = None if skip is None else (lambda error: skip.append(error.message))
    return read_document(io.BytesIO(data), fmt, "in", on_invalid)


def round_trip(data: bytes, fmt: InputFormat) -> str:
    document = read(data, fmt)
    out = io.BytesIO()
    write_document(out, document.shape, document.records, document.header)
    return out.getvalue().decode()


def error_of(data: bytes, fmt: InputFormat) -> InputError:
    with pytest.raises(InputError) as raised:
        list(read(data, fmt).records)
    return raised.value


@pytest.mark.parametrize(
    ("name", "first", "fmt"),
    [
        ("a.JSON", b"", InputFormat.JSON),
        ("a.ndjson", b"", InputFormat.NDJSON),
        ("a.jsonl", b"", InputFormat.NDJSON),
        ("a.csv", b"", InputFormat.CSV),
        ("<stdin>", b'  [{"a": 1}', InputFormat.JSON),
        ("<stdin>", b'{"a": 1}\n', InputFormat.NDJSON),
        ("<stdin>", b"{\n", InputFormat.JSON),
        ("<stdin>", b"id,email\n", InputFormat.CSV),
    ],
)
def test_formats_from_names_and_first_lines(name: str, first: bytes, fmt: InputFormat) -> None:
    assert format_for(name, first) is fmt


def test_the_format_is_sniffed_only_when_needed_and_from_a_bounded_prefix() -> None:
    from cio_sec.sanitize.files import _detect

    one_line = json.dumps([{"n": index, "text": "x" * 50} for index in range(20_000)]).encode()
    named = io.BytesIO(one_line)
    assert _detect(named, None, "people.json")[0] is InputFormat.JSON
    assert named.tell() == 0  # the extension decides: nothing is read ahead
    given = io.BytesIO(one_line)
    assert _detect(given, InputFormat.JSON, "<stdin>")[0] is InputFormat.JSON
    assert given.tell() == 0
    piped = io.BytesIO(one_line)
    fmt, stream = _detect(piped, None, "<stdin>")
    assert fmt is InputFormat.JSON
    assert piped.tell() <= formats.SNIFF_LIMIT < len(one_line)
    assert stream.read() == one_line  # what was sniffed is read again
    long_object = json.dumps({"text": "x" * formats.SNIFF_LIMIT}).encode() + b"\n{}\n"
    assert _detect(io.BytesIO(long_object), None, "<stdin>")[0] is InputFormat.NDJSON


#: Strict JSON values: NaN and infinities are not JSON (sanitize refuses them).
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)
records = st.lists(st.dictionaries(st.text(), json_values, max_size=5), max_size=5)


@pytest.mark.slow
@given(records)
def test_json_arrays_and_ndjson_round_trip(items: list[dict[str, Any]]) -> None:
    array = json.dumps(items, indent=2).encode()
    assert json.loads(round_trip(array, InputFormat.JSON)) == items
    lines = "".join(json.dumps(item) + "\n" for item in items).encode()
    output = round_trip(lines, InputFormat.NDJSON)
    assert [json.loads(line) for line in output.split("\n")[:-1]] == items


@given(st.dictionaries(st.text(), json_values, max_size=5))
def test_a_json_object_round_trips(item: dict[str, Any]) -> None:
    assert json.loads(round_trip(json.dumps(item).encode(), InputFormat.JSON)) == item


cells = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))


@given(st.lists(cells, min_size=1, max_size=4, unique=True), st.data())
def test_csv_round_trips(header: list[str], data: st.DataObject) -> None:
    rows = data.draw(st.lists(st.lists(cells, min_size=len(header), max_size=len(header))))
    source = io.StringIO(newline="")
    csv.writer(source, lineterminator="\r\n").writerows([header, *rows])
    output = round_trip(source.getvalue().encode(), InputFormat.CSV)
    parsed = list(csv.reader(io.StringIO(output, newline="")))
    assert parsed == [header, *rows]


def test_large_json_arrays_stream_across_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    import cio_sec.sanitize.json_reader as json_reader

    monkeypatch.setattr(json_reader, "_CHUNK", 7)
    items = [{"n": 12345678901234, "text": "é" * 20, "nested": [1.5, None]} for _ in range(50)]
    data = json.dumps(items).encode()
    assert json.loads(round_trip(data, InputFormat.JSON)) == items
    assert json.loads(round_trip(b"[]", InputFormat.JSON)) == []
    assert json.loads(
        round_trip(b"\xef\xbb\xbf[1e5]".replace(b"1e5", b'{"a":1}'), InputFormat.JSON)
    )


@pytest.mark.parametrize(
    ("data", "line", "message"),
    [
        (b'[\n{"a": 1},\n{"a": }\n]', 3, "invalid JSON"),
        (b'[\n{"a": 1}\n{"b": 2}]', 3, "expected ',' or ']'"),
        (b'[{"a": 1}] x', 1, "unexpected data after the JSON array"),
        (b'{"a": 1}\n\n{"b": 2}', 3, "unexpected data after the JSON object"),
        (b"\n\n42", 3, "expected a JSON object or an array"),
        (b'[{"a": "unterminated\n"}]', 1, "invalid JSON"),
        (b'[{"a": "\xff"}]', 1, "not valid UTF-8"),
        (b'[{"a": 1},\n 7]', 2, "a record must be a JSON object"),
    ],
)
def test_bad_json_names_the_line(data: bytes, line: int, message: str) -> None:
    error = error_of(data, InputFormat.JSON)
    assert error.line == line
    assert message in error.message


def test_bad_ndjson_names_the_line_or_is_skipped() -> None:
    data = b'{"a": 1}\n\n{"a": \n[1]\n\xff\n{"b": 2}\n'
    error = error_of(data, InputFormat.NDJSON)
    assert (error.line, error.message) == (3, "in:3: invalid JSON: Expecting value")
    skipped: list[str] = []
    assert list(read(data, InputFormat.NDJSON, skipped).records) == [{"a": 1}, {"b": 2}]
    assert skipped == [
        "in:3: invalid JSON: Expecting value",
        "in:4: a record must be a JSON object",
        "in:5: invalid JSON: not valid UTF-8",
    ]


def test_lone_surrogates_name_the_line_or_are_skipped() -> None:
    # A surrogate pair is one character; a lone half (escaped, or UTF-8 encoded as bytes
    # json.loads lets through) cannot be written as UTF-8.
    data = b'{"a": "\\ud83d\\ude00"}\n{"b": "\\uD800"}\n{"c": "\xed\xa0\x80"}\n{"d": "\\\\ud800"}\n'
    error = error_of(data, InputFormat.NDJSON)
    assert (error.line, error.exit_code) == (2, 2)
    assert "a lone UTF-16 surrogate" in error.message
    skipped: list[str] = []
    records = list(read(data, InputFormat.NDJSON, skipped).records)
    assert records == [{"a": "\U0001f600"}, {"d": "\\ud800"}]
    assert [message.split(": ")[0] for message in skipped] == ["in:2", "in:3"]
    array = b'[{"a": "\\ud83d\\ude00"},\n {"b": "x\\uDC00y"}]'
    error = error_of(array, InputFormat.JSON)
    assert (error.line, error.exit_code) == (2, 2)
    assert "a lone UTF-16 surrogate" in error.message


def test_ndjson_lines_with_blanks_around_or_data_after_the_object() -> None:
    data = b' {"a": 1} \r\n{"b": 2}\t\n{"c": 3} {"d": 4}\n{"e": 5}'
    error = error_of(data, InputFormat.NDJSON)
    assert (error.line, error.message) == (3, "in:3: invalid JSON: Extra data")
    skipped: list[str] = []
    records = list(read(data, InputFormat.NDJSON, skipped).records)
    assert records == [{"a": 1}, {"b": 2}, {"e": 5}]
    assert skipped == ["in:3: invalid JSON: Extra data"]


def test_non_object_array_elements_can_be_skipped() -> None:
    skipped: list[str] = []
    assert list(read(b'[1, {"a": 1}]', InputFormat.JSON, skipped).records) == [{"a": 1}]
    assert skipped == ["in:1: a record must be a JSON object"]


def test_ragged_csv_rows_name_the_line_or_are_skipped() -> None:
    data = b"id,email\n1,a@b.c\n2\n\n3,c@d.e,extra\n4,x\n"
    error = error_of(data, InputFormat.CSV)
    assert (error.line, "ragged CSV row: 1 fields, the header has 2" in error.message) == (3, True)
    skipped: list[str] = []
    document = read(data, InputFormat.CSV, skipped)
    assert document.header == ["id", "email"]
    assert [row["id"] for row in document.records] == ["1", "4"]
    assert len(skipped) == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "needs a header row"),
        (b'"a\x00b\n', "invalid CSV header"),
        (b"id\n\xff\n", "invalid CSV"),
        (b'id,b\n1,"x"y\n', "invalid CSV"),
    ],
)
def test_bad_csv(data: bytes, message: str) -> None:
    assert message in error_of(data, InputFormat.CSV).message


def _stdlib_lines(items: list[dict[str, Any]]) -> str:
    return "".join(
        json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n" for item in items
    )


#: JSON values, with floats of every magnitude (orjson writes small ones differently).
exact_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(1e-320, 1e-3)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@pytest.mark.slow
@given(st.lists(st.dictionaries(st.text(), exact_values, max_size=5), max_size=5))
def test_records_are_written_as_the_standard_library_writes_them(
    items: list[dict[str, Any]],
) -> None:
    lines = "".join(json.dumps(item) + "\n" for item in items).encode()
    assert round_trip(lines, InputFormat.NDJSON) == _stdlib_lines(items)
    array = round_trip(json.dumps(items).encode(), InputFormat.JSON)
    assert (
        array
        == "["
        + "".join(
            ("\n" if index == 0 else ",\n") + line
            for index, line in enumerate(_stdlib_lines(items).split("\n")[:-1])
        )
        + "\n]\n"
    )


def test_integers_beyond_64_bits_keep_every_digit() -> None:
    # orjson would read them as floats; such lines and records take the standard library.
    items = [{"big": 2**64, "small": -(2**63) - 1, "huge": 10**30, "edge": 2**64 - 1}, {"a": 1}]
    lines = "".join(json.dumps(item) + "\n" for item in items).encode()
    assert round_trip(lines, InputFormat.NDJSON) == _stdlib_lines(items)
    assert json.loads(round_trip(json.dumps(items).encode(), InputFormat.JSON)) == items
    text = b'{"id": "4111111111111111111", "n": 1}\n'  # 19 digits in a string: read alike
    assert round_trip(text, InputFormat.NDJSON) == '{"id":"4111111111111111111","n":1}\n'


def test_small_floats_are_written_as_the_standard_library_writes_them() -> None:
    data = b'{"a": 1e16, "b": 1.5e-07, "c": 0.1, "d": 1e-05, "e": -0.0}\n'
    expected = '{"a":1e+16,"b":1.5e-07,"c":0.1,"d":1e-05,"e":-0.0}\n'
    assert round_trip(data, InputFormat.NDJSON) == expected
    assert round_trip(b"[" + data + b"]", InputFormat.JSON) == f"[\n{expected}]\n"


def test_lines_orjson_refuses_get_the_standard_library_reading_and_messages() -> None:
    bom = b'\xef\xbb\xbf{"a": 1}\n'
    assert list(read(bom + b'{"b": 2}\n', InputFormat.NDJSON).records) == [{"a": 1}, {"b": 2}]
    deep = b'{"b": 2}\n{"d": ' + b"[" * 2000 + b"]" * 2000 + b"}\n"
    assert error_of(deep, InputFormat.NDJSON).message == "in:2: invalid JSON: nested too deeply"
