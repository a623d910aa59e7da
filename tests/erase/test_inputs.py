"""Reading people to erase: CSV layouts, validation with line numbers, digests."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cio_sec.erase.inputs import (
    IdType,
    InputSpec,
    check_valid,
    iter_rows,
    read_input,
    remove_stale_spools,
    spool_stdin,
)
from cio_sec.errors import InputError


def _file(tmp_path: Path, data: bytes, name: str = "ids.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _values(spec: InputSpec) -> list[tuple[int, str, str]]:
    return [(row.line, row.value, row.id_type.value) for row in iter_rows(spec)]


def test_bom_crlf_quotes_and_blank_lines(tmp_path: Path) -> None:
    data = b'\xef\xbb\xbfName,Email\r\n"Ann, A",ann@example.com\r\n\r\nBob,"bob@example.com"\r\n'
    spec = InputSpec(_file(tmp_path, data))
    summary = read_input(spec)
    assert summary.column == "email"
    assert summary.id_type is IdType.EMAIL
    assert summary.rows == 2
    assert summary.sha256 == hashlib.sha256(data).hexdigest()
    assert _values(spec) == [(2, "ann@example.com", "email"), (4, "bob@example.com", "email")]


def test_column_preference_and_override(tmp_path: Path) -> None:
    path = _file(tmp_path, b"email,customer_id,cio_id\nann@example.com,42,cio_a1\n")
    assert _values(InputSpec(path)) == [(2, "42", "id")]
    assert _values(InputSpec(path, column="CIO_ID")) == [(2, "a1", "cio_id")]
    assert _values(InputSpec(path, column="email", id_type=IdType.EMAIL)) == [
        (2, "ann@example.com", "email")
    ]


def test_unknown_column_is_an_input_error(tmp_path: Path) -> None:
    path = _file(tmp_path, b"id\n1\n")
    with pytest.raises(InputError, match="no column 'user'") as caught:
        read_input(InputSpec(path, column="user"))
    assert caught.value.line == 1


def test_column_on_an_empty_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no column"):
        read_input(InputSpec(_file(tmp_path, b""), column="id"))


def test_headerless_file_one_per_line(tmp_path: Path) -> None:
    path = _file(tmp_path, "a b\n\n ünï \n😀\n".encode())
    assert _values(InputSpec(path)) == [(1, "a b", "id"), (3, " ünï ", "id"), (4, "😀", "id")]
    emails = _file(tmp_path, b"Ann@Example.com\n", "emails.txt")
    assert _values(InputSpec(emails, id_type=IdType.EMAIL)) == [(1, "Ann@Example.com", "email")]


def test_invalid_rows_are_reported_with_line_numbers(tmp_path: Path) -> None:
    long = "x" * 151
    data = f"id,email\n,a@b.co\n{long},a@b.co\nok\n".encode() + b"\xff\xfe,x@y.z\nfine,z\n"
    spec = InputSpec(_file(tmp_path, data))
    summary = read_input(spec)
    reasons = {row.line: row.reason for row in summary.invalid_rows}
    assert reasons == {2: "empty value", 3: "longer than 150 bytes", 5: "not valid UTF-8"}
    assert summary.rows == 2
    with pytest.raises(InputError) as caught:
        check_valid(spec, summary, skip_invalid=False)
    assert caught.value.line == 2
    assert "line 3: longer than 150 bytes" in caught.value.message
    assert caught.value.message.endswith(
        "3 invalid rows: line 2: empty value; line 3: longer than 150 bytes; "
        "line 5: not valid UTF-8"
    )
    check_valid(spec, summary, skip_invalid=True)
    assert summary.invalid_rows[0].to_json() == {"line": 2, "reason": "empty value"}


def test_email_cio_id_and_v1_ambiguity_checks(tmp_path: Path) -> None:
    emails = _file(tmp_path, b"email\nnot-an-email\nann@example.com\n")
    assert [r.reason for r in read_input(InputSpec(emails)).invalid_rows] == [
        "not an email address"
    ]
    cio = _file(tmp_path, b"cio_id\ncio_ab12\nab-12\n", "cio.csv")
    assert [r.line for r in read_input(InputSpec(cio)).invalid_rows] == [3]
    ids = _file(tmp_path, b"id\na@b.co\ncio_x\nplain\n", "ids2.csv")
    v1 = read_input(InputSpec(ids))
    assert [r.line for r in v1.invalid_rows] == [2, 3]
    assert "use --api batch" in v1.invalid_rows[0].reason
    assert read_input(InputSpec(ids, v1_paths=False)).invalid == 0


def test_exactly_150_bytes_is_valid() -> None:
    value = "é" * 75
    assert len(value.encode()) == 150
    summary = read_input(InputSpec(ids=(value,)))
    assert summary.invalid == 0


def test_short_rows_and_extra_values(tmp_path: Path) -> None:
    path = _file(tmp_path, b"name,id\nann\nbob,7\n")
    summary = read_input(InputSpec(path))
    assert [(r.line, r.reason) for r in summary.invalid_rows] == [(2, "no id column on this line")]
    headerless = _file(tmp_path, b"1,2\n3\n", "h.txt")
    assert read_input(InputSpec(headerless)).invalid_rows[0].line == 1


def test_broken_csv_is_an_input_error(tmp_path: Path) -> None:
    path = _file(tmp_path, b'id\n"a"b\n')
    with pytest.raises(InputError, match="not valid CSV") as caught:
        read_input(InputSpec(path))
    assert caught.value.line == 2


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the file"):
        read_input(InputSpec(tmp_path / "missing.csv"))


def test_id_values_digest_sorted() -> None:
    one = read_input(InputSpec(ids=("b", "a")))
    two = read_input(InputSpec(ids=("a", "b")))
    assert one.sha256 == two.sha256 == hashlib.sha256(b"a\nb").hexdigest()
    assert one.column is None


def test_nothing_valid_is_refused() -> None:
    spec = InputSpec(ids=("",))
    summary = read_input(spec)
    with pytest.raises(InputError, match="no identifiers to erase"):
        check_valid(spec, summary, skip_invalid=True)
    with pytest.raises(InputError, match=r"^--id:1: empty value$"):
        check_valid(spec, summary, skip_invalid=False)


def test_many_invalid_rows_are_counted_but_listed_up_to_a_limit(tmp_path: Path) -> None:
    path = _file(tmp_path, b"email\n" + b"bad\n" * 1200 + b"a@b.co\n")
    summary = read_input(InputSpec(path))
    assert summary.invalid == 1200
    assert len(summary.invalid_rows) == 1000
    with pytest.raises(
        InputError, match=r"1200 invalid rows: line 2: not an email address;.* \.\.\.$"
    ):
        check_valid(InputSpec(path), summary, skip_invalid=False)


def test_stdin_is_spooled_to_a_private_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b"id\n1\n"))
    monkeypatch.setattr(sys, "stdin", stdin)
    spooled = spool_stdin(tmp_path / "jobs")
    assert spooled.name.startswith(f"stdin-{os.getpid()}-")
    assert spooled.read_bytes() == b"id\n1\n"
    assert spooled.stat().st_mode & 0o077 == 0


def test_only_copies_of_stdin_left_by_gone_processes_are_removed(tmp_path: Path) -> None:
    finished = subprocess.Popen([sys.executable, "-c", ""])
    finished.wait()
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    gone = jobs / f"stdin-{finished.pid}-a1.csv"
    earlier_self = jobs / f"stdin-{os.getpid()}-b2.csv"  # an earlier process with this pid
    running = jobs / f"stdin-{os.getppid()}-c3.csv"
    other = jobs / "stdin-notes.csv"
    for path in (gone, earlier_self, running, other):
        path.write_text("id\nsecret-person\n")
    remove_stale_spools(jobs)
    assert sorted(jobs.iterdir()) == sorted([running, other])
    remove_stale_spools(tmp_path / "missing")


def test_unreadable_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: object) -> int:
            raise OSError(5, "Input/output error")

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(Broken())))
    with pytest.raises(InputError, match="cannot read stdin"):
        spool_stdin(tmp_path)


identifiers = st.text(
    alphabet=st.characters(exclude_categories=["Cs", "Cc"]),
    min_size=1,
    max_size=40,
).filter(lambda v: v.strip() and "@" not in v and not v.startswith("cio_"))


@settings(max_examples=60, deadline=None)
@given(st.lists(identifiers, min_size=1, max_size=20))
def test_csv_round_trip(tmp_path_factory: pytest.TempPathFactory, values: list[str]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id"])
    writer.writerows([value] for value in values)
    path = tmp_path_factory.mktemp("rt") / "ids.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    spec = InputSpec(path)
    summary = read_input(spec)
    expected = [v for v in values if len(v.encode()) <= 150]
    assert [row.value for row in iter_rows(spec)] == expected
    assert summary.rows == len(expected)
