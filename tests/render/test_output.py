"""Text rendering details that the CLI tests do not reach."""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import fields

from cio_sec.credentials import CredentialsReport
from cio_sec.render import OutputFormat, Streams, emit, register_renderers, render_text
from cio_sec.stores import SecretRef
from cio_sec.stores.chain import ResolvedCredential, StoreProblem


def test_store_problems_are_grouped_and_a_missing_hint_is_not_invented() -> None:
    ref = SecretRef("keyring", "cio-sec/default/site_id")
    problem = StoreProblem(ref, f"cannot read {ref}: locked", reason="locked")
    credentials = tuple(
        ResolvedCredential(name, (ref,), problems=(problem,)) for name in ("site_id", "app")
    )
    out, err = io.StringIO(), io.StringIO()
    report = CredentialsReport("default", "us", None, credentials)
    emit("credentials show", report, OutputFormat.TEXT, Streams(out, err, color=False))
    lines = err.getvalue().splitlines()
    assert "note: the keyring store could not be read for site_id, app: locked" in lines
    assert not any(line.startswith("hint:") for line in lines)
    assert "site_id" in out.getvalue()


def test_drawing_a_result_loads_only_its_own_capability() -> None:
    """scan-repo's table must not load erase, its HTTP client and asyncio to be printed."""
    script = (
        "import sys\n"
        "from cio_sec.render import register_renderers, render_text\n"
        "from cio_sec.scan_repo import ScanReport\n"
        "register_renderers(ScanReport.__new__(ScanReport))\n"
        "assert ScanReport in render_text.registry\n"
        "print(sorted(m for m in ('cio_sec.erase', 'cio_sec.purge', 'cio_sec.rotate', "
        "'cio_sec.webhook', 'httpx') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout == "[]\n", done.stderr


def test_every_result_drawn_as_text_says_its_own_exit_code() -> None:
    """The CLI exits with ``result.exit_code``: no result type may leave it to a default."""
    register_renderers()
    drawn = [kind for kind in render_text.registry if kind is not object]
    assert len(drawn) >= 20
    for kind in drawn:
        for name in ("ok", "exit_code", "to_json"):
            declared = hasattr(kind, name) or name in {field.name for field in fields(kind)}
            assert declared, f"{kind.__name__} has no {name}"
