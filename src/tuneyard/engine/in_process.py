"""The executors that run no process of their own: a trial in this process, and none at all.

`InProcess` runs one trial at a time here, when its result is asked for. A trial past
its time limit cannot be killed here: an exception is raised into it (deadline.py).
Worker processes are executors.py's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from tuneyard.engine.deadline import TrialTimedOut, earliest, stop_at
from tuneyard.engine.epochs import EpochHook, TimeBudgetSpent
from tuneyard.errors import named
from tuneyard.records.trial import Proposal, TrialResult, failed

# Keras' random seed, its session and TensorFlow's graphs are global to a process: two
# threads training at once (two `tuneyard.search` calls) would draw from each other's seeds
# and get different results for the same trial. In-process trials take turns.
_TRAINING = threading.Lock()


class InProcess:
    """The one-worker executor: a trial runs here, when its result is asked for.

    A trial past `trial_timeout` seconds is stopped (TrialTimedOut) and recorded FAIL;
    past `cut_at` (--timeout's cut) TimeBudgetSpent ends the sweep, the trial interrupted.
    """

    def __init__(self, trainer: Any, callbacks: Callable[[Proposal], list],
                 trial_timeout: float | None = None, device: str = "cpu"):
        self.trainer, self.callbacks = trainer, callbacks
        self.device = device  # what its trials record: this process's GPUs, or the CPU
        self.trial_timeout = trial_timeout
        self.cut_at: float | None = None  # monotonic time past which the running trial is cut
        self.task: tuple[Proposal, float] | None = None

    @property
    def running(self) -> int:
        """Trials handed out and not yet returned."""
        return int(self.task is not None)

    def has_room(self) -> bool:
        """Whether another trial can start now."""
        return self.task is None

    def submit(self, proposal: Proposal, more: bool = True) -> None:
        """Queue a trial (`more` matters only to worker pools)."""
        self.task = (proposal, time.perf_counter())

    def next_result(self) -> tuple[Proposal, TrialResult]:
        """Run the queued trial; KeyboardInterrupt or a cut leaves it in `abandon()`."""
        proposal = self.task[0]
        epochs = _EpochCount()
        if hasattr(self.trainer, "prepare"):
            self.trainer.prepare()  # imports TensorFlow before the clock starts: never cut mid-import
        with _TRAINING:
            started = time.monotonic()
            limit = started + self.trial_timeout if self.trial_timeout else None
            try:
                with stop_at(earliest(limit, self.cut_at), self._which_limit):
                    result = self.trainer.run(proposal, [*self.callbacks(proposal), EpochHook(epochs)])
            except TrialTimedOut:
                result = failed(timed_out(self.trial_timeout), time.monotonic() - started,
                                epochs_run=epochs.count)
        self.task = None
        result.device = result.device or self.device
        return proposal, result

    def _which_limit(self) -> type[BaseException]:
        past_cut = self.cut_at is not None and time.monotonic() >= self.cut_at
        return TimeBudgetSpent if past_cut else TrialTimedOut

    def abandon(self) -> list[tuple[Proposal, float]]:
        """The trials cut off, with the seconds they ran."""
        tasks = [(self.task[0], time.perf_counter() - self.task[1])] if self.task else []
        self.task = None
        return tasks

    def close(self) -> None:
        """Nothing to release."""


class _EpochCount:
    """Counts the epochs a trial reports (what a trial stopped at its limit has trained)."""

    def __init__(self):
        self.count = 0

    def __call__(self, epoch: int, epochs: int, logs: dict) -> None:
        self.count += 1


def timed_out(seconds: float) -> str:
    """The error recorded for a trial stopped at --trial-timeout."""
    return (f"stopped: the trial ran past {named('trial_timeout')} ({duration_text(seconds)}); "
            "raise the limit if trials of this size need longer")


def duration_text(seconds: float) -> str:
    """Seconds as the options write them: 0.5s, 45s, 20m, 1h30m."""
    if seconds < 60:
        return f"{seconds:g}s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    parts = [(hours, "h"), (minutes, "m"), (secs, "s")]
    return "".join(f"{value}{unit}" for value, unit in parts if value)


class Idle:
    """The executor of a study with nothing left to run: no data loaded, no process started."""

    running = 0

    def has_room(self) -> bool:
        """Never: the budget is spent."""
        return False

    def abandon(self) -> list[tuple[Proposal, float]]:
        """Nothing was running."""
        return []

    def close(self) -> None:
        """Nothing to release."""
