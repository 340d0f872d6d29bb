"""Pruning for the Optuna strategies: stop a trial whose curve is already losing.

A Keras callback reports the objective to the Optuna trial after every epoch and
stops training when the study's pruner gives up on it; the trial is then stored as
PRUNED with the epochs it ran.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from tuneyard.errors import BackendError

PRUNERS = ("none", "median", "hyperband")


def make_pruner(name: str, max_epochs: int) -> Any:
    """The Optuna pruner called `name` for trials of at most `max_epochs` epochs."""
    # heavy: optuna
    import optuna

    if name == "none":
        return optuna.pruners.NopPruner()
    if name == "median":
        # Optuna's defaults: five complete curves before judging, from the first epoch on
        # (a curve that starts below the median rarely catches up).
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(max_epochs, 1),
                                              reduction_factor=3)
    raise BackendError(f"unknown pruner '{name}'; valid pruners: {', '.join(PRUNERS)}")


def pruning_callback(trial: Any, metric: str) -> Any:
    """A Keras callback reporting `metric` to `trial` each epoch; sets `.pruned` when stopped."""
    return _callback_class()(trial, metric)


@functools.cache
def _callback_class() -> type:
    # heavy: keras
    import keras

    class PruneOnReport(keras.callbacks.Callback):
        """Reports the objective each epoch; stops training when the pruner says so."""

        def __init__(self, trial: Any, metric: str):
            super().__init__()
            self.trial, self.metric = trial, metric
            self.pruned = False
            self.reported: set[int] = set()

        def on_epoch_end(self, epoch, logs=None):
            value = (logs or {}).get(self.metric)
            # Repeats of a trial share steps: the first repeat's curve is the one judged.
            if value is None or epoch in self.reported or not math.isfinite(float(value)):
                return
            self.reported.add(epoch)
            self.trial.report(float(value), epoch)
            if self.trial.should_prune():
                self.pruned = True
                self.model.stop_training = True

    return PruneOnReport
