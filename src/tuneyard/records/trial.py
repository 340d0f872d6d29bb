"""A trial as it flows: a Proposal out of a backend, a TrialResult back from the trainer."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

COMPLETE, FAIL, PRUNED = "COMPLETE", "FAIL", "PRUNED"
RUNNING, WAITING = "RUNNING", "WAITING"  # not finished: no result yet


@dataclass
class Proposal:
    """One trial to run, as a backend proposed it.

    `epochs` is the epoch to train up to; `initial_epoch` > 0 with
    `warm_start` (a saved-model path) continues a parent trial, as Hyperband
    promotions do. `extra` holds backend columns for the leaderboard (bracket,
    round); `key` is the backend's own id; `trial` is a live Optuna trial when
    the backend asked Optuna for it.
    """

    params: dict
    epochs: int
    initial_epoch: int = 0
    warm_start: str | None = None
    save_to: str | None = None
    key: str = ""
    extra: dict = field(default_factory=dict)
    trial: Any = None
    # Where to save the trial's model (its objective's epoch) if its value beats `beat`
    # (None: any value); the runner keeps it as the study's best.keras if it still is.
    save_best_to: str | None = None
    beat: float | None = None


@dataclass
class TrialResult:
    """How a trial ended: its objective, metrics and full per-epoch history."""

    status: str
    value: float | None = None
    metrics: dict = field(default_factory=dict)
    history: dict = field(default_factory=dict)
    epochs_run: int = 0
    seconds: float = 0.0
    error: str | None = None
    seeds: list = field(default_factory=list)
    worker: str = ""  # "host:pid" of the worker process that ran it; "" for this process
    # The device it was given ("gpu:2", "cpu"), and where the Keras backend placed it
    # ("gpu:0", "cpu:0"; "" when nothing said): a GPU given but not seen shows as such.
    device: str = ""
    device_used: str = ""
    precision: str = ""  # the Keras dtype policy it trained in ("mixed_bfloat16"; "": not said)
    # For a workload that declares no hyperparameters: the ones its builder read.
    params_read: list | None = None
    saved_model: str | None = None  # the path the model was saved to (save_best_to), if it was
    # tuneyard's own bookkeeping that failed after training (the model not kept on a full
    # disk): shown as one line; the result itself stands.
    warning: str | None = None
    # Lines about the sweep rather than this trial (the precision it could not use, an output
    # not in float32): the sweep says each once, whichever trials repeat it.
    notices: list = field(default_factory=list)
    # What tuneyard measured of the trained model, by name (params, saved_bytes, latency_ms):
    # only what the space's objectives or `training.measure` ask for.
    measures: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the trial completed with a finite objective."""
        return self.status == COMPLETE and self.value is not None and math.isfinite(self.value)


def first_value(trial: Any) -> float | None:
    """A stored trial's (FrozenTrial's) first objective value, None without one. For a
    study of several objectives `trial.value` raises; the first objective is the one the
    leaderboard ranks by within a Pareto front."""
    values = getattr(trial, "values", None)
    return values[0] if values else None


def failed(error: str, seconds: float = 0.0, **fields: Any) -> TrialResult:
    """A FAIL result carrying its reason."""
    return TrialResult(status=FAIL, error=error, seconds=seconds, **fields)
