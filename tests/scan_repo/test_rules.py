"""The rules: one per kind of credential, each with a stable id and a description."""

from __future__ import annotations

from cio_sec.scan_repo.rules import LEAK_RULES


def test_every_rule_has_an_id_and_a_description() -> None:
    ids = [r.id for r in LEAK_RULES]
    assert len(set(ids)) == 6
    assert all(
        i.startswith("customerio-") and r.description for i, r in zip(ids, LEAK_RULES, strict=True)
    )
