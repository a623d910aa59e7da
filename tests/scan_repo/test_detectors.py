"""Each detector on the file shapes keys leak in, and the decoys it must leave alone."""

from __future__ import annotations

import base64
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.redact import public_fingerprint as fingerprint
from cio_sec.scan_repo import detectors
from cio_sec.scan_repo.anchors import find_anchors
from cio_sec.scan_repo.detectors import scan_bytes
from tests.support.git_repos import APP_KEY, OTHER_TRACK_KEY, SITE_ID, TRACK_KEY

PAIR = fingerprint(f"{SITE_ID}:{TRACK_KEY}")


@pytest.fixture(autouse=True, params=["hyperscan", "re only"])
def gate(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test twice: with Hyperscan's one-pass gate, and without it (no extra)."""
    if request.param == "re only":
        monkeypatch.setattr(detectors, "fast_gate", lambda: None)


def found(text: str | bytes) -> list[tuple[str, int, str]]:
    data = text.encode() if isinstance(text, str) else text
    return [(m.rule, m.line, m.fingerprint) for m in scan_bytes(data)]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (f"CUSTOMERIO_SITE_ID={SITE_ID}\nCUSTOMERIO_TRACK_API_KEY={TRACK_KEY}\n", 2),
        (f"CUSTOMERIO_SITE_ID={SITE_ID}\r\nCUSTOMERIO_API_KEY={TRACK_KEY}\r\n", 2),
        (f'{{"customerio": {{"siteId": "{SITE_ID}", "apiKey": "{TRACK_KEY}"}}}}', 1),
        (f"customer_io:\n  site_id: {SITE_ID}\n  track_api_key: {TRACK_KEY}\n", 3),
        (f"[customer.io]\nsite_id = {SITE_ID}\napi_key = {TRACK_KEY}\n", 3),
        (f'import customerio\ncio = customerio.CustomerIO("{SITE_ID}", "{TRACK_KEY}")\n', 2),
        (
            f'const {{ TrackClient }} = require("customerio-node");\n'
            f'let c = new TrackClient("{SITE_ID}", "{TRACK_KEY}");\n',
            2,
        ),
        (f'CustomerIO(api_key="{TRACK_KEY}", site_id="{SITE_ID}")\n', 1),
    ],
    ids=["env", "env-crlf", "json", "yaml", "ini", "python", "js", "kwargs"],
)
def test_a_track_pair_is_found_in_each_file_shape(text: str, line: int) -> None:
    assert found(text) == [("customerio-track-key-pair", line, PAIR)]


def test_keys_pair_with_the_nearest_site_not_every_token() -> None:
    other_site = "0b1c2d3e4f5a6b7c8d9e"
    text = (
        f"# customer.io production\nSITE_ID={SITE_ID}\nAPI_KEY={TRACK_KEY}\n\n"
        f"# customer.io staging\nSITE_ID={other_site}\nAPI_KEY={OTHER_TRACK_KEY}\n"
    )
    assert found(text) == [
        ("customerio-track-key-pair", 3, PAIR),
        ("customerio-track-key-pair", 7, fingerprint(f"{other_site}:{OTHER_TRACK_KEY}")),
    ]


def test_a_lone_key_in_context_is_reported_by_its_own_rule() -> None:
    assert found(f"CUSTOMERIO_TRACK_API_KEY={TRACK_KEY}\n") == [
        ("customerio-track-api-key", 1, fingerprint(TRACK_KEY))
    ]


def test_basic_auth_forms_carry_the_pair_fingerprint() -> None:
    token = base64.b64encode(f"{SITE_ID}:{TRACK_KEY}".encode()).decode()
    urlsafe = base64.urlsafe_b64encode(f"{SITE_ID}:{TRACK_KEY}".encode()).decode()
    text = (
        f"Authorization: Basic {token}\n"
        f"curl -u {SITE_ID}:{TRACK_KEY} https://track.customer.io/api/v1/accounts/region\n"
        f"url = 'https://{SITE_ID}:{TRACK_KEY}@track-eu.customer.io/api/v1'\n"
        f"header = 'Basic {urlsafe}'\n"
    )
    assert found(text) == [("customerio-track-basic-auth", n, PAIR) for n in (1, 2, 3, 4)]


def test_loose_keywords_do_not_start_the_expensive_detectors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decoded: list[bytes] = []
    original = detectors._decode_base64

    def counting(token: bytes) -> str | None:
        decoded.append(token)
        return original(token)

    monkeypatch.setattr(detectors, "_decode_base64", counting)
    # 50 base64 tokens, no Customer.io keyword: only "cio" inside words, and "basic".
    noise = "\n".join(base64.b64encode(bytes([i]) * 42).decode() for i in range(50))
    assert found(f"precious, conscious: basic needs\n{noise}\n") == []
    assert decoded == []
    token = base64.b64encode(f"{SITE_ID}:{TRACK_KEY}".encode()).decode()
    text = (
        f"precious\nAuthorization: Basic {token}\n{noise}\n"
        f"curl -u {SITE_ID}:{TRACK_KEY} https://example.com/\n"
    )
    assert found(text) == [("customerio-track-basic-auth", n, PAIR) for n in (2, 53)]
    assert decoded == [token.encode()]


def test_app_keys_need_a_label_and_context() -> None:
    text = (
        f"CUSTOMERIO_APP_API_KEY={APP_KEY}\n"
        f"curl -H 'Authorization: Bearer {APP_KEY}' https://api-eu.customer.io/v1/workspaces\n"
        f"request_id = {APP_KEY}  # customer.io\n"
    )
    assert found(text) == [("customerio-app-api-key", n, fingerprint(APP_KEY)) for n in (1, 2)]


def test_webhook_signing_keys_in_context() -> None:
    text = (
        "CUSTOMERIO_WEBHOOK_SECRET=whk8f3b2c1d0e9a8b7c6d5\n"
        "CUSTOMERIO_WEBHOOK_SECRET=${CUSTOMERIO_WEBHOOK_SECRET}\n"
        "CUSTOMERIO_WEBHOOK_SECRET=CUSTOMERIO_WEBHOOK_SECRET_VALUE\n"
        + "\n" * 12
        + "# x-cio-signature handler\nsigning_secret = 'Zm9vYmFyYmF6cXV4MTIzNDU2'\n"
    )
    assert found(text) == [
        ("customerio-webhook-signing-key", 1, fingerprint("whk8f3b2c1d0e9a8b7c6d5")),
        ("customerio-webhook-signing-key", 17, fingerprint("Zm9vYmFyYmF6cXV4MTIzNDU2")),
    ]


def test_service_account_tokens_need_no_context() -> None:
    text = "a: sa_live_AbCdEf0123456789xyz\nb: sa_sandbox_0123456789abcdefQQ\nc: sa_live_short\n"
    matches = scan_bytes(text.encode())
    assert [(m.rule, m.line, m.preview) for m in matches] == [
        ("customerio-service-account-token", 1, "sa_live_Ab…yz"),
        ("customerio-service-account-token", 2, "sa_sandbox_01…QQ"),
    ]


def test_decoys_are_not_findings() -> None:
    text = (
        "customerio-node: commit 0123456789abcdef0123456789abcdef01234567\n"
        "customer.io id 123e4567-e89b-12d3-a456-426614174000\n"
        "customerio api_key: 12345678901234567890\n"  # all digits: a counter
        "customerio key_sha: 0a1b2c3d4e5f6a7b8c9d\n"  # labelled as a hash
        '"integrity": "sha512-0a1b2c3d4e5f6a7b8c9d+/Zz==", "customerio-node"\n'
        "cio_site_id = abcdefabcdefabcdefab\n"  # all letters: a placeholder
        "customerio app_api_key: 12345678901234567890123456789012\n"
        f"https://{SITE_ID}:abcdefabcdefabcdefab@track.customer.io\n"
        "Authorization: Basic dXNlcjpwYXNzd29yZA==\n"
    )
    assert found(text) == []
    assert found(f"SITE_ID={SITE_ID}\nAPI_KEY={TRACK_KEY}\nAPP_KEY={APP_KEY}\n") == []


def test_context_more_than_ten_lines_away_does_not_count() -> None:
    assert found("customerio\n" + "\n" * 11 + f"API_KEY={TRACK_KEY}\n") == []
    assert found("customerio\n" + "\n" * 9 + f"API_KEY={TRACK_KEY}\n") == [
        ("customerio-track-api-key", 11, fingerprint(TRACK_KEY))
    ]


def test_previews_never_hold_the_secret() -> None:
    text = f"CUSTOMERIO_SITE_ID={SITE_ID}\nCUSTOMERIO_TRACK_API_KEY={TRACK_KEY}\n"
    (match,) = scan_bytes(text.encode())
    assert match.preview == "…:…"
    assert TRACK_KEY not in repr(match)


_hex = st.text(alphabet="0123456789abcdef", min_size=20, max_size=20).filter(
    lambda v: any(c.isdigit() for c in v) and any(c.isalpha() for c in v)
)


@given(site=_hex, key=_hex)
def test_any_env_pair_is_found_with_its_fingerprint(site: str, key: str) -> None:
    text = f"CUSTOMERIO_SITE_ID={site}\nCUSTOMERIO_TRACK_API_KEY={key}\n"
    if site != key:
        assert found(text) == [("customerio-track-key-pair", 2, fingerprint(f"{site}:{key}"))]


@given(st.text(alphabet=string.ascii_letters + string.digits + " =:\n", max_size=300))
def test_text_without_keywords_never_matches(text: str) -> None:
    if not any(find_anchors(text.lower().encode())):
        assert scan_bytes(text.encode()) == []
