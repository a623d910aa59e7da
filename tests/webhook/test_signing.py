"""verify() and sign(): known answers, reasons, boundaries and properties.

Known-answer vectors. Each expected value was computed from the published formula, once
with the standard library and once, independently, with OpenSSL; both agree:

    python -c 'import hmac; print(hmac.new(KEY, MESSAGE, "sha256").hexdigest())'
    printf %s "$MESSAGE" | openssl dgst -sha256 -hmac "$KEY"

- reporting: key ``whsec-test-key-0001``, message ``v0:1700000000:{"metric":"sent"}``
  (Customer.io: HMAC-SHA256 over ``v0:<X-CIO-Timestamp>:<raw body>``, lowercase hex).
- reporting, non-ASCII key and body (UTF-8 bytes of both): key ``clé-secrète``, message
  ``v0:1712345678:{"name":"Zoë 😀"}``.
- pipelines: key ``pipelines-shared-secret``, message ``{"type":"track","event":"Signed Up"}``
  with ``openssl dgst -sha1`` (Data Pipelines: HMAC-SHA1 over the raw body, hex).
- GitHub's published HMAC-SHA256 vector (docs "Validating webhook deliveries"): key
  ``It's a Secret to Everybody``, payload ``Hello, World!`` — a body-only HMAC; see
  test_diagnose.py for how cio-sec recognises that recipe.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.errors import ExitCode
from cio_sec.webhook import Reason, Scheme, Secret, sign, verify
from cio_sec.webhook.recipe import signed_string

NOW = 1_700_000_000
KEY = "whsec-test-key-0001"
BODY = b'{"metric":"sent"}'
REPORTING_VECTOR = "db59660a1e6b0392a1819aa78eb5ecbd2b70e0c284cd195dd757cdc54f4b1e5a"
UNICODE_VECTOR = "7d69fe778db0717d3a83abd29255c7a7f63ebdb7fc735a7b2031e344769f395f"
PIPELINES_VECTOR = "4a48863c5ed3d6d6c4a22f1e0e47c9a7c2e40259"
PIPELINES_BODY = b'{"type":"track","event":"Signed Up"}'
GITHUB_VECTOR = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
TS, SIG = "X-CIO-Timestamp", "X-CIO-Signature"


def test_reporting_known_answer() -> None:
    assert sign(BODY, KEY, NOW) == {
        "X-CIO-Timestamp": "1700000000",
        "X-CIO-Signature": REPORTING_VECTOR,
    }
    verdict = verify(BODY, "1700000000", REPORTING_VECTOR, [KEY], now=NOW)
    assert verdict.ok
    assert verdict.reason is Reason.VALID
    assert verdict.exit_code == ExitCode.OK
    assert verdict.matched is not None
    assert verdict.matched.label == "secret 1"
    assert verdict.skew == 0
    assert verdict.skew_direction == "none"


def test_non_ascii_key_and_body_are_signed_as_utf8_bytes() -> None:
    body = '{"name":"Zoë 😀"}'.encode()
    assert sign(body, "clé-secrète", 1712345678)["X-CIO-Signature"] == UNICODE_VECTOR
    assert verify(body, "1712345678", UNICODE_VECTOR, ["clé-secrète"], now=1712345678).ok


def test_pipelines_known_answer() -> None:
    headers = sign(PIPELINES_BODY, "pipelines-shared-secret", scheme="pipelines")
    assert headers == {"X-Signature": PIPELINES_VECTOR}
    verdict = verify(
        PIPELINES_BODY, None, PIPELINES_VECTOR, ["pipelines-shared-secret"], scheme="pipelines"
    )
    assert verdict.ok
    assert verdict.skew is None
    assert verdict.skew_direction is None
    assert verdict.to_json()["signed_string"] == {
        "algorithm": "HMAC-SHA1",
        "prefix": "",
        "prefix_length": 0,
        "body_length": len(PIPELINES_BODY),
        "total_length": len(PIPELINES_BODY),
        "body_sha256": verdict.shape.body_sha256 if verdict.shape else None,
        "body_ends_with_newline": False,
    }


def test_github_vector_is_not_a_customerio_signature() -> None:
    # The body-only recipe: correct for GitHub, wrong for Customer.io.
    verdict = verify(b"Hello, World!", "1700000000", GITHUB_VECTOR, ["It's a Secret to Everybody"])
    assert verdict.reason is Reason.MISMATCH


def test_sign_defaults_to_now() -> None:
    headers = sign(BODY, KEY, now=lambda: NOW + 0.9)
    assert headers["X-CIO-Timestamp"] == str(NOW)
    assert verify(BODY, str(NOW), headers["X-CIO-Signature"], [KEY], now=lambda: NOW).ok


def test_uppercase_hex_and_surrounding_spaces_are_accepted() -> None:
    assert verify(BODY, f" {NOW} ", f" {REPORTING_VECTOR.upper()}\t", [KEY], now=NOW).ok
    assert verify(BODY, str(NOW).encode(), REPORTING_VECTOR.encode(), [KEY], now=NOW).ok


@pytest.mark.parametrize(
    ("skew", "reason"),
    [
        (300, Reason.VALID),
        (-300, Reason.VALID),
        (301, Reason.STALE),
        (-301, Reason.FUTURE),
    ],
)
def test_tolerance_is_inclusive_at_the_boundary(skew: int, reason: Reason) -> None:
    verdict = verify(BODY, str(NOW), REPORTING_VECTOR, [KEY], now=NOW + skew)
    assert verdict.reason is reason
    assert verdict.skew == skew
    assert verdict.skew_direction == ("past" if skew > 0 else "future")


def test_signature_is_checked_before_the_timestamp() -> None:
    stale = verify(BODY, str(NOW), REPORTING_VECTOR, [KEY], now=NOW + 3600)
    assert stale.reason is Reason.STALE
    assert "authentic" in stale.detail
    assert "3600 s in the past" in stale.detail
    forged = verify(BODY, str(NOW), "0" * 64, [KEY], now=NOW + 3600)
    assert forged.reason is Reason.MISMATCH
    assert forged.skew == 3600


def test_allow_stale_and_zero_tolerance() -> None:
    verdict = verify(BODY, str(NOW), REPORTING_VECTOR, [KEY], now=NOW + 10**6, allow_stale=True)
    assert verdict.ok
    assert verdict.tolerance is None
    assert verify(BODY, str(NOW), REPORTING_VECTOR, [KEY], now=NOW, tolerance=0).ok
    late = verify(BODY, str(NOW), REPORTING_VECTOR, [KEY], now=NOW + 1, tolerance=0)
    assert late.reason is Reason.STALE


def test_a_millisecond_timestamp_is_far_in_the_future() -> None:
    stamp = str(NOW * 1000)
    headers = sign(BODY, KEY, NOW * 1000)
    verdict = verify(BODY, stamp, headers["X-CIO-Signature"], [KEY], now=NOW)
    assert verdict.reason is Reason.FUTURE


@pytest.mark.parametrize(
    ("timestamp", "signature", "detail"),
    [
        (None, REPORTING_VECTOR, "missing X-CIO-Timestamp"),
        (str(NOW), None, "missing X-CIO-Signature"),
        (None, None, "missing X-CIO-Timestamp and X-CIO-Signature"),
    ],
)
def test_missing_headers(timestamp: str | None, signature: str | None, detail: str) -> None:
    verdict = verify(BODY, timestamp, signature, [KEY], now=NOW)
    assert verdict.reason is Reason.MISSING_HEADER
    assert verdict.detail == detail
    assert verdict.exit_code == ExitCode.CHECK_FAILED


def test_pipelines_needs_only_the_signature_header() -> None:
    verdict = verify(PIPELINES_BODY, None, None, ["k3y!"], scheme=Scheme.PIPELINES)
    assert verdict.reason is Reason.MISSING_HEADER
    assert verdict.detail == "missing X-Signature"


@pytest.mark.parametrize(
    ("signature", "detail"),
    [
        ("é" * 64, "non-ASCII"),
        ("é".encode() * 32, "non-ASCII"),
        ("", "is empty"),
        ("a" * 63, "has 63 hex digits; expected 64"),
        ("a" * 65, "has 65 hex digits"),
        ("a" * 10_000, "10000 characters long"),
        ("g" * 64, "not hexadecimal"),
        ("sha256=" + REPORTING_VECTOR, "not hexadecimal"),
        (PIPELINES_VECTOR, "length of a pipelines signature: --scheme pipelines?"),
        ("\x00" * 64, "not hexadecimal"),
    ],
)
def test_hostile_signatures_are_malformed_never_an_exception(
    signature: str | bytes, detail: str
) -> None:
    verdict = verify(BODY, str(NOW), signature, [KEY], now=NOW)
    assert verdict.reason is Reason.MALFORMED_SIGNATURE
    assert detail in verdict.detail


def test_a_reporting_signature_under_the_pipelines_scheme_says_so() -> None:
    verdict = verify(BODY, None, REPORTING_VECTOR, [KEY], scheme="pipelines")
    assert verdict.reason is Reason.MALFORMED_SIGNATURE
    assert "--scheme reporting?" in verdict.detail


#: Fullwidth digits pass str.isdigit() but are not ASCII.
FULLWIDTH = "\uff11\uff17\uff10\uff10"


@pytest.mark.parametrize(
    "timestamp", ["", "abc", "-1700000000", "1.7e9", FULLWIDTH, "9" * 16, "1" * 300, b"\xff\xfe"]
)
def test_malformed_timestamps(timestamp: str | bytes) -> None:
    verdict = verify(BODY, timestamp, REPORTING_VECTOR, [KEY], now=NOW)
    assert verdict.reason is Reason.MALFORMED_TIMESTAMP


def test_no_secret() -> None:
    verdict = verify(BODY, str(NOW), REPORTING_VECTOR, [], now=NOW)
    assert verdict.reason is Reason.NO_SECRET
    assert verdict.exit_code == ExitCode.CONFIG
    assert not verdict.ok


def test_a_lone_key_is_one_key_not_one_per_character() -> None:
    headers = sign(b"{}", "0", timestamp=NOW)
    for lone in ("0123", b"0123"):
        forged = verify(b"{}", headers[TS], headers[SIG], lone, now=NOW)
        assert forged.reason is Reason.MISMATCH
    genuine = sign(b"{}", "0123", timestamp=NOW)
    assert verify(b"{}", genuine[TS], genuine[SIG], "0123", now=NOW).ok
    assert verify(b"{}", genuine[TS], genuine[SIG], Secret("env:K", "0123"), now=NOW).ok


def test_empty_keys_are_no_keys() -> None:
    headers = {TS: str(NOW), SIG: "0" * 64}
    empties: list[str | bytes | list[str | bytes | Secret]] = [
        "",
        b"",
        [""],
        [b"", Secret("env:EMPTY", "")],
        " ",
        [b" \t", Secret("env:BLANK", "\n ")],
    ]
    for empty in empties:
        verdict = verify(b"{}", headers[TS], headers[SIG], empty, now=NOW)
        assert verdict.reason is Reason.NO_SECRET
    for blank in ("", " ", b"\t\n"):
        with pytest.raises(ValueError, match="empty key"):
            sign(b"{}", blank, timestamp=NOW)


def test_any_active_key_passes_and_the_verdict_names_it() -> None:
    keys = [Secret("env:NEW", "new-key-value"), Secret("env:OLD", KEY, previous=True)]
    verdict = verify(BODY, str(NOW), REPORTING_VECTOR, keys, now=NOW)
    assert verdict.ok
    document = verdict.to_json()
    assert document["matched_secret"] == "env:OLD"
    assert document["matched_previous"] is True
    assert document["secrets_tried"] == ["env:NEW", "env:OLD"]
    assert "only the previous signing key (env:OLD) matched" in verdict.warnings[0]
    current = verify(BODY, str(NOW), REPORTING_VECTOR, [Secret("env:NEW", KEY)], now=NOW)
    assert current.warnings == ()


def test_bytes_keys_and_hidden_values() -> None:
    assert verify(BODY, str(NOW), REPORTING_VECTOR, [KEY.encode()], now=NOW).ok
    assert KEY not in repr(Secret("env:X", KEY))
    assert sign(BODY, KEY.encode(), NOW)["X-CIO-Signature"] == REPORTING_VECTOR


def test_the_json_never_carries_a_key() -> None:
    verdict = verify(BODY, str(NOW), REPORTING_VECTOR, [Secret("env:K", KEY)], now=NOW)
    assert KEY not in str(verdict.to_json())
    assert verdict.to_json()["signed_string"]["prefix"] == "v0:1700000000:"  # type: ignore[index]


# ----------------------------------------------------------------------- properties

keys = st.one_of(st.text(min_size=1, max_size=64), st.binary(min_size=1, max_size=64)).filter(
    lambda key: Secret("key", key).key.strip()  # a whitespace-only key is no key
)
stamps = st.integers(min_value=0, max_value=10**12)


@given(body=st.binary(max_size=512), key=keys, stamp=stamps, scheme=st.sampled_from(Scheme))
def test_sign_then_verify_holds_for_any_bytes_and_key(
    body: bytes, key: str | bytes, stamp: int, scheme: Scheme
) -> None:
    headers = sign(body, key, stamp, scheme)
    verdict = verify(
        body,
        headers.get("X-CIO-Timestamp"),
        headers[scheme.signature_header],
        [key],
        now=stamp,
        scheme=scheme,
    )
    assert verdict.ok


@given(body=st.binary(min_size=1, max_size=256), key=keys, data=st.data())
def test_any_single_byte_change_of_the_body_fails(
    body: bytes, key: str, data: st.DataObject
) -> None:
    headers = sign(body, key, NOW)
    index = data.draw(st.integers(0, len(body) - 1))
    replacement = data.draw(st.integers(0, 255).filter(lambda b: b != body[index]))
    changed = body[:index] + bytes([replacement]) + body[index + 1 :]
    verdict = verify(changed, str(NOW), headers["X-CIO-Signature"], [key], now=NOW)
    assert verdict.reason is Reason.MISMATCH


@given(body=st.binary(max_size=128), key=keys, data=st.data())
def test_any_single_character_change_of_the_headers_fails(
    body: bytes, key: str, data: st.DataObject
) -> None:
    headers = sign(body, key, NOW)
    for name in ("X-CIO-Timestamp", "X-CIO-Signature"):
        value = headers[name]
        index = data.draw(st.integers(0, len(value) - 1))
        alphabet = string.digits if name == "X-CIO-Timestamp" else "0123456789abcdef"
        new = data.draw(st.sampled_from(alphabet.replace(value[index], "")))
        changed = {**headers, name: value[:index] + new + value[index + 1 :]}
        verdict = verify(
            body,
            changed["X-CIO-Timestamp"],
            changed["X-CIO-Signature"],
            [key],
            now=NOW,
            allow_stale=True,
        )
        assert verdict.reason is Reason.MISMATCH


@given(body=st.binary(max_size=128), key=keys, other=keys)
def test_any_other_key_fails(body: bytes, key: str | bytes, other: str | bytes) -> None:
    as_bytes = [k.encode() if isinstance(k, str) else k for k in (key, other)]
    if as_bytes[0] == as_bytes[1]:
        return
    headers = sign(body, key, NOW)
    verdict = verify(body, str(NOW), headers["X-CIO-Signature"], [other], now=NOW)
    assert verdict.reason is Reason.MISMATCH


@given(header=st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_arbitrary_headers_never_raise(header: str | bytes) -> None:
    verdict = verify(BODY, header, header, [KEY], now=NOW)
    assert verdict.reason is not Reason.VALID


def test_signed_string_shape() -> None:
    assert signed_string(b"{}", "12", Scheme.REPORTING) == b"v0:12:{}"
    assert signed_string(b"{}", b"12", Scheme.PIPELINES) == b"{}"
