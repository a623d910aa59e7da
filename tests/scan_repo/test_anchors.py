"""The anchors: what wakes a detector up, and the words of real code that must not."""

from __future__ import annotations

import base64
import re

from hypothesis import given
from hypothesis import strategies as st

from cio_sec.scan_repo.anchors import find_anchors
from tests.support.git_repos import SITE_ID, TRACK_KEY


def test_words_common_in_http_code_are_no_anchor() -> None:
    # An HTTP library says these on every page: none of them may wake a detector up.
    prose = (
        b"class HTTPBasicAuth(AuthBase):\n    '''Attaches HTTP Basic Authentication.'''\n"
        b"basic_auth = b'Basic ' + b64encode(b'user:pass')  # precious, conscious, social\n"
        b"token = secret_key = api_key = customer\n"
    )
    assert not any(find_anchors(prose.lower()))
    token = base64.b64encode(f"{SITE_ID}:{TRACK_KEY}".encode())
    assert find_anchors(prose.lower() + b"authorization: basic " + token.lower()).basic_token


_KEYWORD_SPEC = re.compile(rb"customer[._-]?io|(?<![a-z0-9])cio(?![a-z0-9])")
_PIECES = ["cio", "customer", "io", ".", "_", "-", "x", "1", " ", "\n", "sa_", "live_", "basic"]


@given(st.lists(st.sampled_from(_PIECES), max_size=12))
def test_context_is_found_wherever_the_keyword_stands_as_a_word(pieces: list[str]) -> None:
    """The anchors, which start with a literal for speed, agree with the plain keyword."""
    lowered = "".join(pieces).encode()
    has_token = b"sa_live_" in lowered or b"sa_sandbox_" in lowered
    anchors = find_anchors(lowered)
    assert anchors.context == bool(_KEYWORD_SPEC.search(lowered))
    assert anchors.service_prefix == has_token
