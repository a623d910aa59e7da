"""diagnose(): each near-miss is recognised, in plain words, and never accepted."""

from __future__ import annotations

import hmac
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cio_sec.webhook import Reason, Scheme, Secret, diagnose, sign, verify
from cio_sec.webhook.diagnose import clock_causes

NOW = 1_700_000_000
KEY = "whsec-test-key-0001"
#: GitHub's published vector (see test_signing.py): an HMAC-SHA256 of the body alone.
GITHUB_KEY = "It's a Secret to Everybody"
GITHUB_VECTOR = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def _signature(body: bytes, key: str = KEY, stamp: int = NOW) -> str:
    return sign(body, key, stamp)["X-CIO-Signature"]


def _causes(body: bytes, signature: str, keys: list[Secret | str] | None = None, **kw: object):
    findings = diagnose(body, str(NOW), signature, keys or [KEY], **kw)  # type: ignore[arg-type]
    return {finding.check: finding for finding in findings if finding.matched}


def test_the_github_vector_is_recognised_as_the_body_only_recipe() -> None:
    verdict = verify(b"Hello, World!", str(NOW), GITHUB_VECTOR, [GITHUB_KEY], now=NOW)
    assert verdict.reason is Reason.MISMATCH
    causes = _causes(b"Hello, World!", GITHUB_VECTOR, [GITHUB_KEY])
    assert list(causes) == ["body-only"]
    assert "body ALONE, without the `v0:<timestamp>:` prefix" in causes["body-only"].explanation
    assert causes["body-only"].secret == "secret 1"


def test_trailing_newline_added_after_signing() -> None:
    signature = _signature(b"not json")
    assert list(_causes(b"not json\n", signature)) == ["trailing-newline-removed"]
    assert list(_causes(b"not json\r\n", signature)) == ["trailing-newline-removed"]
    # A JSON body re-serialised compactly loses the newline too: both are reported,
    # the simplest first.
    first, *_ = _causes(b'{"a":1}\n', _signature(b'{"a":1}'))
    assert first == "trailing-newline-removed"


def test_trailing_newline_lost_after_signing() -> None:
    signature = _signature(b'{"a":1}\r\n')
    causes = _causes(b'{"a":1}', signature)
    assert list(causes) == ["trailing-newline-added"]
    assert "final newline was lost" in causes["trailing-newline-added"].explanation


def test_json_re_serialised_by_the_receiver() -> None:
    original = b'{"metric":"opened","data":{"x":[1,2]}}'
    signature = _signature(original)
    reserialised = json.dumps(json.loads(original)).encode()  # Python's ", " and ": "
    assert list(_causes(reserialised, signature)) == ["json-compact"]
    pretty = json.dumps(json.loads(original), indent=2).encode()
    assert "json-compact" in _causes(pretty, signature)


def test_json_pretty_printed_by_the_sender() -> None:
    value = {"metric": "opened", "n": 1}
    signature = _signature(json.dumps(value, indent=2).encode())
    causes = _causes(json.dumps(value, separators=(",", ":")).encode(), signature)
    assert list(causes) == ["json-pretty"]
    default = _signature(json.dumps(value).encode())
    assert "json-pretty" in _causes(json.dumps(value, indent=4).encode(), default)


def test_unicode_escapes_applied_after_signing() -> None:
    original = '{"name":"Zoë 😀","q":"\\"","c":"\\u001b"}'.encode()
    signature = _signature(original)
    escaped = b'{"name":"Zo\\u00eb \\ud83d\\ude00","q":"\\"","c":"\\u001b"}'
    causes = _causes(escaped, signature)
    assert "unicode-escapes-undone" in causes
    assert "ensure_ascii=True?" in causes["unicode-escapes-undone"].explanation


def test_unicode_escapes_undone_after_signing() -> None:
    signature = _signature(b'{"name":"Zo\\u00EB \\uD83D\\uDE00"}')
    causes = _causes('{"name":"Zoë 😀"}'.encode(), signature)
    assert list(causes) == ["unicode-escapes-applied"]


def test_escapes_of_characters_json_must_keep_are_not_undone() -> None:
    body = b'{"a":"\\u0022\\u005c\\u0001\\ud800"}'
    findings = diagnose(body, str(NOW), "00" * 32, [KEY])
    assert not any(finding.matched for finding in findings)
    assert "unicode-escapes-undone" not in {f.check for f in findings}  # nothing to undo


def test_body_that_is_not_utf8_or_json_skips_those_checks() -> None:
    body = b"\xff\xfe not json"
    checks = {f.check for f in diagnose(body, str(NOW), "00" * 32, [KEY])}
    assert not checks & {"json-compact", "json-pretty", "unicode-escapes-applied"}
    deep = b"[" * 100_000
    assert "json-compact" not in {f.check for f in diagnose(deep, str(NOW), "00" * 32, [KEY])}


def test_milliseconds_in_the_signature_seconds_in_the_header() -> None:
    signature = _signature(b"{}", stamp=NOW * 1000 + 417)
    causes = _causes(b"{}", signature)
    assert list(causes) == ["timestamp-milliseconds"]
    assert "MILLISECONDS" in causes["timestamp-milliseconds"].explanation


def test_large_bodies_try_only_the_round_millisecond() -> None:
    body = b"x" * (64 * 1024 + 1)
    assert "timestamp-milliseconds" in _causes(body, _signature(body, stamp=NOW * 1000))
    assert not _causes(body, _signature(body, stamp=NOW * 1000 + 1))


def test_milliseconds_in_the_header_seconds_in_the_signature() -> None:
    signature = _signature(b"{}", stamp=NOW)
    findings = diagnose(b"{}", str(NOW * 1000 + 5), signature, [KEY])
    matched = [f for f in findings if f.matched]
    assert [f.check for f in matched] == ["timestamp-milliseconds"]
    assert "SECONDS" in matched[0].explanation


def test_a_millisecond_header_signed_as_such_is_explained_as_a_clock_problem() -> None:
    stamp = str(NOW * 1000)
    verdict = verify(b"{}", stamp, _signature(b"{}", stamp=NOW * 1000), [KEY], now=NOW)
    assert verdict.reason is Reason.FUTURE
    (finding,) = clock_causes(verdict, stamp)
    assert finding.check == "timestamp-milliseconds"
    assert "13 digits" in finding.explanation
    stale = verify(b"{}", str(NOW), _signature(b"{}"), [KEY], now=NOW + 999)
    assert clock_causes(stale, str(NOW)) == ()
    assert clock_causes(verdict, None) == ()


def test_previous_key_no_longer_accepted() -> None:
    old = Secret("env:K (previous)", "old-key-value", previous=True)
    signature = _signature(b"{}", key="old-key-value")
    causes = _causes(b"{}", signature, [Secret("env:K", KEY)], inactive=[old])
    assert list(causes) == ["previous-secret"]
    assert "env:K (previous), which is no longer accepted" in causes["previous-secret"].explanation


@pytest.mark.parametrize(
    ("stored", "signed_with"),
    [(KEY + "\n", KEY), (f"  {KEY} ", KEY), (KEY, KEY + "\n")],
)
def test_key_with_surrounding_whitespace(stored: str, signed_with: str) -> None:
    causes = _causes(b"{}", _signature(b"{}", key=signed_with), [Secret("env:K", stored)])
    assert list(causes) == ["secret-whitespace"]
    assert causes["secret-whitespace"].secret == "env:K"
    assert stored not in causes["secret-whitespace"].explanation


def test_pipelines_signature_checked_as_reporting() -> None:
    signature = sign(b"{}", KEY, scheme="pipelines")["X-Signature"]
    causes = _causes(b"{}", signature)
    assert list(causes) == ["scheme-pipelines"]
    assert "--scheme pipelines" in causes["scheme-pipelines"].explanation


def test_reporting_signature_checked_as_pipelines() -> None:
    signature = _signature(b"{}")
    findings = diagnose(b"{}", str(NOW), signature, [KEY], scheme=Scheme.PIPELINES)
    assert [f.check for f in findings if f.matched] == ["scheme-reporting"]
    without_stamp = diagnose(b"{}\n", None, signature, [KEY], scheme=Scheme.PIPELINES)
    assert "scheme-reporting" not in {f.check for f in without_stamp}
    assert "trailing-newline-removed" in {f.check for f in without_stamp}


def test_without_a_timestamp_only_recipe_checks_run() -> None:
    findings = diagnose(b"Hello, World!", None, GITHUB_VECTOR, [GITHUB_KEY])
    assert [f.check for f in findings] == ["body-only", "scheme-pipelines"]
    assert findings[0].matched


def test_without_a_timestamp_no_pair_of_changes_is_tried_on_the_body() -> None:
    findings = diagnose(b"Hello, World!", None, "ab" * 32, [GITHUB_KEY])
    assert [(f.check, f.matched) for f in findings] == [
        ("body-only", False),
        ("scheme-pipelines", False),
        ("two-causes", False),
    ]
    assert findings[-1].explanation == "every pair of the changes above"


def test_unrelated_signature_matches_nothing_and_says_what_was_tried() -> None:
    findings = diagnose(b'{"a":1}\n', str(NOW), "ab" * 32, [KEY])
    assert findings
    assert not any(finding.matched for finding in findings)
    assert findings[0].to_json() == {
        "check": "trailing-newline-removed",
        "matched": False,
        "explanation": "the body without its trailing newline",
        "secret": None,
    }


@pytest.mark.parametrize("signature", ["zz" * 32, "é" * 64, b"\xff" * 64, "a" * 1000, "abc"])
def test_a_signature_that_is_not_hex_cannot_be_diagnosed(signature: str | bytes) -> None:
    assert diagnose(b"{}", str(NOW), signature, [KEY]) == ()


def test_diagnosis_never_makes_a_delivery_valid() -> None:
    body = b'{"a":1}\n'
    signature = _signature(b'{"a":1}')
    assert verify(body, str(NOW), signature, [KEY], now=NOW).reason is Reason.MISMATCH
    assert _causes(body, signature)
    expected = bytes.fromhex(signature)
    assert not hmac.compare_digest(expected, bytes.fromhex(_signature(body)))


# ------------------------------------------------------------------ two causes at once


def test_signed_with_a_newline_then_pretty_printed_names_both_causes() -> None:
    signed = b'{"metric":"opened","data":{"x":[1,2]}}\n'
    received = json.dumps(json.loads(signed), indent=2).encode()
    findings = diagnose(received, str(NOW), _signature(signed), [KEY])
    matched = [finding for finding in findings if finding.matched]
    assert [finding.check for finding in matched] == ["json-compact+trailing-newline-added"]
    explanation = matched[0].explanation
    assert "two changes together" in explanation
    assert "the JSON was re-serialised (it was signed compact)" in explanation
    assert "the final newline was lost after signing" in explanation
    assert matched[0].secret == "secret 1"
    assert verify(received, str(NOW), _signature(signed), [KEY], now=NOW).reason is (
        Reason.MISMATCH
    )


def test_a_body_change_and_the_wrong_recipe_together() -> None:
    body_only = hmac.new(KEY.encode(), b"plain text", "sha256").hexdigest()
    causes = _causes(b"plain text\n", body_only)
    assert list(causes) == ["trailing-newline-removed+body-only"]
    assert "the signer left out the v0:<timestamp>: prefix" in (
        causes["trailing-newline-removed+body-only"].explanation
    )


def test_a_body_change_and_a_key_with_whitespace_together() -> None:
    signature = _signature(b"caf\\u00e9 au lait", key=KEY + "\n")  # not JSON
    causes = _causes("café au lait".encode(), signature)
    assert list(causes) == ["unicode-escapes-applied+secret-whitespace"]
    assert "the signer's copy of secret 1 differs" in (
        causes["unicode-escapes-applied+secret-whitespace"].explanation
    )


def test_a_body_change_and_milliseconds_together() -> None:
    signed = b'{"a":1}'
    signature = sign(signed, KEY, NOW * 1000 + 7)["X-CIO-Signature"]
    causes = _causes(b'{"a": 1}', signature)
    assert list(causes) == ["json-compact+timestamp-milliseconds"]


def test_a_single_cause_is_not_reported_as_a_pair() -> None:
    findings = diagnose(b'{"a":1}\n', str(NOW), _signature(b'{"a":1}'), [KEY])
    assert not any("+" in finding.check for finding in findings)
    assert "two-causes" not in {finding.check for finding in findings}


def test_no_pair_matching_says_what_was_tried_once() -> None:
    findings = diagnose(b'{"a":1}\n', str(NOW), "ab" * 32, [KEY])
    assert findings[-1].to_json() == {
        "check": "two-causes",
        "matched": False,
        "explanation": "every pair of the changes above",
        "secret": None,
    }
    assert not any("+" in finding.check for finding in findings)


def test_bodies_over_a_mebibyte_get_no_pair_search() -> None:
    body = b'{"a":"' + b"x" * (1024 * 1024) + b'"}'
    findings = diagnose(body, str(NOW), "ab" * 32, [KEY])
    assert findings[-1].explanation == "no pairs of changes: the body is over 1 MiB"


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(
    value=st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.one_of(st.integers(), st.text(max_size=12), st.lists(st.booleans(), max_size=3)),
        min_size=1,
        max_size=5,
    ),
    indent=st.sampled_from([2, 4]),
)
def test_any_json_signed_with_a_newline_then_pretty_printed_is_diagnosed(
    value: dict[str, object], indent: int
) -> None:
    signed = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
    received = json.dumps(value, indent=indent, ensure_ascii=False).encode()
    signature = _signature(signed)
    assert verify(received, str(NOW), signature, [KEY], now=NOW).reason is Reason.MISMATCH
    causes = _causes(received, signature)
    assert causes
    assert all("trailing-newline-added" in check for check in causes)
