from __future__ import annotations

import base64
import hashlib
import logging
import math
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.logs import RedactingFilter, configure_logging
from cio_sec.machine_key import FILE_NAME, KEY_BYTES, _create, machine_key
from cio_sec.redact import (
    ELLIPSIS,
    PUBLIC_FINGERPRINT_BITS,
    Redactor,
    estimated_bits,
    fingerprint,
    legacy_fingerprint,
    mask,
    public_fingerprint,
)
from tests.support.hostile import fill, full_filesystem

secrets_text = st.text(alphabet=st.characters(codec="utf-8"), min_size=4, max_size=80)


@given(secrets_text)
def test_mask_never_preserves_length_or_reveals_the_whole_value(value: str) -> None:
    masked = mask(value)
    assert ELLIPSIS in masked
    assert len(masked) < len(value) or len(value) < 10
    assert masked != value
    assert len(masked) <= 9


def test_mask_shapes() -> None:
    assert mask("a1b2c3d4e5f6a7b8c9d0") == "…"  # 20 hex: 80 bits, nothing can be shown
    assert mask("0123456789abcdef0123456789abcdef") == "0123…cdef"  # 32 hex: 128 bits
    assert mask("canary0c4n4ry5ecret7e57") == "ca…57"
    assert mask("abcdefghijkl") == "…"
    assert mask("short") == "…"
    assert mask("é" * 16) == "éé…éé"  # non-ASCII counts 8 bits a character


@given(st.text(min_size=1, max_size=80))
def test_what_mask_shows_leaves_64_bits_beside_the_public_fingerprint(value: str) -> None:
    shown = len(mask(value)) - len(ELLIPSIS)
    per_char = estimated_bits(value) / len(value)
    assert estimated_bits(value) - shown * per_char - PUBLIC_FINGERPRINT_BITS >= 64 or not shown


def test_estimated_bits_uses_the_smallest_alphabet() -> None:
    assert estimated_bits("0123456789") == pytest.approx(10 * 3.3219, rel=1e-4)
    assert estimated_bits("a1b2c3d4e5f6a7b8c9d0") == 80
    assert estimated_bits("A1B2C3D4E5F6A7B8C9D0") == 80
    assert estimated_bits("0123456789abcdef0123456789abcdef") == 128
    assert estimated_bits("Zz+/") == pytest.approx(4 * math.log2(67))


def test_fingerprint_is_16_hex_stable_and_keyed_by_this_machine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert fingerprint("x") == fingerprint("x")
    assert len(fingerprint("x")) == 16
    assert fingerprint("x") != fingerprint("y")
    int(fingerprint("x"), 16)
    assert fingerprint("x") != legacy_fingerprint("x")  # not the unkeyed SHA-256
    key_file = Path(os.environ["XDG_STATE_HOME"]) / "cio-sec" / FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_bytes()) == KEY_BYTES
    here = fingerprint("x")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "another-machine"))
    assert fingerprint("x") != here


def test_public_fingerprint_is_the_legacy_prefix() -> None:
    assert legacy_fingerprint("x") == hashlib.sha256(b"x").hexdigest()[:16]
    assert public_fingerprint("x") == legacy_fingerprint("x")[:4]


def test_a_damaged_key_file_gives_a_key_for_this_run_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state"
    (state / "cio-sec").mkdir(parents=True)
    (state / "cio-sec" / FILE_NAME).write_bytes(b"short")
    key = machine_key({"XDG_STATE_HOME": str(state)})
    assert len(key) == KEY_BYTES
    assert "holds 5 bytes, not 32" in caplog.text
    assert (state / "cio-sec" / FILE_NAME).read_bytes() == b"short"  # left for a person


def test_an_unwritable_state_directory_gives_a_key_for_this_run_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    key = machine_key({"XDG_STATE_HOME": str(blocker)})
    assert len(key) == KEY_BYTES
    assert "cannot use the fingerprint key" in caplog.text
    unreadable = tmp_path / "dir-state"
    (unreadable / "cio-sec" / FILE_NAME).mkdir(parents=True)  # a directory where the key goes
    assert len(machine_key({"XDG_STATE_HOME": str(unreadable)})) == KEY_BYTES


def test_a_full_disk_gives_a_key_for_this_run_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with full_filesystem(tmp_path / "full") as mount:
        (mount / "cio-sec").mkdir()
        fill(mount)
        key = machine_key({"XDG_STATE_HOME": str(mount)})
        assert len(key) == KEY_BYTES
        assert "No space left on device" in caplog.text
        assert [p.name for p in (mount / "cio-sec").iterdir()] == []  # no temporary left


def test_the_first_key_written_wins_a_race(tmp_path: Path) -> None:
    path = tmp_path / "state" / FILE_NAME
    path.parent.mkdir()
    path.write_bytes(b"k" * KEY_BYTES)  # another process linked its key first
    assert _create(path) == b"k" * KEY_BYTES
    assert [p.name for p in path.parent.iterdir()] == [FILE_NAME]


@given(secret=secrets_text, prefix=st.text(max_size=30), suffix=st.text(max_size=30))
def test_registered_secret_never_survives_redaction(secret: str, prefix: str, suffix: str) -> None:
    redactor = Redactor()
    redactor.register(secret)
    assert secret not in redactor.redact(prefix + secret + suffix + secret)


def test_overlapping_secrets_are_masked_whole_and_variants_too() -> None:
    redactor = Redactor()
    redactor.register("abcdef123456")
    redactor.register("abcdef123456XYZW")
    text = redactor.redact("k=abcdef123456XYZW q=ab cd%20ef")
    assert "abcdef123456" not in text
    assert text.startswith("k=…")
    redactor.register("ab cd ef")  # the percent-encoded form is registered too
    assert "ab%20cd%20ef" not in redactor.redact("url=ab%20cd%20ef")


def test_short_values_are_not_registered_and_clear_forgets() -> None:
    redactor = Redactor()
    redactor.register("abc")
    redactor.register(None)
    assert redactor.redact("abc") == "abc"
    redactor.register("longer-secret")
    redactor.clear()
    assert redactor.redact("longer-secret") == "longer-secret"


def test_basic_auth_token_is_registered() -> None:
    redactor = Redactor()
    redactor.register_basic_auth("site0123456789abcdef", "key0123456789abcdefg")
    token = base64.b64encode(b"site0123456789abcdef:key0123456789abcdefg").decode()
    assert token not in redactor.redact(f"Authorization: Basic {token}")


def test_logging_filter_masks_message_and_args(caplog: pytest.LogCaptureFixture) -> None:
    redactor = Redactor()
    redactor.register("s3cr3t-value-123")
    logger = logging.getLogger("test.redact")
    logger.addFilter(RedactingFilter(redactor))
    with caplog.at_level(logging.INFO, logger="test.redact"):
        logger.info("token %s in %r", "s3cr3t-value-123", {"k": "s3cr3t-value-123"})
    assert "s3cr3t-value-123" not in caplog.text
    assert "token …" in caplog.text


def test_configure_logging_does_not_stack_handlers() -> None:
    configure_logging(0, debug=False)
    configure_logging(2, debug=False)
    logger = logging.getLogger("cio_sec")
    ours = [h for h in logger.handlers if type(h).__name__ == "_StderrHandler"]
    assert len(ours) == 1
    assert logger.level == logging.DEBUG
    configure_logging(1, debug=False)
    assert logger.level == logging.INFO


def test_logged_tracebacks_are_redacted_through_a_real_handler() -> None:
    import io

    redactor = Redactor()
    redactor.register("s3cr3t-value-123")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(redactor))
    logger = logging.getLogger("test.redact.traceback")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        raise ValueError("token s3cr3t-value-123")
    except ValueError:
        logger.exception("request failed", stack_info=True)
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "Traceback (most recent call last)" in text
    assert "ValueError: token …" in text
    assert "s3cr3t-value-123" not in text


def test_other_libraries_warnings_are_redacted_too(capsys: pytest.CaptureFixture[str]) -> None:
    from cio_sec.redact import register

    register("lib-s3cr3t-value-99")
    configure_logging(0, debug=False)
    try:
        logging.getLogger("some.library").warning("token lib-s3cr3t-value-99 rejected")
        logging.getLogger("some.library").info("not shown at the default level")
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if type(h).__name__ == "_StderrHandler"]:
            root.removeHandler(handler)
    err = capsys.readouterr().err
    assert "warning: token li…99 rejected" in err
    assert "lib-s3cr3t-value-99" not in err
    assert "not shown" not in err
