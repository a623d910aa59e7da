"""The job id: the same workspace and input give the same job, across versions too."""

from __future__ import annotations

import hashlib
import json

from hypothesis import given
from hypothesis import strategies as st

from cio_sec.erase.inputs import IdType, InputSummary
from cio_sec.erase.journal import ACTIONS
from cio_sec.erase.plan import job_id

SUMMARY = InputSummary(sha256="ab" * 32, column="id", id_type=IdType.ID, rows=2, invalid=0)


def _before_text_ids(workspace: int) -> str:
    """The job id as versions that held workspace ids as integers computed it."""
    material = json.dumps([workspace, SUMMARY.sha256, list(ACTIONS), "id", "id"])
    return hashlib.sha256(material.encode()).hexdigest()[:16]


@given(workspace=st.integers(0, 10**12))
def test_a_numeric_workspace_keeps_the_job_id_it_had_as_an_integer(workspace: int) -> None:
    assert job_id(str(workspace), SUMMARY) == _before_text_ids(workspace)


def test_other_workspace_ids_are_their_own_jobs() -> None:
    ids = {
        job_id(text, SUMMARY)
        for text in ("1001", "01001", "13XXXX", "1001 ", "\u0661\u0660\u0660\u0661")
    }
    assert len(ids) == 5
