"""Test doubles shipped with tuneyard, for users who test a space or a backend without
waiting on TensorFlow, and for tuneyard's own suite.

- `Trainer`: what the sweep needs of a trainer (tuneyard.engine.training.Trainer is the real one).
- `InstantTrainer`: scores a proposal with a formula of its params in microseconds, with
  a learning curve per epoch, so every backend, budget, resume and failure path runs
  for real without TensorFlow: `Sweep(SweepOptions(...), trainer=InstantTrainer(f))`.
- `TinyRegression`: a real workload (a few hundred random points, a small Keras model)
  that declares no hyperparameters, so a space of any names can name it
  (`workload: tuneyard.testing:TinyRegression`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from tuneyard.engine.epochs import EpochHook
from tuneyard.records.trial import COMPLETE, FAIL, Proposal, TrialResult
from tuneyard.workloads.base import Dataset, Workload


class Trainer(Protocol):
    """Trains one proposal and always returns its result (FAIL and PRUNED included)."""

    def run(self, proposal: Proposal, callbacks: list | None = None) -> TrialResult:
        """Train `proposal`; `callbacks` are Keras callbacks (pruning) a real trainer uses."""


def never(params: dict) -> bool:
    """The default failure rule: no proposal fails."""
    return False


class InstantTrainer:
    """A trainer that scores params with `objective` (lower is better before `maximize`).

    Each epoch's value is objective + 1 / (epoch + 1), so longer training helps and
    warm starts continue the curve. `fail_when(params)` makes a trial FAIL. Give
    module-level functions: `--workers` pickles the trainer into worker processes.
    A one-worker sweep runs it in this process unless `in_worker_processes`: then it
    takes the real trainer's path (a worker process, replaced every
    --trials-per-process trials), and its `calls` stay in the workers.
    """

    def __init__(self, objective: Callable[[dict], float], metric: str = "val_loss",
                 fail_when: Callable[[dict], bool] | None = None, in_worker_processes: bool = False):
        self.objective, self.metric = objective, metric
        self.fail_when = fail_when or never
        self.in_worker_processes = in_worker_processes
        self.calls: list[Proposal] = []

    def run(self, proposal: Proposal, callbacks: list | None = None) -> TrialResult:
        """Score `proposal` at once."""
        self.calls.append(proposal)
        if self.fail_when(proposal.params):
            return TrialResult(status=FAIL, error="ValueError: instant failure", epochs_run=1)
        base = float(self.objective(proposal.params))
        curve = [base + 1.0 / (e + 1) for e in range(proposal.initial_epoch, proposal.epochs)]
        history = {"loss": curve, "val_loss": curve, self.metric: curve}
        for hook in (c for c in callbacks or [] if isinstance(c, EpochHook)):
            for epoch, value in enumerate(curve, start=proposal.initial_epoch + 1):
                hook(epoch, proposal.epochs, {"loss": value, self.metric: value})
        return TrialResult(status=COMPLETE, value=min(curve), metrics={self.metric: min(curve)},
                           history=history, epochs_run=len(curve), seconds=0.001)


class TinyRegression(Workload):
    """y = x . w + noise on 8 features; Dense(units or 8) -> Dense(1), Adam(learning_rate)."""

    name = "tiny_regression"
    task = "regression"

    def load(self, *, data_dir: str | None = None, subset: int | None = None, seed: int = 0,
             validation_split: float = 0.2) -> Dataset:
        """Seeded random points: train, validation (the last fraction) and test."""
        rng = np.random.default_rng(seed)
        n = subset or 300
        x = rng.standard_normal((n + 100, 8)).astype(np.float32)
        y = (x @ rng.standard_normal(8) + 0.1 * rng.standard_normal(len(x))).astype(np.float32)
        cut = int(n * (1 - validation_split))
        return Dataset(x[:cut], y[:cut], x[cut:n], y[cut:n], x[n:], y[n:],
                       info={"input_shape": (8,)})

    def build_model(self, params: dict, dataset: Dataset, options: dict):
        """A compiled two-layer regressor (loss and metric mse)."""
        # heavy: keras
        import keras

        model = keras.Sequential([keras.Input(shape=(8,)),
                                  keras.layers.Dense(int(params.get("units", 8)), activation="relu"),
                                  keras.layers.Dense(1, dtype="float32")])
        model.compile(optimizer=keras.optimizers.Adam(float(params.get("learning_rate", 1e-2))),
                      loss="mse", metrics=["mse"])
        return model
