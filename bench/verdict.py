"""A bench's last line and exit status: `verdict NAME: ... -> met` (exit 0) or `... -> NOT met` (exit 1).

Every script under bench/ ends through `finish()`, so a run that misses its target fails
where it runs (make, CI, a shell loop) instead of printing a target and exiting 0. A check
is one figure against its target; the verdict is met only when every check is met, and a
bench that measured nothing (no checks) is not met.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import NoReturn


@dataclass(frozen=True)
class Check:
    """One figure against its target, e.g. `Check("ratio tune/bare 1.105 (target <= 1.03)", False)`.

    `why` is said after the result when met/NOT met alone would mislead ("inconclusive: ...").
    """

    what: str
    met: bool
    why: str = ""

    def __str__(self) -> str:
        return f"{self.what}: {'met' if self.met else 'NOT met'}" + (f" ({self.why})" if self.why else "")


def all_met(checks: list[Check]) -> bool:
    """Whether the bench met its target: every check met, and at least one made."""
    return bool(checks) and all(check.met for check in checks)


def line(bench: str, checks: list[Check]) -> str:
    """The verdict line: every check, then the whole."""
    parts = "; ".join(str(check) for check in checks) or "nothing measured"
    return f"verdict {bench}: {parts} -> {'met' if all_met(checks) else 'NOT met'}"


def finish(bench: str, checks: list[Check]) -> NoReturn:
    """Print the verdict line last and exit 0 when it is met, 1 when it is not."""
    print(line(bench, checks), flush=True)
    sys.exit(0 if all_met(checks) else 1)
