"""parse_request(): odd but valid captures parse to the exact bytes; garbage is an InputError."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.errors import ExitCode, InputError
from cio_sec.webhook.capture import MAX_BODY_BYTES, parse_request

BODY = b'{"metric":"sent"}\r\n'


def test_crlf_request_with_content_length() -> None:
    raw = (
        b"POST /hooks/cio HTTP/1.1\r\nHost: example.com\r\nX-CIO-Timestamp: 1700000000\r\n"
        b"X-CIO-Signature: abc\r\nContent-Length: 19\r\n\r\n" + BODY
    )
    request = parse_request(raw)
    assert (request.method, request.target) == ("POST", "/hooks/cio")
    assert request.body == BODY
    assert request.header("x-cio-timestamp") == b"1700000000"
    assert request.header("X-CIO-SIGNATURE") == b"abc"
    assert request.header("missing") is None
    assert request.warnings == ()
    assert BODY.decode() not in repr(request)


def test_lf_only_leading_blank_lines_and_mixed_case_names() -> None:
    raw = b"\r\n\nPOST / HTTP/1.0\nx-Cio-Timestamp:1700000000\nX-cio-signature:   abc  \n\nbody"
    request = parse_request(raw)
    assert request.header("X-CIO-Timestamp") == b"1700000000"
    assert request.header("x-cio-signature") == b"abc"
    assert request.body == b"body"  # no Content-Length: everything after the blank line


def test_body_may_contain_blank_lines_and_crlf() -> None:
    body = b"line1\r\n\r\nline3\n\n"
    request = parse_request(b"POST / HTTP/1.1\nContent-Length: %d\n\n" % len(body) + body)
    assert request.body == body


def test_folded_header_and_repeated_header() -> None:
    raw = b"POST / HTTP/1.1\r\nX-Long: part one\r\n\t part two\r\nX-Sig: a\r\nX-Sig: b\r\n\r\n"
    request = parse_request(raw)
    assert request.header("x-long") == b"part one part two"
    assert request.header("x-sig") == b"a, b"
    assert request.body == b""


def test_non_ascii_header_values_are_kept_as_bytes() -> None:
    request = parse_request(b"POST / HTTP/1.1\r\nX-CIO-Signature: \xc3\xa9\xff\r\n\r\n")
    assert request.header("x-cio-signature") == b"\xc3\xa9\xff"


def test_chunked_body_is_decoded() -> None:
    raw = (
        b"POST /h HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n"
    )
    assert parse_request(raw).body == b"hello 0123456789"
    lf_only = b"POST /h HTTP/1.1\nTransfer-Encoding: chunked\n\n3\nabc\n0\n"
    assert parse_request(lf_only).body == b"abc"


def test_extra_bytes_after_content_length_are_ignored_with_a_warning() -> None:
    request = parse_request(b"POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}\n")
    assert request.body == b"{}"
    assert request.warnings == ("ignored 1 bytes after the 2-byte body (Content-Length)",)


@pytest.mark.parametrize(
    ("raw", "message", "line"),
    [
        (b"", "the request is empty", None),
        (b"\r\n\n", "the request is empty", None),
        (b"\x00\xff\xfegarbage", "not an HTTP request line", 1),
        (b"\n\nGET\n\n", "not an HTTP request line", 3),
        (b'{"metric":"sent"}', "not an HTTP request line", 1),
        (b"POST / HTTP/1.1\r\nno colon here\r\n\r\n", "not a header line", 2),
        (b"POST / HTTP/1.1\r\nBad Name: x\r\n\r\n", "not a header line", 2),
        (b"POST / HTTP/1.1\r\nX-A: 1", "not followed by a blank line", 3),
        (b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n{}", "truncated", None),
        (b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n{}", "Content-Length is not", None),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size", None),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "chunk size", None),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nabc", "truncated", None),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
            "longer than its declared size",
            None,
        ),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFF\r\n",
            "larger than",
            None,
        ),
    ],
)
def test_garbage_is_an_input_error_naming_the_line(
    raw: bytes, message: str, line: int | None
) -> None:
    with pytest.raises(InputError) as caught:
        parse_request(raw, source="capture.http")
    assert caught.value.exit_code == ExitCode.USAGE
    assert message in caught.value.message
    assert caught.value.path == "capture.http"
    assert caught.value.line == line


def test_a_body_over_the_limit_is_refused() -> None:
    with pytest.raises(InputError, match="larger than"):
        parse_request(b"POST / HTTP/1.1\r\n\r\n" + b"x" * (MAX_BODY_BYTES + 1))


@given(st.binary(max_size=400))
def test_any_bytes_parse_or_fail_cleanly(data: bytes) -> None:
    try:
        request = parse_request(data)
    except InputError:
        return
    assert request.method.isupper()


@given(body=st.binary(max_size=300), chunk=st.integers(1, 50))
def test_chunking_round_trips(body: bytes, chunk: int) -> None:
    chunks = b"".join(
        b"%x\r\n" % len(body[i : i + chunk]) + body[i : i + chunk] + b"\r\n"
        for i in range(0, len(body), chunk)
    )
    raw = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
    assert parse_request(raw).body == body
