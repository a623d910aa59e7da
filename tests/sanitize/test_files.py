"""``cio_sec.sanitize.run``: the command's core on streams, and when it reads the key."""

from __future__ import annotations

import io
import json

from cio_sec import sanitize
from cio_sec.pseudonym import KeyRing, PseudonymKey
from cio_sec.sanitize import SanitizeRequest

KEY = PseudonymKey.from_text("files-test-pseudonym-key-0123456789")
RECORDS = b'{"id": "u1", "phone": "+44 20 7946 0958", "ssn": "078-05-1120", "plan": "pro"}\n'


class Keys:
    """A key source that counts how often it was asked."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> KeyRing:
        self.calls += 1
        return KeyRing(current=KEY, source="test")


def test_run_reads_the_request_streams_and_writes_keyed_pseudonyms() -> None:
    out = io.BytesIO()
    keys = Keys()
    request = SanitizeRequest(input=None, output=None, stdin=io.BytesIO(RECORDS), stdout=out)
    report = sanitize.run(request, keys)
    record = json.loads(out.getvalue())
    assert record == {"id": "u1", "plan": "pro", "phone_hash": KEY.pseudonym("+442079460958")}
    assert keys.calls == 1
    assert report.ok
    assert report.to_json()["key_id"] == KEY.key_id


def test_check_never_asks_for_the_key_and_writes_nothing() -> None:
    out = io.BytesIO()
    keys = Keys()
    request = SanitizeRequest(
        input=None, output=None, check=True, stdin=io.BytesIO(RECORDS), stdout=out
    )
    report = sanitize.run(request, keys)
    assert keys.calls == 0
    assert out.getvalue() == b""
    assert not report.ok
    assert report.to_json()["key_id"] is None
