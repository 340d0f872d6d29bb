"""The study as the store holds it: what spends the budget, what is running, the rows.

Every runner on a study reads its counts, its best value and its leaderboard rows
from here, and here reads them from the storage, never from what one process
loaded when it started: any number of runners on one study agree on the budget
and each writes a CSV holding every trial. A finished trial never changes, so its
row is built once and kept; only the trials still running are read again.
"""

from __future__ import annotations

import bisect
import datetime
import math
import os
import socket
from typing import Any

from tuneyard.analysis.leaderboard import trial_row
from tuneyard.records.attributes import INTERRUPTED, RUNNER, SURPLUS, WARM
from tuneyard.store.optuna_adapter import storage_of, study_id_of, trial_id_of

# A RUNNING trial that names no runner and started this long ago was left by a dead one.
UNNAMED_STALE_SECONDS = 120


def is_interrupted(row: dict) -> bool:
    """A trial cut off by Ctrl-C or a dead runner: it runs again, so it spends no budget."""
    return row["status"] == "FAIL" and str(row.get("error") or "").startswith(INTERRUPTED)


def counts_toward_budget(row: dict) -> bool:
    """Finished trials spend the budget; ones interrupted by the user re-run, and ones carried
    from an earlier study (WARM) were not run here."""
    return row["status"] not in ("RUNNING", "WAITING", WARM) and not is_interrupted(row)


class Ledger:
    """Rows and budget counts of one study's trials, kept up to date from the store.

    Reading the store costs the same at trial 10 and at trial 10,000: the first
    refresh reads every trial once; after that only the trials still open (running or
    queued: the few in flight) and the ones added since are read, and the counts
    (budget spent, epochs, best value) are kept as trials finish, never rescanned.
    """

    def __init__(self, store: Any, budget: int | None = None):
        """`budget`: the trials every runner shares; a RUNNING trial past it is another
        runner's ask that its claim will record as surplus, so it is shown nowhere."""
        self.store = store
        self.budget = budget
        self._finished: dict[int, dict] = {}  # trial number -> row, never changes again
        self._live: dict[int, dict] = {}  # RUNNING trials, re-read at every refresh
        self._open: dict[int, int] = {}  # number -> trial id of RUNNING or WAITING trials
        self._trials: dict[int, Any] = {}  # RUNNING FrozenTrials (for orphans)
        self._surplus: set[int] = set()
        self._retried: set[int] = set()
        self._spent: list[int] = []  # sorted numbers of finished trials that spend the budget
        self._epochs = 0
        self._best: dict[bool, float | None] = {True: None, False: None}
        self._next = 0  # the first trial number not read yet
        self._waiting: set[int] = set()  # numbers of WAITING trials
        self._study_backend: str | None = None  # read once, by _backend()
        self._mine: set[int] = set()  # numbers of trials this runner started and has not told

    def refresh(self) -> None:
        """Read what changed in the store since the last refresh."""
        if self.store.study is None:
            return
        if not self._next and not self._open:
            for trial in self.store.trials():  # the first read: everything, at once
                self._note(trial)
                self._next = trial.number + 1
            return
        storage, study_id = storage_of(self.store.study), study_id_of(self.store.study)
        with self.store.guard():
            if self._waiting:
                self._read_open_at_once()
            else:  # the few trials in flight elsewhere, one read each (this runner tells its own)
                for number, trial_id in list(self._open.items()):
                    if number not in self._mine:
                        self._note(storage.get_trial(trial_id))
            while True:
                try:
                    trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, self._next)
                except KeyError:
                    break
                self._note(storage.get_trial(trial_id))
                self._next += 1

    def _read_open_at_once(self) -> None:
        """With trials queued (retries) the open trials may be many: one read of them all
        (Optuna's cache fetches only unfinished trials), then the ones that have finished
        since, which that read left in the cache."""
        # heavy: optuna
        from optuna.trial import TrialState

        storage, seen = storage_of(self.store.study), set()
        for trial in self.store.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,
                                                                         TrialState.WAITING)):
            if trial.number < self._next:  # a newer one is read in order, below
                self._note(trial)
                seen.add(trial.number)
        for number, trial_id in list(self._open.items()):
            if number not in seen:
                self._note(storage.get_trial(trial_id))

    def _backend(self) -> str | None:
        """The study's backend, named on the rows of trials that carry none of their own
        (read from the store once: a study's backend never changes)."""
        if self._study_backend is None and getattr(self.store, "study", None) is not None:
            self._study_backend = self.store.config.get("backend") or ""
        return self._study_backend or None

    def note(self, trial: Any) -> None:
        """Take in a trial this runner has just written (no need to read it back).

        The next refresh still reads every trial number before it: another runner's
        trial may have been numbered first meanwhile."""
        self._mine.discard(trial.number)
        self._note(trial)
        if trial.number == self._next:  # every trial before it has been read
            self._next += 1

    def started(self, trial: Any) -> None:
        """Take in a RUNNING trial this runner has just started; refreshes do not read it
        again until this runner notes how it ended. (Another runner may fail it meanwhile,
        its heartbeat late: telling it then finds that, and notes the trial as stored.)"""
        self.note(trial)
        self._mine.add(trial.number)

    def _note(self, trial: Any) -> None:
        number, state = trial.number, trial.state.name
        if number in self._finished:
            return
        self._live.pop(number, None)
        self._trials.pop(number, None)
        self._waiting.discard(number)
        for retried in trial.system_attrs.get("retry_history", []):
            self._retire(retried)
        if state in ("RUNNING", "WAITING"):
            self._open[number] = trial_id_of(trial)
            if state == "WAITING":
                self._waiting.add(number)
            if state == "RUNNING" and not trial.user_attrs.get(SURPLUS):
                self._live[number] = trial_row(trial, backend=self._backend())
                self._trials[number] = trial
            return
        self._open.pop(number, None)
        if trial.user_attrs.get(SURPLUS):
            self._surplus.add(number)
            return
        row = self._finished[number] = trial_row(trial, backend=self._backend())
        if number not in self._retried and counts_toward_budget(row):
            self._count(number, row, +1)

    def _retire(self, number: int) -> None:
        """Trial `number` failed and was queued again: its retry spends the budget instead."""
        if number in self._retried:
            return
        self._retried.add(number)
        row = self._finished.get(number)
        if row is not None and counts_toward_budget(row):
            self._count(number, row, -1)

    def _count(self, number: int, row: dict, sign: int) -> None:
        if sign > 0:
            bisect.insort(self._spent, number)
        else:
            self._spent.remove(number)  # a retried FAIL: it has no value to take back
        self._epochs += sign * int(row["epochs"] or 0)
        value = row["value"]
        if sign > 0 and row["status"] == "COMPLETE" and value is not None and math.isfinite(value):
            for maximize, best in self._best.items():
                better = best is None or (value > best if maximize else value < best)
                self._best[maximize] = value if better else best

    @property
    def waiting(self) -> int:
        """Trials queued in the study and not yet claimed (retries of failed trials)."""
        return len(self._waiting)

    @property
    def rows(self) -> list[dict]:
        """Leaderboard rows: finished and running trials, in trial order."""
        return sorted([*self._finished.values(), *self._shown_live().values()], key=lambda r: r["trial"])

    def row_count(self) -> int:
        """Rows the leaderboard has: finished and running trials (surplus ones are not rows)."""
        return len(self._finished) + len(self._shown_live())

    def row(self, number: int) -> dict:
        """The row of trial `number`."""
        return self._finished.get(number) or self._live[number]

    def claimed_count(self) -> int:
        """Trials that spend the budget, finished or still running."""
        return len(self._spent) + len(self._live)

    def claimed(self) -> list[int]:
        """Trial numbers that spend the budget, finished or still running, in order."""
        return sorted([*self._spent, *self._live])

    def within_budget(self, number: int, budget: int) -> bool:
        """Whether trial `number` is one of the first `budget` claimed trials."""
        before = bisect.bisect_left(self._spent, number) + sum(n < number for n in self._live)
        return (number in self._live or number in self._finished) and before < budget

    def done_count(self) -> int:
        """Finished trials that spend the budget."""
        return len(self._spent)

    def running_elsewhere(self, mine: set[int]) -> int:
        """Trials running in other processes (not among `mine`)."""
        return len(set(self._shown_live()) - mine)

    def _shown_live(self) -> dict[int, dict]:
        """The running trials a leaderboard shows: not those past the budget, which never
        train (their runner's claim finds the budget taken and records them as surplus)."""
        if self.budget is None or len(self._spent) + len(self._live) <= self.budget:
            return self._live
        return {n: row for n, row in self._live.items() if self.within_budget(n, self.budget)}

    def epochs_spent(self) -> int:
        """Epochs trained by the finished trials that spend the budget (repeats included)."""
        return self._epochs

    def best(self, maximize: bool) -> float | None:
        """The best objective among completed trials, or None."""
        return self._best[maximize]

    def all_failed(self) -> str | None:
        """ "all N trials failed; first error: ..." when every finished trial failed, else None."""
        spent = [self._finished[n] for n in self._spent]
        if not spent or any(r["status"] != "FAIL" for r in spent):
            return None
        return f"all {len(spent)} trials failed; first error: {spent[0]['error']}"

    def orphans(self) -> list[Any]:
        """RUNNING trials whose runner process is gone (killed, crashed): they will never end."""
        now = datetime.datetime.now()
        out = []
        for trial in self._trials.values():
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
