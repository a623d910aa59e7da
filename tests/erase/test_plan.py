"""The job id: the same workspace and input give the same job, across versions too."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.erase.inputs import IdType, InputSpec, InputSummary, read_input
from cio_sec.erase.journal import ACTIONS
from cio_sec.erase.plan import Api, ErasureRequest, choose_api, job_id

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


# ------------------------------------------------------------------ --api auto


def _file(path: Path, values: list[str]) -> InputSpec:
    path.write_text("id\n" + "".join(f"{value}\n" for value in values))
    return InputSpec(path=path)


def _choose(spec: InputSpec, api: str = "auto") -> tuple[str, str, InputSummary]:
    request, chosen, summary = choose_api(ErasureRequest(spec=spec, api=Api(api)), spec, read_input)
    assert chosen.v1_paths is (request.api == "v1")  # read as the chosen API sends them
    return request.api, request.api_reason, summary


def test_auto_batches_a_file_of_more_than_100_people(tmp_path: Path) -> None:
    api, reason, summary = _choose(_file(tmp_path / "ids.csv", [f"p{n}" for n in range(101)]))
    assert (api, summary.rows) == ("batch", 101)
    assert reason == "auto: 101 people in a file, more than 100"


def test_auto_sends_a_few_people_one_request_per_action(tmp_path: Path) -> None:
    api, reason, _ = _choose(_file(tmp_path / "ids.csv", [f"p{n}" for n in range(100)]))
    assert (api, reason) == ("v1", "auto: 100 people, at most 100: a request per action")
    many_ids = InputSpec(ids=tuple(f"p{n}" for n in range(150)))  # --id is never bulk
    assert _choose(many_ids)[0] == "v1"


def test_auto_batches_ids_a_v1_path_would_misread(tmp_path: Path) -> None:
    api, reason, summary = _choose(_file(tmp_path / "ids.csv", ["plain", "x@y.com"]))
    assert (api, summary.invalid) == ("batch", 0)
    assert "@ or a cio_ prefix" in reason


@pytest.mark.parametrize("api", ["v1", "batch"])
def test_an_explicit_api_is_kept_and_said(tmp_path: Path, api: str) -> None:
    spec = _file(tmp_path / "ids.csv", [f"p{n}" for n in range(300)] + ["x@y.com"])
    chosen, reason, summary = _choose(spec, api)
    assert (chosen, reason) == (api, f"--api {api} given")
    assert summary.invalid == (1 if api == "v1" else 0)  # v1 refuses the ambiguous id
