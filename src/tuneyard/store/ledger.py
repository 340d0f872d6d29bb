"""The study as the store holds it: what spends the budget, what is running, the rows.

Every runner on a study reads its counts, its best value and its leaderboard rows
from here, and here reads them from the storage, never from what one process
loaded when it started: any number of runners on one study agree on the budget
and each writes a CSV holding every trial. A finished trial never changes, so its
row is built once and kept; only the trials still running are read again.
"""

from __future__ import annotations

import math
import os
import socket
from typing import Any

from tuneyard.engine.heartbeat import SURPLUS

INTERRUPTED = "interrupted"
RUNNER = "runner"  # user attribute: "host:pid" of the process that asked for the trial
# A RUNNING trial that names no runner and started this long ago was left by a dead one.
UNNAMED_STALE_SECONDS = 120


def this_runner() -> str:
    """This process, as written on the trials it asks for."""
    return f"{socket.gethostname()}:{os.getpid()}"


def is_interrupted(row: dict) -> bool:
    """A trial cut off by Ctrl-C or a dead runner: it runs again, so it spends no budget."""
    return row["status"] == "FAIL" and str(row.get("error") or "").startswith(INTERRUPTED)


def counts_toward_budget(row: dict) -> bool:
    """Finished trials spend the budget; ones interrupted by the user re-run."""
    return row["status"] not in ("RUNNING", "WAITING") and not is_interrupted(row)


class Ledger:
    """Rows of one study's trials, refreshed from the store on demand."""

    def __init__(self, store: Any):
        self.store = store
        self._finished: dict[int, dict] = {}  # trial number -> row, never changes again
        self._live: dict[int, dict] = {}  # RUNNING trials, re-read at every refresh
        self._surplus: set[int] = set()
        self._retried: set[int] = set()
        self._trials: dict[int, Any] = {}
        self.waiting = 0  # trials queued in the study (a shared grid's points, retries)

    def refresh(self) -> list[dict]:
        """Read the trials the store has now; returns the leaderboard rows."""
        from tuneyard.analysis.leaderboard import trial_row

        self._live, self.waiting = {}, 0
        for trial in self.store.trials():
            number, state = trial.number, trial.state.name
            self.waiting += state == "WAITING"
            if number in self._finished or state == "WAITING":
                continue
            self._retried.update(trial.system_attrs.get("retry_history", []))
            if trial.user_attrs.get(SURPLUS):
                self._surplus.add(number)
                continue
            if state == "RUNNING":
                self._live[number] = trial_row(trial)
                self._trials[number] = trial
            else:
                self._finished[number] = trial_row(trial)
        return self.rows

    @property
    def rows(self) -> list[dict]:
        """Leaderboard rows: finished and running trials, in trial order."""
        return sorted([*self._finished.values(), *self._live.values()], key=lambda r: r["trial"])

    def claimed(self) -> list[int]:
        """Trial numbers that spend the budget, finished or still running, in order."""
        numbers = [n for n, r in self._finished.items() if counts_toward_budget(r) and n not in self._retried]
        return sorted([*numbers, *self._live])

    def within_budget(self, number: int, budget: int) -> bool:
        """Whether trial `number` is one of the first `budget` claimed trials."""
        return number in self.claimed()[:budget]

    def done_count(self) -> int:
        """Finished trials that spend the budget."""
        return sum(counts_toward_budget(r) and n not in self._retried for n, r in self._finished.items())

    def running_elsewhere(self, mine: set[int]) -> int:
        """Trials running in other processes (not among `mine`)."""
        return len(set(self._live) - mine)

    def epochs_spent(self) -> int:
        """Epochs trained by the finished trials that spend the budget (repeats included)."""
        return sum(int(r["epochs"] or 0) for r in self._finished.values() if counts_toward_budget(r))

    def best(self, maximize: bool) -> float | None:
        """The best objective among completed trials, or None."""
        values = [
            r["value"]
            for r in self._finished.values()
            if r["status"] == "COMPLETE" and r["value"] is not None and math.isfinite(r["value"])
        ]
        if not values:
            return None
        return max(values) if maximize else min(values)

    def all_failed(self) -> str | None:
        """ "all N trials failed; first error: ..." when every finished trial failed, else None."""
        spent = sorted(
            (r for r in self._finished.values() if counts_toward_budget(r)), key=lambda r: r["trial"]
        )
        if not spent or any(r["status"] != "FAIL" for r in spent):
            return None
        return f"all {len(spent)} trials failed; first error: {spent[0]['error']}"

    def orphans(self) -> list[Any]:
        """RUNNING trials whose runner process is gone (killed, crashed): they will never end."""
        import datetime

        now = datetime.datetime.now()
        out = []
        for number, trial in self._trials.items():
            if number not in self._live:
                continue
            runner = trial.user_attrs.get(RUNNER)
            if runner is None:
                started = trial.datetime_start or now
                if (now - started).total_seconds() > UNNAMED_STALE_SECONDS:
                    out.append(trial)
            elif _dead_here(runner):
                out.append(trial)
        return out


def _dead_here(runner: str) -> bool:
    """Whether `runner` ("host:pid") was a process on this machine that no longer runs."""
    host, _, pid = runner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False
