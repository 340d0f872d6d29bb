"""Tracking: a sweep's trials written to TensorBoard event files and to MLflow (opt-in).

Where the writing happens is chosen so that nothing is lost in any mode: every line goes
from the process that runs the sweep loop (the driver), never from the process that
trains. Per-epoch logs already stream to the driver from worker processes (a pipe) and Ray
actors (engine/executors.py, ray_executor.py) before the trial's result does, so the epochs
a trial trained are written even when its process is killed at --trial-timeout; the final
state is written where the store records the trial (`Sweep._record`), so the tracked
status is the stored one; and the runs are closed where the sweep ends, however it ends
(finished, failed, Ctrl-C, SIGTERM), so no MLflow run is left RUNNING. One writer per
trial's files also means no two processes ever write one file: each trial has its own run
folder, DIR/<study>/trial-N, written by the one process that handed the trial out. Trials
train without importing TensorBoard or MLflow.

A sink that fails mid-sweep (a full disk, the MLflow server gone) is said once and
dropped: the store still holds every result, and the sweep goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tuneyard.engine.tracking import FAILED, outcome
from tuneyard.records.trial import TrialResult
from tuneyard.store.urls import mask_secrets


class Tracking:
    """The trackers a sweep writes to (none, TensorBoard, MLflow or both), as one.

    The sweep calls `connect` before any data loads (a bad folder or URI stops it there),
    `study_opened` once the study exists, then per trial `trial_started`, `epoch` and
    `trial_ended`, and `close` when the sweep ends, however it ends.
    """

    def __init__(self, sinks: list[Any]):
        self.sinks = sinks
        self.warn: Callable[[str], None] = lambda text: None  # the sweep's events.message
        self._steps: dict[int, _Steps] = {}

    @classmethod
    def of(cls, options: Any, study: str) -> Tracking:
        """The trackers `options` ask for (their libraries imported only then)."""
        sinks: list[Any] = []
        if options.tensorboard is not None:
            # heavy: tensorboard (its protos; a sweep that tracks nothing never loads them)
            from tuneyard.engine.tensorboard_sink import TensorBoardSink

            sinks.append(TensorBoardSink(Path(options.tensorboard), study))
        if options.mlflow is not None:
            # heavy: mlflow (seconds to import: only a sweep that asks for it pays that)
            from tuneyard.engine.mlflow_sink import MlflowSink

            sinks.append(MlflowSink(str(options.mlflow), study))
        return cls(sinks)

    def __bool__(self) -> bool:
        return bool(self.sinks)

    def connect(self, new_study: bool, shared: bool = False) -> None:
        """Reach every tracker now: a folder or URI that cannot be used is one line.
        `new_study`: the study does not exist yet (or --fresh); `shared`: other processes
        run its trials too."""
        for sink in self.sinks:
            sink.connect(new_study, shared)

    def study_opened(self, study: Any, space: Any, config: dict, budget: int) -> None:
        """The study exists: its description (MLflow's parent run, TensorBoard's HParams
        config)."""
        self._each("study_opened", study, space, config, budget)

    def trial_started(self, number: int, params: dict, epochs: int) -> None:
        """A trial was handed out with `params`, to train up to epoch `epochs`."""
        self._steps[number] = _Steps()
        self._each("trial_started", number, params, epochs)

    def epoch(self, number: int, epoch: int, epochs: int, logs: dict) -> None:
        """A running trial finished `epoch` (its repeats continue the steps: 1..E, E+1..2E)."""
        steps = self._steps.setdefault(number, _Steps())
        self._each("epoch", number, steps.step(epoch, epochs), logs)

    def trial_ended(self, number: int, result: TrialResult, state: str, diagnosis: str = "") -> None:
        """A trial was recorded with `state` (the leaderboard's status)."""
        steps = self._steps.pop(number, None)
        last = steps.last if steps else max(result.epochs_run, 0)
        self._each("trial_ended", number, result, state, outcome(result), last, diagnosis)

    def close(self, how: str, best: dict | None, best_value: float | None) -> None:
        """The sweep ended `how` (ENDED, FAILED or STOPPED); `best`: the kept model
        (store/best_model.saved_best). Each tracker is closed even if another fails."""
        self._each("close", how, best, best_value)
        self.sinks = []

    def _each(self, method: str, *args: Any) -> None:
        for sink in list(self.sinks):
            try:
                getattr(sink, method)(*args)
            except Exception as exc:  # tracking is a copy: the store keeps every result
                self.sinks.remove(sink)
                reason = mask_secrets(str(exc).strip().splitlines()[0] if str(exc).strip()
                                      else type(exc).__name__)
                self.warn(f"warning: {sink.name} tracking stopped ({reason[:300]}); the results "
                          "are in the store as always")
                if method != "close":
                    _close_quietly(sink)


def _close_quietly(sink: Any) -> None:
    try:
        sink.close(FAILED, None, None)
    except Exception:  # already failing: its first error was said
        pass


class _Steps:
    """A trial's epochs as steps: a repeat (executions_per_trial) starts its epochs again,
    and continues the steps after the last repeat's, so no step is written twice."""

    def __init__(self):
        self.previous, self.offset, self.last = 0, 0, 0

    def step(self, epoch: int, epochs: int) -> int:
        if epoch <= self.previous:  # a new repeat
            self.offset = self.last
            self.offset -= epoch - 1  # its first epoch follows the last step
        self.previous = epoch
        self.last = epoch + self.offset
        return self.last
