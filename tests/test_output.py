"""Text rendering details that the CLI tests do not reach."""

from __future__ import annotations

import io

from cio_sec.credentials import CredentialsReport, ResolvedCredential, StoreProblem
from cio_sec.output import OutputFormat, Streams, emit
from cio_sec.stores import SecretRef


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
