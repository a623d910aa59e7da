"""Baseline files: the fingerprints a team has accepted (rotated, or known test keys).

A baseline is JSON, so it diffs well in review::

    {"schema_version": 1, "fingerprints": [{"fingerprint": "…", "rule": "…"}]}

Fingerprints are the 4 public hex digits of `cio_sec.redact.public_fingerprint`. A baseline
written by an earlier version holds 16 digits of the same SHA-256, which still apply:
their first 4 digits are the fingerprint (the next `--write-baseline` drops the rest).

An entry accepts a finding of its own rule only: 4 digits are shared by one key in 65,536,
and a new leak of another kind must not hide behind an accepted one. An entry without a
rule (hand-written, or from an earlier version) accepts its fingerprint under any rule.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path

from cio_sec.atomicfile import atomic_write
from cio_sec.errors import NO_ROOM_ERRNOS, NO_ROOM_HINT, InputError, OutputWriteError
from cio_sec.redact import PUBLIC_FINGERPRINT_BITS
from cio_sec.scan_repo.report import Leak

Accepted = frozenset[tuple[str | None, str]]
"""(rule, fingerprint) pairs; a None rule accepts the fingerprint under any rule."""

_FINGERPRINT = re.compile(r"[0-9a-f]{4}|[0-9a-f]{16}")
_DIGITS = PUBLIC_FINGERPRINT_BITS // 4


def load_baseline(path: Path) -> Accepted:
    """Return the accepted (rule, fingerprint) pairs in ``path``.

    Raises:
        InputError: the file cannot be read, is not JSON, or has no valid fingerprint list.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            "baseline file not found",
            path=path,
            hint="create it with `cio-sec scan-repo --baseline FILE --write-baseline`",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the baseline: {exc.__class__.__name__}", path=path) from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", path=path, line=exc.lineno) from None
    entries = document.get("fingerprints") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise InputError('expected an object with a "fingerprints" list', path=path)
    accepted: set[tuple[str | None, str]] = set()
    for entry in entries:
        value = entry.get("fingerprint") if isinstance(entry, dict) else entry
        if not isinstance(value, str) or not _FINGERPRINT.fullmatch(value):
            raise InputError(
                "not a fingerprint (4, or 16 from an earlier version, lowercase hex digits)",
                path=path,
            )
        rule = entry.get("rule") if isinstance(entry, dict) else None
        if rule is not None and not isinstance(rule, str):
            raise InputError('a "rule" that is not text', path=path)
        accepted.add((rule, value[:_DIGITS]))
    return frozenset(accepted)


def is_accepted(finding: Leak, accepted: Accepted) -> bool:
    """Return whether a baseline entry accepts ``finding`` (its rule, or any rule)."""
    any_rule = (None, finding.fingerprint)
    return (finding.rule, finding.fingerprint) in accepted or any_rule in accepted


def write_baseline(path: Path, findings: Iterable[Leak]) -> None:
    """Replace ``path`` atomically with every finding's fingerprint (sorted, one each).

    A reader, or a crash, sees the old baseline or the new one, never half of one. A
    symlink at ``path`` is refused rather than followed: the link could point anywhere,
    and a baseline is written by CI in checkouts that anyone may have changed.

    Raises:
        InputError: ``path`` is a symlink, or the file cannot be written.
        OutputWriteError: no room to write it (a full disk, a quota, a size limit).
    """
    entries = sorted({(f.fingerprint, f.rule) for f in findings})
    document = {
        "schema_version": 1,
        "fingerprints": [{"fingerprint": fp, "rule": rule} for fp, rule in entries],
    }
    data = (json.dumps(document, indent=2) + "\n").encode("utf-8")
    mode = writable_mode(path)
    try:
        atomic_write(path, data, prepare=lambda fd: os.fchmod(fd, mode))
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        if exc.errno in NO_ROOM_ERRNOS:  # the machine needs room; the input is fine
            raise OutputWriteError(
                f"cannot write the baseline: {reason}; the old baseline was left as it was",
                path=path,
                hint=NO_ROOM_HINT,
            ) from exc
        raise InputError(f"cannot write the baseline: {reason}", path=path) from exc


def writable_mode(path: Path) -> int:
    """The permissions to write ``path`` with: the existing file's, or 0644 for a new one.

    Checked before a scan too, so that a long scan does not end in this refusal.

    Raises:
        InputError: ``path`` is a symlink.
    """
    try:
        status = path.lstat()
    except OSError:
        return 0o644
    if stat.S_ISLNK(status.st_mode):
        raise InputError(
            "refusing to write the baseline through a symlink",
            path=path,
            hint="pass the path of the file itself, or remove the link",
        )
    return stat.S_IMODE(status.st_mode)
