"""The audit trail: chained appends, concurrent writers, and every kind of tampering."""

from __future__ import annotations

import hashlib
import itertools
import json
import multiprocessing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cio_sec.errors import ConfigError, InputError
from cio_sec.pseudonym import PseudonymKey
from cio_sec.trail import (
    GENESIS,
    RecoveredWrite,
    TrailWriter,
    record_hash,
    verify_chain,
)

KEY = PseudonymKey(b"audit-key-" * 4)
ATTACKER = PseudonymKey(b"attacker-key-" * 4)
KEYS = {KEY.key_id: KEY}


class SteppingClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def write_trail(path: Path, count: int = 5) -> list[dict[str, Any]]:
    log = TrailWriter(path, KEY, clock=SteppingClock())
    written = []
    for number in range(count):
        written += log.append([{"type": "action", "subject": f"s{number}", "outcome": "ok"}])
    return written


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def test_appended_records_are_chained_and_verify(tmp_path: Path) -> None:
    path = tmp_path / "state" / "audit.jsonl"
    written = write_trail(path, 3)
    written += TrailWriter(path, KEY).append(
        [{"type": "job-end", "erased": 3}, {"type": "job-end", "erased": 0}]
    )
    assert [record["seq"] for record in written] == [1, 2, 3, 4, 5]
    assert written[0]["prev"] == GENESIS
    assert all(b["prev"] == a["hash"] for a, b in itertools.pairwise(written))
    assert path.stat().st_mode & 0o777 == 0o600
    report = verify_chain(path, KEYS)
    assert report.ok
    assert report.records == 5
    assert report.head == written[-1]["hash"]
    assert report.key_ids == (KEY.key_id,)
    assert report.to_json()["verified"] is True
    assert [json.loads(line) for line in lines(path)] == written


def test_records_are_never_dated_before_the_last_one(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_trail(path, 2)
    past = TrailWriter(path, KEY, clock=lambda: datetime(2000, 1, 1, tzinfo=timezone.utc))
    record = past.append([{"type": "action"}])[0]
    assert record["ts"] == json.loads(lines(path)[1])["ts"]
    assert verify_chain(path, KEYS).ok


def tamper(path: Path, index: int, change: dict[str, Any]) -> None:
    rows = lines(path)
    record = json.loads(rows[index])
    record.update(change)
    rows[index] = json.dumps(record) + "\n"
    path.write_text("".join(rows))


@pytest.mark.parametrize(
    ("damage", "line", "problem"),
    [
        (lambda p: tamper(p, 2, {"outcome": "failed"}), 3, "record 3 was altered"),
        (lambda p: p.write_text("".join(lines(p)[:1] + lines(p)[2:])), 2, "chain broken"),
        (
            lambda p: p.write_text(
                "".join([*lines(p)[:1], lines(p)[2], lines(p)[1], *lines(p)[3:]])
            ),
            2,
            "chain broken",
        ),
        (lambda p: p.write_text(p.read_text().replace('"s1"', '"s9"')), 2, "altered"),
        (lambda p: p.write_text(p.read_text()[:-10]), 5, "cut off"),
        (lambda p: p.write_text(p.read_text() + "{not json\n"), 6, "not valid JSON"),
        (lambda p: p.write_text(p.read_text() + "[1]\n"), 6, "not a JSON object"),
        (lambda p: p.write_text(p.read_text() + '{"seq": 6}\n'), 6, "missing field(s): ts"),
    ],
    ids=["changed", "deleted", "swapped", "byte", "torn", "garbage", "array", "partial"],
)
def test_tampering_is_found_at_its_line(
    tmp_path: Path, damage: Any, line: int, problem: str
) -> None:
    path = tmp_path / "audit.jsonl"
    write_trail(path)
    damage(path)
    report = verify_chain(path, KEYS)
    assert not report.ok
    assert report.first_break is not None
    assert report.first_break.line == line
    assert problem in report.first_break.problem
    assert report.to_json()["first_break"] == {"line": line, "problem": report.first_break.problem}


def test_a_forged_record_needs_the_key(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    written = write_trail(path, 2)
    forged = {
        "type": "action",
        "subject": "forged",
        "seq": 3,
        "ts": written[-1]["ts"],
        "key_id": KEY.key_id,
        "prev": written[-1]["hash"],
    }
    forged["hash"] = record_hash(forged, ATTACKER)
    path.write_text(path.read_text() + json.dumps(forged) + "\n")
    report = verify_chain(path, KEYS)
    assert report.first_break is not None
    assert (report.first_break.line, report.records) == (3, 2)
    assert "altered" in report.first_break.problem


def test_a_chain_rewritten_with_another_key_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_trail(path, 2)
    rewritten = tmp_path / "rewritten.jsonl"
    TrailWriter(rewritten, ATTACKER).append([{"type": "action", "subject": "s0"}])
    report = verify_chain(rewritten, KEYS)
    assert report.first_break is not None
    assert "unknown key id" in report.first_break.problem


def test_out_of_order_sequence_and_time_are_found(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = TrailWriter(path, KEY, clock=SteppingClock())
    log.append([{"type": "a"}])
    first = json.loads(lines(path)[0])
    changes: list[tuple[dict[str, Any], str]] = [
        ({"seq": 7}, "sequence number 7 where 2 was expected"),
        ({"ts": "2000-01-01T00:00:00.000000Z"}, "dated before"),
    ]
    for change, problem in changes:
        second = {"type": "b", "seq": 2, "ts": first["ts"], "key_id": KEY.key_id}
        second.update(change)
        second["prev"] = first["hash"]
        second["hash"] = record_hash(second, KEY)
        path.write_text(lines(path)[0] + json.dumps(second) + "\n")
        report = verify_chain(path, KEYS)
        assert report.first_break is not None
        assert problem in report.first_break.problem


def test_an_expected_head_detects_truncation(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    written = write_trail(path, 4)
    head = verify_chain(path, KEYS).head
    assert verify_chain(path, KEYS, expect_head=written[1]["hash"]).ok  # still contained
    path.write_text("".join(lines(path)[:3]))
    report = verify_chain(path, KEYS)
    assert report.ok  # a shorter chain is still a chain ...
    truncated = verify_chain(path, KEYS, expect_head=head)
    assert truncated.first_break is not None  # ... but not the one recorded earlier
    assert truncated.first_break.line == 4
    assert "removed from its end" in truncated.first_break.problem


def test_a_torn_tail_is_recovered_and_kept_as_evidence(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    before = write_trail(path, 2)
    path.write_text(path.read_text() + '{"type": "act')
    (record,) = TrailWriter(path, KEY).append([{"type": "action"}])
    assert record["seq"] == 4
    torn, recovery = lines(path)[2:4]
    assert torn == '{"type": "act\n'  # left in place: the trail is never rewritten
    recovery_record = json.loads(recovery)
    assert recovery_record["type"] == "recovery"
    assert recovery_record["prev"] == before[-1]["hash"]
    assert recovery_record["torn_sha256"] == hashlib.sha256(torn.encode()).hexdigest()
    assert recovery_record["torn_bytes"] == len(torn)
    assert record["prev"] == recovery_record["hash"]
    report = verify_chain(path, KEYS)
    assert report.ok
    assert report.records == 4
    assert report.recovered == (RecoveredWrite(3, 3, 3, len(torn)),)
    assert report.to_json()["recovered"] == [
        {"first_line": 3, "last_line": 3, "record": 3, "bytes": len(torn)}
    ]
    assert report.recovered[0].describe() == (
        "line 3: a write cut off by a crash or a full disk (14 bytes, kept in place) "
        "was recovered by record 3"
    )


def test_writes_cut_off_again_and_again_are_recovered_together(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_trail(path, 2)
    path.write_text(path.read_text() + '{"seq": 3, "ty\n\n{"se')
    TrailWriter(path, KEY).append([{"type": "action"}])
    report = verify_chain(path, KEYS)
    assert report.ok
    (recovered,) = report.recovered
    assert (recovered.lines, recovered.record) == ("3-5", 3)


def test_a_first_write_cut_off_is_recovered_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_text('{"type":"job-start","jo')
    (record,) = TrailWriter(path, KEY).append([{"type": "job-start"}])
    assert record["seq"] == 2
    first = json.loads(lines(path)[1])
    assert (first["type"], first["prev"]) == ("recovery", GENESIS)
    report = verify_chain(path, KEYS)
    assert report.ok
    assert report.recovered == (RecoveredWrite(1, 1, 1, len(lines(path)[0])),)


def test_a_record_that_lost_only_its_newline_is_completed(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_trail(path, 2)
    path.write_text(path.read_text().rstrip("\n"))
    (record,) = TrailWriter(path, KEY).append([{"type": "action"}])
    assert record["seq"] == 3
    report = verify_chain(path, KEYS)
    assert (report.ok, report.records, report.recovered) == (True, 3, ())


def test_trailing_blank_space_needs_no_recovery(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_trail(path, 2)
    path.write_text(path.read_text() + "\n   ")
    TrailWriter(path, KEY).append([{"type": "action"}])
    report = verify_chain(path, KEYS)
    assert (report.ok, report.records, report.recovered) == (True, 3, ())


def _recovered_trail(path: Path) -> None:
    write_trail(path, 2)
    path.write_text(path.read_text() + '{"type": "act')
    TrailWriter(path, KEY).append([{"type": "action"}])


@pytest.mark.parametrize(
    ("damage", "line", "problem"),
    [
        (lambda text: text.replace('"act\n', '"axe\n'), 4, "SHA-256 differs"),
        (lambda text: text.replace('{"type": "act\n', ""), 3, "SHA-256 differs"),
        (
            lambda text: text.replace('"torn_bytes":14', '"torn_bytes":15'),
            4,
            "record 3 was altered",
        ),
        (lambda text: text.replace('{"type": "act\n', '{"type": "act\n{"x\n'), 5, "SHA-256"),
    ],
    ids=["torn-bytes-changed", "torn-bytes-removed", "recovery-altered", "more-damage"],
)
def test_a_recovery_record_accounts_only_for_the_bytes_it_saw(
    tmp_path: Path, damage: Any, line: int, problem: str
) -> None:
    path = tmp_path / "audit.jsonl"
    _recovered_trail(path)
    path.write_text(damage(path.read_text()))
    report = verify_chain(path, KEYS)
    assert report.first_break is not None
    assert report.first_break.line == line
    assert problem in report.first_break.problem
    assert report.recovered == ()


def test_a_damaged_line_before_an_ordinary_record_is_a_break(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_trail(path, 3)
    rows = lines(path)
    path.write_text("".join([*rows[:2], '{"type": "act\n', *rows[2:]]))
    report = verify_chain(path, KEYS)
    assert report.first_break is not None
    assert (report.first_break.line, report.first_break.problem) == (3, "not valid JSON")


@settings(max_examples=60)
@given(cut=st.integers(min_value=0, max_value=10_000))
def test_any_cut_of_a_write_is_recovered_by_the_next(
    tmp_path_factory: pytest.TempPathFactory, cut: int
) -> None:
    path = tmp_path_factory.mktemp("cut") / "audit.jsonl"
    write_trail(path, 2)
    intact = path.stat().st_size
    TrailWriter(path, KEY).append([{"type": "action", "n": n} for n in range(8)])
    whole = path.read_bytes()
    kept = whole[: intact + cut % (len(whole) - intact)]
    path.write_bytes(kept)
    TrailWriter(path, KEY).append([{"type": "after"}])
    report = verify_chain(path, KEYS)
    assert report.ok, report.first_break
    complete = kept.count(b"\n") + (kept.endswith(b"}") and not kept.endswith(b"\n"))
    assert report.records == complete + len(report.recovered) + 1
    assert bool(report.recovered) == (not kept.endswith((b"\n", b"}")))


def test_absurdly_nested_lines_are_damage_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_trail(path, 1)
    path.write_text(path.read_text() + "[" * 100_000 + "]" * 100_000 + "\n")
    report = verify_chain(path, KEYS)
    assert report.first_break is not None
    assert (report.first_break.line, report.first_break.problem) == (2, "not valid JSON")


def test_blank_lines_are_not_records(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_trail(path, 2)
    path.write_text(path.read_text().replace("\n", "\n\n", 1))
    report = verify_chain(path, KEYS)
    assert report.ok
    assert report.records == 2


@pytest.mark.parametrize(
    "ending",
    [
        "",  # a file of garbage only
        'RECORDS garbage\n{"type": "act',  # a torn line after something that is no record
        'RECORDS{"seq": "3", "ts": "x", "type": "t", "key_id": "k", "prev": "p", "hash": "h"}\n',
        "RECORDS{" + "x" * 70_000,  # no record in the last 64 KiB
    ],
    ids=["garbage", "garbage-then-torn", "record-with-a-text-seq", "no-record-near-the-end"],
)
def test_a_trail_ending_in_garbage_is_not_extended(tmp_path: Path, ending: str) -> None:
    path = tmp_path / "audit.jsonl"
    if ending.startswith("RECORDS"):
        write_trail(path, 2)
        path.write_text(path.read_text() + ending.removeprefix("RECORDS"))
    else:
        path.write_text("garbage\nmore garbage\n")
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="refusing to extend"):
        TrailWriter(path, KEY).append([{"type": "action"}])
    assert path.read_bytes() == before


def test_a_duplicated_key_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_trail(path, 3)
    rows = lines(path)
    rows[1] = '{"outcome":"failed","subject":"FORGED",' + rows[1][1:]
    path.write_text("".join(rows))
    report = verify_chain(path, KEYS)
    assert report.first_break is not None
    assert report.first_break.line == 2
    assert report.first_break.problem == "the key 'subject' appears twice in one object"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


@pytest.mark.slow
@settings(max_examples=60)
@given(index=st.integers(0, 2), data=st.data())
def test_any_key_given_twice_fails_verification(
    tmp_path_factory: pytest.TempPathFactory, index: int, data: st.DataObject
) -> None:
    path = tmp_path_factory.mktemp("dup") / "audit.jsonl"
    write_trail(path, 3)
    rows = lines(path)
    record = json.loads(rows[index])
    name = data.draw(st.sampled_from(sorted(record)))
    value = data.draw(json_values)
    rows[index] = "{" + json.dumps(name) + ":" + json.dumps(value) + "," + rows[index][1:]
    path.write_text("".join(rows))
    report = verify_chain(path, KEYS)
    assert report.first_break is not None
    assert report.first_break.line == index + 1
    assert "appears twice" in report.first_break.problem


def test_a_lone_surrogate_is_damage_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_trail(path, 2)
    path.write_text(path.read_text().replace('"s1"', '"\\ud800"'))
    report = verify_chain(path, KEYS)
    assert report.first_break is not None
    assert report.first_break.line == 2
    assert report.first_break.problem == "holds text that is not valid Unicode"


def test_entries_must_not_set_chain_fields_and_need_a_type(tmp_path: Path) -> None:
    log = TrailWriter(tmp_path / "audit.jsonl", KEY)
    with pytest.raises(ConfigError, match="chain fields: hash, seq"):
        log.append([{"type": "x", "seq": 1, "hash": "h"}])
    with pytest.raises(ConfigError, match="needs a type"):
        log.append([{"subject": "x"}])
    assert log.append([]) == []
    assert not (tmp_path / "audit.jsonl").exists()


def test_unwritable_and_unreadable_trails_are_config_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot open the audit trail"):
        TrailWriter(blocker / "audit.jsonl", KEY).append([{"type": "x"}])
    with pytest.raises(InputError, match=r"missing\.jsonl: cannot read the audit trail") as caught:
        verify_chain(tmp_path / "missing.jsonl", KEYS)
    assert caught.value.exit_code == 2


def _append_many(path: str, worker: int) -> None:
    log = TrailWriter(Path(path), KEY)
    for number in range(50):
        log.append([{"type": "action", "worker": worker, "n": number}] * 2)


@pytest.mark.slow
def test_concurrent_writers_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(str(path), w)) for w in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    report = verify_chain(path, KEYS)
    assert report.ok
    assert report.records == 300
