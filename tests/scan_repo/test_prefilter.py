"""The optional Hyperscan gate says yes exactly where the `re` anchors do."""

from __future__ import annotations

import base64
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.scan_repo import prefilter
from cio_sec.scan_repo.anchors import find_anchors
from tests.support.git_repos import SITE_ID, TRACK_KEY

TOKEN = base64.b64encode(f"{SITE_ID}:{TRACK_KEY}".encode()).decode()
_PIECES = [
    *["cio", "CIO", "Cio", "customer", "CUSTOMER", "io", "IO", "basic", "Basic", "BASIC"],
    *["sa_", "SA_", "live_", "sandbox_", ".", "_", "-", "x", "Z", "1", "=", "+", "/"],
    *[" ", "\t", "\n", "\r", "\x0b", "\x0c", "í", "\x00", TOKEN, TOKEN[:40], TOKEN.lower()],
]


@given(st.lists(st.sampled_from(_PIECES), max_size=16))
def test_hyperscan_and_re_agree_on_every_blob(pieces: list[str]) -> None:
    gate = prefilter.fast_gate()
    assert gate is not None  # the development lock installs the extra
    data = "".join(pieces).encode()
    assert gate(data) == any(find_anchors(data.lower()))


def test_without_hyperscan_there_is_no_fast_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "hyperscan", None)  # import now raises ImportError
    assert prefilter.hyperscan_gate() is None
