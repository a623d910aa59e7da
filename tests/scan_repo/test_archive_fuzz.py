"""Fuzzing the archive layer: 10,000 mutated zip, tar, tar.gz, gz and nested archives.

The generator is seeded (`SEED`), so a failure names a case that can be rebuilt exactly:
``mutated_archive(random.Random(SEED), n)`` for the ``n`` it reports. Change `SEED` to
explore further. The bulk calls `scannable_parts` directly; a handful of the mutants
that made the standard library raise go through the CLI on a real repository.
"""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_sec.errors import ExitCode
from cio_sec.scan_repo import archives, scan_bytes
from tests.scan_repo import archive_samples as samples
from tests.support.cli import CliHarness
from tests.support.git_repos import ENV_PAIR, TRACK_KEY, make_repo

pytestmark = pytest.mark.slow

SEED = 20261207
CASES = 10_000
PAIR_RULE = "customerio-track-key-pair"
KEY = samples.SECRET_MEMBER


def _seeds() -> list[bytes]:
    text = {"a.env": KEY, "docs/readme.txt": samples.FILLER, "dir/": b""}
    tar = samples.tar_bytes({"a.env": KEY, "b.txt": samples.FILLER})
    return [
        samples.zip_bytes(text),
        samples.zip_bytes(text, zipfile.ZIP_STORED),
        samples.zip_bytes({"a.env": KEY}, zipfile.ZIP_BZIP2),
        samples.zip_bytes({"a.env": KEY}, zipfile.ZIP_LZMA),
        tar,
        samples.gzip_bytes(tar),
        samples.gzip_bytes(KEY + samples.FILLER),
        samples.gzip_bytes(KEY) + samples.gzip_bytes(samples.FILLER),  # two gzip members
        samples.zip_bytes({"in.tar": tar, "in.gz": samples.gzip_bytes(KEY)}),
        samples.gzip_bytes(samples.tar_bytes({"n.zip": samples.zip_bytes({"a.env": KEY})})),
    ]


SEEDS = _seeds()
_BOUNDARY = [0, 1, 0x7F, 0x80, 0xFF]
_BOUNDARY_WORDS = [0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    """One to four byte-level mutations of the kinds that break readers differently."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(out)) if out else 0
        kind = rng.random()
        if kind < 0.35:
            out[at : at + 1] = bytes([rng.randrange(256)])
        elif kind < 0.5:
            out[at : at + 1] = bytes([rng.choice(_BOUNDARY)])
        elif kind < 0.65:  # a size, offset or count field set to a boundary value
            out[at : at + 4] = rng.choice(_BOUNDARY_WORDS).to_bytes(4, "little")
        elif kind < 0.75:
            del out[at : at + rng.randint(1, 64)]
        elif kind < 0.85:
            del out[at:]
        elif kind < 0.95:
            out[at:at] = rng.randbytes(rng.randint(1, 16))
        else:
            out[at:at] = out[at : at + rng.randint(1, 512)]
        if not out:
            out = bytearray(data[:4])
    return bytes(out)


def mutated_archive(rng: random.Random, case: int) -> tuple[bytes, bool]:
    """Case ``case`` of the run: ``(archive, holds an intact key member beside the damage)``.

    One case in five is nested: a mutated archive inside an intact zip or tar.gz, next to
    an intact member holding the key, which must always be found.
    """
    del case  # the rng's state is the case: draw them in order
    inner = _mutate(rng, rng.choice(SEEDS))
    if rng.random() >= 0.2:
        return inner, False
    members = {"damaged.bin": inner, "intact.env": KEY}
    outer = rng.choice(["zip", "stored", "tar.gz"])
    if outer == "tar.gz":
        return samples.gzip_bytes(samples.tar_bytes(members)), True
    method = zipfile.ZIP_STORED if outer == "stored" else zipfile.ZIP_DEFLATED
    return samples.zip_bytes(members, method), True


def test_ten_thousand_mutated_archives_never_raise_and_stay_bounded() -> None:
    rng = random.Random(SEED)
    nested_with_key = 0
    for case in range(CASES):
        data, key_beside = mutated_archive(rng, case)
        skipped: list[archives.Skipped] = []
        try:
            parts = list(archives.scannable_parts(data, skipped))
        except Exception as exc:  # noqa: BLE001  # pragma: no cover - name the case that failed
            pytest.fail(f"case {case} (SEED {SEED}) raised {exc!r}")
        assert sum(len(part) for _, part in parts) <= len(data) + archives.MAX_BLOB_BYTES
        assert len(skipped) <= archives.MAX_SKIPPED + 1
        assert all(0 < len(item.reason) <= 300 for item in skipped), case
        if key_beside:
            nested_with_key += 1
            found = {m.rule for member, part in parts for m in scan_bytes(part)}
            assert PAIR_RULE in found, f"case {case}: the intact member's key was not found"
    assert nested_with_key > CASES // 10  # the nested half of the property was exercised


@given(magic=st.sampled_from([b"PK\x03\x04", b"\x1f\x8b", b""]), body=st.binary(max_size=2048))
def test_any_bytes_behind_an_archive_signature_are_read_without_raising(
    magic: bytes, body: bytes
) -> None:
    data = magic + body
    if not magic and len(data) > 262:
        data = data[:257] + b"ustar" + data[262:]
    skipped: list[archives.Skipped] = []
    for member, part in archives.scannable_parts(data, skipped):
        assert member is None or isinstance(member, str)
        assert isinstance(part, bytes)


def _made_the_standard_library_raise(data: bytes) -> bool:
    """Whether the reader before this fix raised something it did not catch."""
    try:
        samples.read_all_with_the_standard_library(data)
    except (ValueError, NotImplementedError, IndexError):  # UnicodeDecodeError is a ValueError
        return True
    except Exception:  # noqa: BLE001 - the ones the old reader caught
        return False
    return False


def _crashers(count: int) -> list[bytes]:
    rng = random.Random(SEED + 1)
    found: list[bytes] = []
    while len(found) < count:
        data = _mutate(rng, rng.choice(SEEDS[:5]))
        if _made_the_standard_library_raise(data):
            found.append(data)
    return found


@pytest.mark.parametrize("damaged", _crashers(5), ids=lambda d: f"{len(d)}-bytes")
def test_a_mutant_that_crashed_the_old_reader_does_not_hide_the_key_beside_it(
    run_cli: CliHarness, tmp_path: Path, watched_secrets: set[str], damaged: bytes
) -> None:
    watched_secrets.add(TRACK_KEY)
    repo = make_repo(tmp_path)
    repo.commit("keys", {"vendor/archive.bin": damaged, "config/.env": ENV_PAIR})
    document = run_cli("scan-repo", str(repo.path), "-f", "json", expect=ExitCode.CHECK_FAILED).json
    assert (PAIR_RULE, "config/.env") in [(f["rule"], f["path"]) for f in document["findings"]]


# Run as a script, it prints how long the bulk takes (the CI budget is 30 s with coverage).
if __name__ == "__main__":  # pragma: no cover
    import time

    started = time.perf_counter()
    test_ten_thousand_mutated_archives_never_raise_and_stay_bounded()
    print(f"{CASES} cases in {time.perf_counter() - started:.2f} s")  # noqa: T201
