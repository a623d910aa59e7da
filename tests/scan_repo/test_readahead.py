"""The read-ahead thread between git and the scan: what it hands over, and how it stops."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cio_sec.scan_repo.readahead import ReadAhead

_WRITE = "import sys; sys.stdout.buffer.write(bytes.fromhex(sys.argv[1]) * int(sys.argv[2]))"


def _writer(data: bytes, times: int = 1) -> subprocess.Popen[bytes]:
    """A real process writing ``data`` ``times`` times into a pipe, as git does."""
    command = [sys.executable, "-c", _WRITE, data.hex(), str(times)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


@settings(max_examples=25, deadline=None)
@given(
    lines=st.lists(st.binary(max_size=300).map(lambda b: b.replace(b"\n", b"")), max_size=20),
    budget=st.integers(min_value=1, max_value=4096),
)
def test_lines_and_blocks_come_out_as_they_went_in(lines: list[bytes], budget: int) -> None:
    # Each record is "SIZE\n" then SIZE bytes then "\n", like git's --batch output.
    stream = b"".join(b"%d\n%s\n" % (len(line), line) for line in lines) + b"tail"
    process = _writer(stream)
    assert process.stdout is not None
    reader = ReadAhead(process.stdout.fileno(), budget=budget)
    got = []
    for _ in lines:
        size = int(reader.readline())
        got.append(reader.read(size))
        reader.discard(1)
    assert got == lines
    assert reader.readline() == b"tail"  # the last line has no newline
    assert (reader.readline(), reader.read(10)) == (b"", b"")  # the end stays the end
    reader.join()
    process.stdout.close()
    assert process.wait() == 0


def test_stopping_early_lets_the_writer_go_even_with_the_budget_spent() -> None:
    process = _writer(b"x" * 1024, times=20_000)  # 20 MB: far more than budget and pipe
    assert process.stdout is not None
    reader = ReadAhead(process.stdout.fileno(), budget=4096)
    assert reader.read(10) == b"x" * 10
    reader.stop()
    reader.join()  # returns: the thread no longer waits for room
    process.stdout.close()
    assert process.wait() != 0  # the writer died of SIGPIPE instead of writing on


def test_a_read_error_is_the_end_of_the_stream(tmp_path: Path) -> None:
    directory = os.open(tmp_path, os.O_RDONLY)  # reading it fails: IsADirectoryError
    try:
        reader = ReadAhead(directory)
        assert reader.readline() == b""
        reader.join()
    finally:
        os.close(directory)
