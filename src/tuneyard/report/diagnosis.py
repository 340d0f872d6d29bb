"""One diagnosis per trial: the curve rules of `analysis/diagnosis.py` on the objective's curves.

The store computes it once, when a trial is recorded (`diagnose_trial`), and keeps the
label as the flat user attribute `diagnosis` (details in `result["diagnosis"]`); the
leaderboard, the CSV, `tune diagnose` and the report all read it back through
`trial_diagnosis`, which computes the same function on the fly for trials stored
before it existed. Only numpy is imported (through `diagnose`), so this stays cheap
at a thousand trials.

The curves judged are the objective's own: `mse` and `val_mse` for an objective
`val_mse`, never `loss`/`val_loss`, which include any L2 penalty (a sine trial at the
noise floor can have a val_loss 100 times its val_mse). A maximised objective is
judged by its shortfall (`1 - accuracy`: the error rate), so the rules, written for
curves that fall, apply unchanged. When the history lacks the training side of the
objective, `loss`/`val_loss` are judged instead.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from tuneyard.analysis.diagnosis import SUGGESTIONS, Diagnosis, at_linear_bound, diagnose

# Classifiers of the built-in workloads and their class counts: the trivial model's
# cross-entropy is ln(num_classes), its error rate 1 - 1/num_classes.
CLASS_COUNTS = {"mnist_mlp": 10, "cifar_cnn": 10}
ATTR = "diagnosis"  # the flat user attribute holding the label


def epochs_budget(attrs: dict) -> int | None:
    """Epochs the trial was asked to train in this run (its budget minus any warm start)."""
    result = attrs.get("result") or {}
    if result.get("epochs") is None:
        return None
    return int(result["epochs"]) - int(result.get("initial_epoch") or 0)


def objective_curves(history: dict, metric: str, maximize: bool) -> tuple[dict, str, str]:
    """The objective's training and validation curves, as curves that should fall.

    Returns ({"loss": training, "val_loss": validation}, the training curve's key, the
    name the reason gives them). Falls back to the history's own loss when the
    objective has no training counterpart in it.
    """
    val_key = metric if metric.startswith("val_") else f"val_{metric}"
    key = val_key.removeprefix("val_")
    train, val = history.get(key), history.get(val_key)
    if key == "loss" or not train or not val:
        return history, "loss", "loss"
    if not maximize:
        return {"loss": train, "val_loss": val}, key, key
    finite = [abs(float(v)) for v in [*train, *val] if v is not None and math.isfinite(float(v))]
    # Accuracy, AUC, R2 and the like are at most 1: their shortfall from 1 is the error.
    top = 1.0 if all(v <= 1.0 for v in finite) else 2.0 * max(finite)
    flipped = [[None if v is None else top - float(v) for v in curve] for curve in (train, val)]
    measure = "error" if key.endswith("accuracy") else (
        f"1 - {key}" if top == 1.0 else f"shortfall of {key}")
    return {"loss": flipped[0], "val_loss": flipped[1]}, key, measure


def baselines(config: dict) -> dict[str, float]:
    """A trivial model's value of the curves a study's workload reports, by curve name.

    ln(num_classes) (cross-entropy) and 1 - 1/num_classes (error) for the built-in
    classifiers; for the sine series the variance of the training targets (the MSE of
    predicting their mean), generated from the study's seed. Empty for other workloads.
    """
    return dict(_baselines(config.get("workload"), config.get("seed") or 0, config.get("subset"),
                           config.get("space_file") or config.get("space")))


@functools.cache
def _baselines(workload: Any, seed: int, subset: int | None, space: Any) -> tuple:
    if workload in CLASS_COUNTS:
        k = CLASS_COUNTS[workload]
        return (("loss", math.log(k)), ("crossentropy", math.log(k)), ("accuracy", 1 - 1 / k))
    if workload == "sine_lstm":
        variance = _sine_variance(seed, subset, *_sine_shape(space))
        return (("loss", variance), ("mse", variance))
    return ()


def baseline_for(key: str, table: dict[str, float]) -> float | None:
    """The baseline of the curve called `key` (`sparse_categorical_accuracy` ends in accuracy)."""
    return next((value for name, value in table.items() if key == name or key.endswith(name)), None)


@functools.cache
def _sine_variance(seed: int, subset: int | None, window: int, points: int) -> float:
    # The sine workload's own series, redrawn with numpy only: loading it through the
    # workload's Dataset would window every value, for a number that barely moves.
    import numpy as np

    from tuneyard.workloads.sine import noisy_wave, spans

    series, _ = noisy_wave(spans(points)[0], np.random.default_rng(seed))
    targets = series[window:][:subset] if subset else series[window:]
    return float(targets.var())


def _sine_shape(space: Any) -> tuple[int, int]:
    """(values per sample, points in the series) of a sine space; the course's if unreadable."""
    from tuneyard.errors import TuneyardError
    from tuneyard.space.file import load_space
    from tuneyard.workloads.sine import POINTS

    try:
        _, width, points = _sine_fixed(load_space(str(space)).fixed)
        return width, points
    except (TuneyardError, OSError, TypeError, ValueError):
        return 20, POINTS


def _sine_fixed(fixed: dict) -> tuple[int, int, int]:
    """(fixed window, values per sample, points in the series) from a sine space's fixed
    settings; the course's window of 20 and 1,000 points where they are not set."""
    from tuneyard.workloads.sine import POINTS

    window = int(fixed.get("window", 20))
    return window, max(window, int(fixed.get("max_window") or 0)), int(fixed.get("points", POINTS))


def linear_bound_note(d: Diagnosis, attrs: dict, config: dict, params: dict | None) -> Diagnosis:
    """On the sine series, `d` with the best linear filter on the trial's window beside it
    (`analysis.diagnosis.at_linear_bound`); `d` unchanged elsewhere, or when the trial's
    window is a hyperparameter and its params are not given."""
    best = [v for v in (attrs.get("history") or {}).get("val_mse") or [] if v is not None]
    if config.get("workload") != "sine_lstm" or not best or "linear filter" in d.reason:
        return d
    setup = _sine_setup(config.get("space_text") or "", config.get("space_file") or "",
                        config.get("space") or "")
    if setup is None:
        return d
    searched, fixed_window, width, split, points = setup
    window = (params or {}).get("window") if searched else fixed_window
    if window is None or not 1 <= int(window) <= width:
        return d
    bound = _window_bound(config.get("seed") or 0, config.get("subset"), split, width, int(window),
                          points)
    return at_linear_bound(d, min(best), bound, int(window), longest=int(window) >= width)


@functools.cache
def _sine_setup(text: str, path: str, name: str) -> tuple[bool, int, int, float, int] | None:
    """(window searched?, fixed window, sample width, validation_split, points in the
    series) of a sine space."""
    from tuneyard.errors import TuneyardError
    from tuneyard.space.file import space_of_study

    try:
        space = space_of_study({"space_text": text, "space_file": path, "space": name}, False)
        fixed_window, width, points = _sine_fixed(space.fixed)
    except (TuneyardError, OSError, TypeError, ValueError):
        return None
    searched = any(p.name == "window" for p in space.params)
    return searched, fixed_window, width, space.training.validation_split, points


@functools.cache
def _window_bound(seed: int, subset: int | None, split: float, width: int, window: int,
                  points: int) -> float:
    # numpy only: the series is regenerated from the seed (milliseconds), the filter's fit
    # is cached per window in the workload.
    from tuneyard.workloads.sine import generate, window_bound

    data = generate(subset=subset, seed=seed, validation_split=split, window=width, points=points)
    return window_bound(data, window)


def diagnose_trial(attrs: dict, config: dict, params: dict | None = None) -> Diagnosis:
    """Diagnose one trial from its user attributes and its study's config (metric, direction,
    workload, seed): the objective's curves against the workload's trivial baseline, and on
    the sine series against the best linear filter on the trial's window (`params` give the
    window when the space searches it)."""
    history = attrs.get("history") or {}
    metric = config.get("metric") or "val_loss"
    curves, key, measure = objective_curves(history, metric, config.get("direction") == "maximize")
    budget = epochs_budget(attrs)
    ran = len(curves.get("loss") or [])
    d = diagnose(curves, baseline_loss=baseline_for(key, baselines(config)),
                 epochs_budget=budget, stopped_early=budget is not None and 0 < ran < budget,
                 measure=measure)
    return linear_bound_note(d, attrs, config, params)


def stored_fields(d: Diagnosis) -> tuple[str, dict]:
    """What the store keeps: the label (a flat attribute) and the details (inside `result`)."""
    numbers = {k: float(f"{v:.6g}") for k, v in d.numbers.items() if math.isfinite(v)}
    return d.label, {"label": d.label, "reason": d.reason, "numbers": numbers}


def trial_diagnosis(attrs: dict, config: dict, params: dict | None = None) -> Diagnosis:
    """The trial's diagnosis as stored when it was recorded, else computed the same way
    (on the sine series, the linear-filter note is added when the stored one lacks it)."""
    stored = (attrs.get("result") or {}).get(ATTR)
    if isinstance(stored, dict) and stored.get("label") in SUGGESTIONS:
        numbers = {"train_val_gap": math.nan, "val_slope": math.nan, "oscillation": math.nan,
                   **stored.get("numbers", {})}
        d = Diagnosis(stored["label"], numbers, str(stored.get("reason", "")),
                      SUGGESTIONS[stored["label"]])
        return linear_bound_note(d, attrs, config, params)
    return diagnose_trial(attrs, config, params)


def diagnose_rows(trials: list, config: dict) -> list[dict]:
    """One record per trial: number, status, the Diagnosis."""
    return [{"trial": t.number, "status": t.state.name,
             "diagnosis": trial_diagnosis(t.user_attrs, config, t.params)} for t in trials]


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
    if "val_to_linear_bound" in n:
        parts.append(f"best val {(n['val_to_linear_bound'] - 1) * 100:+.1f}% from the best linear "
                     f"filter on its window of {n['window']:.0f} ({n['linear_bound']:.4g})")
    return ", ".join(parts)
