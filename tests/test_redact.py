from __future__ import annotations

import base64
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.logs import RedactingFilter, configure_logging
from cio_sec.redact import ELLIPSIS, Redactor, fingerprint, mask

secrets_text = st.text(alphabet=st.characters(codec="utf-8"), min_size=4, max_size=80)


@given(secrets_text)
def test_mask_never_preserves_length_or_reveals_the_whole_value(value: str) -> None:
    masked = mask(value)
    assert ELLIPSIS in masked
    assert len(masked) < len(value) or len(value) < 10
    assert masked != value
    assert len(masked) <= 9


def test_mask_shapes() -> None:
    assert mask("a1b2c3d4e5f6a7b8c9d0") == "a1b2…c9d0"
    assert mask("abcdefghijkl") == "ab…kl"
    assert mask("short") == "…"


def test_fingerprint_is_16_hex_and_stable() -> None:
    assert fingerprint("x") == fingerprint("x")
    assert len(fingerprint("x")) == 16
    assert fingerprint("x") != fingerprint("y")
    int(fingerprint("x"), 16)


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
    assert text.startswith("k=abcd…XYZW")
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
    assert "s3cr…-123" in caplog.text


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
    assert "ValueError: token s3cr…-123" in text
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
    assert "warning: token lib-…e-99 rejected" in err
    assert "lib-s3cr3t-value-99" not in err
    assert "not shown" not in err
