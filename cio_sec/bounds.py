"""The bounds of every numeric setting, shared by its command-line option and its profile key.

One table, so the two cannot drift: ``concurrency = 100000000000000000000`` in a profile
once passed while ``--concurrency`` stopped at 256. Imports nothing: the CLI reads it at
start-up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Bound:
    """The closed range a numeric setting must lie in, and what its unit is called."""

    minimum: int | float
    maximum: int | float
    unit: str

    def contains(self, value: float) -> bool:
        """Whether ``value`` is a finite number inside the range.

        NOTE: TOML integers have no size limit, and ``math.isfinite`` raises on an integer
        too large for a float: integers are compared as they are.
        """
        if isinstance(value, float) and not math.isfinite(value):
            return False
        return self.minimum <= value <= self.maximum

    def describe(self) -> str:
        """``between 1 and 256 (requests in flight)``, for error messages."""
        return f"between {self.minimum:g} and {self.maximum:g} ({self.unit})"


#: Setting name (as in a profile) → its bound. The erase options ``--rate`` and
#: ``--concurrency`` take their ``min``/``max`` from here too.
SETTING_BOUNDS: dict[str, Bound] = {
    "rate": Bound(0.1, 10_000, "requests per second"),
    "concurrency": Bound(1, 256, "requests in flight"),
    "timeout": Bound(0.1, 600, "seconds per request"),
    "verify_rate": Bound(0.1, 1000, "read-backs per second"),
}

RATE = SETTING_BOUNDS["rate"]
CONCURRENCY = SETTING_BOUNDS["concurrency"]
TIMEOUT = SETTING_BOUNDS["timeout"]
VERIFY_RATE = SETTING_BOUNDS["verify_rate"]
"""App API read-backs per second when erase verifies (Customer.io allows 10)."""
VERIFY_WINDOW = Bound(0, 86400, "seconds")
"""``--verify-window``: how long erase reads a person still there back again."""
DEFAULT_VERIFY_WINDOW = 600.0
