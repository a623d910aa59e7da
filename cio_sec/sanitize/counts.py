"""What sanitising changed: counts by attribute path and action, never a value.

The engine's walkers count per record shape (a :class:`Tally` per plan) and settle into
:class:`SanitizeCounts` when asked, so the hot loop spends no Counter update per change.
The underscored methods of :class:`SanitizeCounts` are for the engine only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import ClassVar

#: Distinct attribute paths counted by name; keys that are data (ids, emails) would grow the
#: counts without bound and put the data in the report, so later paths share one entry.
_PATH_LIMIT = 1_000
OTHER_PATHS = "<other paths>"
#: The action noted for an existing ``<name>_hash`` that a new pseudonym replaces.
OVERWRITE = "overwrite"
#: (attribute path, action): a key of ``SanitizeCounts.changes``.
Note = tuple[str, str]


class Tally:
    """How many mappings one plan changed; its notes are added to the counts when settled.

    Counting per plan rather than per attribute keeps a Counter update per change (a
    tuple hash and a lookup, several a record) out of the hot loop.
    """

    __slots__ = ("notes", "uses")

    def __init__(self, notes: tuple[Note, ...]) -> None:
        self.notes = notes
        self.uses = 0

    def settle(self, counts: SanitizeCounts) -> None:
        """Add the notes once per use to ``counts``, and start again from zero."""
        if self.uses:
            for note in self.notes:
                counts._add(note, self.uses)
            self.uses = 0


@dataclass(eq=False)
class SanitizeCounts:
    """What sanitising changed, by attribute path and action; never any value."""

    records: int = 0
    changed_records: int = 0
    invalid: int = 0
    """Records skipped as malformed (``--skip-invalid``)."""
    detections: Counter[str] = field(default_factory=Counter)
    """Detector name (a :class:`PiiKind` value) → values redacted."""
    _settled: Counter[Note] = field(default_factory=Counter, repr=False)
    _named: set[Note] = field(default_factory=set, repr=False)
    """The notes counted by their own path (at most ``_PATH_LIMIT``)."""
    _open: list[list[Tally]] = field(default_factory=list, repr=False)
    """The tallies of walkers still running on these counts."""

    __hash__: ClassVar[None]  # type: ignore[assignment]

    @property
    def changes(self) -> Counter[Note]:
        """(attribute path, ``drop``/``pseudonymise``/``redact``) → how many times.

        After 1,000 distinct entries, new paths are counted under ``<other paths>``.
        """
        for tallies in self._open:
            for tally in tallies:
                tally.settle(self)
        return self._settled

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SanitizeCounts):
            return NotImplemented
        return self.to_json() == other.to_json()

    def _admit(self, note: Note) -> Note:
        """The entry ``note`` is counted under: its own while fewer than the limit are named.

        Paths are admitted in the order they are first seen, including the paths of a plan
        whose counts are only settled later.
        """
        named = self._named
        if note in named or len(named) < _PATH_LIMIT:
            named.add(note)
            return note
        return (OTHER_PATHS, note[1])

    def _add(self, note: Note, count: int) -> None:
        self._settled[self._admit(note)] += count

    def _watch(self, tallies: list[Tally]) -> None:
        self._open.append(tallies)

    def _release(self, tallies: list[Tally]) -> None:
        """Settle a finished walker's tallies and stop watching them (constant memory)."""
        for tally in tallies:
            tally.settle(self)
        self._open = [watched for watched in self._open if watched is not tallies]

    @property
    def overwritten(self) -> dict[str, int]:
        """Attribute path → records whose existing value there a pseudonym replaced."""
        return {path: n for (path, action), n in self.changes.items() if action == OVERWRITE}

    @property
    def changed(self) -> bool:
        """Whether anything was (or would be) changed."""
        return bool(self.changes)

    def to_json(self) -> dict[str, object]:
        """Counts for the JSON report."""
        return {
            "records": self.records,
            "changed_records": self.changed_records,
            "invalid": self.invalid,
            "attributes": [
                {"attribute": path, "action": action, "count": count}
                for (path, action), count in sorted(self.changes.items())
            ],
            "detections": dict(sorted(self.detections.items())),
        }
