"""Diagnose stored trials: the curve rules of `diagnose.py` applied to a study's trials.

Only numpy is imported (through `diagnose`): the leaderboard calls `diagnose_attrs`
for every row, so it stays cheap at a thousand trials.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from tuneyard.analysis.diagnosis import Diagnosis, diagnose

# Classifiers of the built-in workloads and their class counts: the trivial model's
# cross-entropy is ln(num_classes).
CLASS_COUNTS = {"mnist_mlp": 10, "cifar_cnn": 10}


def epochs_budget(attrs: dict) -> int | None:
    """Epochs the trial was asked to train in this run (its budget minus any warm start)."""
    result = attrs.get("result") or {}
    if result.get("epochs") is None:
        return None
    return int(result["epochs"]) - int(result.get("initial_epoch") or 0)


def diagnose_attrs(attrs: dict, baseline_loss: float | None = None) -> Diagnosis:
    """Diagnose one trial from its user attributes (history and result)."""
    history = attrs.get("history") or {}
    budget = epochs_budget(attrs)
    ran = len(history.get("loss") or [])
    stopped = budget is not None and 0 < ran < budget
    return diagnose(history, baseline_loss=baseline_loss, epochs_budget=budget,
                    stopped_early=stopped)


def baseline_loss(config: dict) -> float | None:
    """The loss of a trivial model for a study's workload, when it is cheap to know.

    ln(num_classes) for the built-in classifiers; for the sine series the variance
    of the training targets (the MSE of predicting their mean), generated from the
    study's seed. None for anything else.
    """
    workload = config.get("workload")
    if workload in CLASS_COUNTS:
        return math.log(CLASS_COUNTS[workload])
    if workload == "sine_lstm":
        return _sine_variance(config.get("seed") or 0, config.get("subset"),
                              _window(config.get("space")))
    return None


@functools.cache
def _sine_variance(seed: int, subset: int | None, window: int) -> float:
    # The sine workload's own recipe, redrawn with numpy only: loading it through
    # the workload would import Keras, seconds for a number that barely moves.
    import numpy as np

    from tuneyard.workloads.sine import NOISE, STEP, TRAIN_SPAN

    t = np.arange(TRAIN_SPAN[0], TRAIN_SPAN[1], STEP)
    series = np.sin(t) + NOISE * np.random.default_rng(seed).standard_normal(len(t))
    targets = series[window:][:subset] if subset else series[window:]
    return float(targets.var())


def _window(space_name: Any) -> int:
    from tuneyard.errors import TuneyardError
    from tuneyard.space.file import load_space

    try:
        return int(load_space(str(space_name)).fixed.get("window", 20))
    except (TuneyardError, TypeError, ValueError):
        return 20


def diagnose_rows(trials: list, config: dict) -> list[dict]:
    """One record per trial: number, status, the Diagnosis (with the workload's baseline)."""
    base = baseline_loss(config)
    return [{"trial": t.number, "status": t.state.name,
             "diagnosis": diagnose_attrs(t.user_attrs, base)} for t in trials]


def format_numbers(d: Diagnosis) -> str:
    """The numbers behind a label, short: gap, slope, oscillation, rising epochs."""
    n = d.numbers
    parts = [f"epochs {n.get('epochs', 0):.0f}"]
    for key, name, sign in (("train_val_gap", "train-val gap", "+"),
                            ("val_slope", "val slope/epoch", "+"), ("oscillation", "oscillation", "")):
        value = n.get(key, math.nan)
        if value == value:
            parts.append(f"{name} {value * 100:{sign}.1f}%")
    if n.get("rising_epochs"):
        parts.append(f"val rising {n['rising_epochs']:.0f} epochs")
    if "val_to_baseline" in n:
        parts.append(f"best val = {n['val_to_baseline'] * 100:.0f}% of trivial baseline "
                     f"{n['baseline_loss']:.4g}")
    return ", ".join(parts)
