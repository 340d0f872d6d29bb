"""Read a trial's training curves and say what they show.

``diagnose(history)`` looks at the per-epoch training loss (``loss``) and validation
loss (``val_loss``) of one trial and gives it one label, the numbers behind it, one
sentence of what was seen and one suggestion for the next search. The rules are
tried in this order; the first that matches wins:

1. **unknown**: the history has no ``loss`` or no ``val_loss``, or fewer than
   2 epochs (``MIN_EPOCHS``): there is nothing to compare yet. (A single epoch
   that already shows nan or inf is *diverged*.)
2. **diverged**: the training or validation loss became nan or infinite at any
   epoch, or the last training loss is more than 3 times (``DIVERGE_RATIO``) the
   first epoch's. The learning rate is almost always too high.
3. **oscillating**: over the last 5 epochs (``WINDOW``) the validation loss, or
   the training loss, changed direction at least twice (``OSCILLATION_MIN_FLIPS``)
   and its epoch-to-epoch changes swing by more than 10% of its level
   (``OSCILLATION_RATIO``). The learning rate is too high to settle. This comes
   before overfitting because a curve that swings this much often ends above
   its best by chance.
4. **overfitting**: the validation loss rose for at least 3 epochs in a row
   (``OVERFIT_MIN_RISING``) at the end while the training loss fell; or the last
   validation loss is more than 10% (``OVERFIT_VAL_RISE``) above its best, the
   training loss kept falling after that best epoch, and validation ended more
   than 10% (``OVERFIT_GAP``) above training. The model learns its training data
   instead of the task.
5. **underfitting**: with a ``baseline_loss`` (the loss of a trivial model, such
   as ln(10) = 2.303 for 10-class cross-entropy, or the variance of the target
   for mean squared error), both the best training and the best validation loss
   stayed above half of it (``UNDERFIT_BASELINE_RATIO``). Without one, the
   training loss fell less than 10% (``UNDERFIT_MIN_DROP``) below its first epoch
   and validation ended at most 10% (``OVERFIT_GAP``) above training. The model
   is too small, too constrained or trained too briefly.
6. **still_improving**: training ran to its epoch budget (it was not stopped
   early; when no budget is given the run is taken to have used it) and the
   validation loss fell in the last epoch and by more than 2% per epoch
   (``SLOPE_STILL_IMPROVING``) over the last 3 epochs (``SLOPE_WINDOW``). More
   epochs would help.
7. **healthy**: none of the above: validation followed training down and settled.

The numbers are relative, so one threshold fits losses of any scale:
``train_val_gap`` is (val_loss - loss) / |loss| at the last epoch; ``val_slope``
is the least-squares slope of val_loss over the last ``SLOPE_WINDOW`` epochs
divided by their mean (per epoch; negative means improving); ``oscillation`` is
the standard deviation of the epoch-to-epoch changes of val_loss over the last
``WINDOW`` epochs divided by their mean (``train_oscillation`` is the same for
loss); ``rising_epochs`` counts the final epochs in a row where val_loss rose
while loss fell.

A sweep's trials are judged on their objective's own curves, not on ``loss``
(which includes any L2 penalty): ``analysis/trial_diagnosis.py`` hands ``diagnose`` the
training and validation curves of the objective (``mse`` and ``val_mse``; a
maximised metric as its shortfall, ``1 - accuracy``), in the place of
``loss``/``val_loss``, with ``measure`` naming them in the reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

LABELS = ("healthy", "overfitting", "underfitting", "diverged", "oscillating", "still_improving")

MIN_EPOCHS = 2
WINDOW = 5
SLOPE_WINDOW = 3
DIVERGE_RATIO = 3.0
OVERFIT_MIN_RISING = 3
OVERFIT_VAL_RISE = 0.10
OVERFIT_GAP = 0.10
OSCILLATION_RATIO = 0.10
OSCILLATION_MIN_FLIPS = 2
UNDERFIT_BASELINE_RATIO = 0.5
UNDERFIT_MIN_DROP = 0.10
SLOPE_STILL_IMPROVING = 0.02

_EPS = 1e-12

SUGGESTIONS = {
    "unknown": "train at least 2 epochs with validation data (validation_split or validation_data)",
    "diverged": "lower learning_rate (try 10x smaller) or use adam/adamw",
    "overfitting": "raise l2 or dropout, or stop earlier (lower epochs or early stopping patience)",
    "oscillating": "lower learning_rate or enable lr_decay",
    "underfitting": "add capacity (units, num_layers), lower l2/dropout, or train longer (epochs)",
    "still_improving": "raise epochs (or patience): the model had not converged",
    "healthy": "keep these settings; compare trials on the objective",
}


@dataclass(frozen=True)
class Diagnosis:
    """A label from ``LABELS`` (or ``"unknown"``), the numbers the rules used (the gap is
    at the last epoch), one sentence of what was seen and the knob to turn next."""

    label: str
    numbers: dict[str, float]
    reason: str
    suggestion: str


def _rel(a: float, b: float) -> float:
    return float(a / max(abs(b), _EPS))


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%" if abs(x) < 0.1 else f"{x * 100:.0f}%"


def _series(history: dict, key: str) -> np.ndarray | None:
    values = history.get(key) if isinstance(history, Mapping) else None
    if values is None:
        return None
    try:
        return np.array([math.nan if v is None else float(v) for v in values], dtype=float)
    except (TypeError, ValueError):
        return None


def _swings(series: np.ndarray) -> tuple[float, float]:
    """Oscillation ratio and direction changes of ``series`` over its last WINDOW epochs."""
    tail = series[-WINDOW:]
    deltas = np.diff(tail)
    signs = np.sign(deltas[deltas != 0])
    ratio = _rel(float(np.std(deltas)), float(np.mean(np.abs(tail)))) if len(deltas) else 0.0
    return ratio, float(np.sum(signs[1:] != signs[:-1]))


def _numbers(loss: np.ndarray, val: np.ndarray) -> dict[str, float]:
    n = len(loss)
    if n == 0:
        return {"epochs": 0.0}
    tail = val[-SLOPE_WINDOW:]
    x = np.arange(len(tail)) - (len(tail) - 1) / 2
    slope = float(np.sum(x * (tail - tail.mean())) / max(float(np.sum(x * x)), _EPS))
    rising = 0
    while (
        rising < n - 1
        and val[-1 - rising] > val[-2 - rising]
        and loss[-1 - rising] < loss[-2 - rising]
    ):
        rising += 1
    best = int(np.nanargmin(val)) if np.isfinite(val).any() else n - 1
    low = float(np.nanmin(loss)) if np.isfinite(loss).any() else math.nan
    osc, flips = _swings(val)
    train_osc, train_flips = _swings(loss)
    return {
        "epochs": float(n),
        "train_val_gap": _rel(val[-1] - loss[-1], loss[-1]),
        "val_slope": _rel(slope, float(np.mean(np.abs(tail)))),
        "oscillation": osc,
        "rising_epochs": float(rising),
        "flips": flips,
        "train_oscillation": train_osc,
        "train_flips": train_flips,
        "first_loss": float(loss[0]),
        "final_loss": float(loss[-1]),
        "best_loss": low,
        "final_val_loss": float(val[-1]),
        "best_val_loss": float(val[best]),
        "best_epoch": float(best + 1),
        "val_rise": _rel(val[-1] - val[best], val[best]),
        "loss_ratio": _rel(loss[-1], loss[0]),
        "loss_drop": _rel(loss[0] - low, loss[0]),
    }


def diagnose(
    history: dict,
    *,
    baseline_loss: float | None = None,
    epochs_budget: int | None = None,
    stopped_early: bool = False,
    measure: str = "loss",
) -> Diagnosis:
    """Label one trial's per-epoch history (``{"loss": [...], "val_loss": [...], ...}``).

    ``baseline_loss`` is the loss of a trivial model, used for underfitting;
    ``epochs_budget`` and ``stopped_early`` tell whether training ran to its budget,
    used for still_improving; ``measure`` names the curves in the reason (``"mse"``:
    "validation mse rose ..."). Never raises: unreadable or short histories give
    ``"unknown"``.
    """
    loss, val = _series(history, "loss"), _series(history, "val_loss")
    if loss is None or val is None:
        missing = "loss" if loss is None else "val_loss"
        return _make("unknown", {"epochs": 0.0}, f"the history has no usable {missing!r}")
    n = min(len(loss), len(val))
    loss, val = loss[:n], val[:n]
    with np.errstate(all="ignore"):
        nums = _numbers(loss, val)
        base = _positive(baseline_loss)
        if base and n:
            nums["baseline_loss"] = base
            nums["val_to_baseline"] = nums["best_val_loss"] / base
            nums["loss_to_baseline"] = nums["best_loss"] / base
        label, reason = _judge(loss, val, nums, epochs_budget, stopped_early)
    if measure != "loss":
        reason = re.sub(r"\b(training|validation) loss\b", rf"\1 {measure}", reason)
    return _make(label, nums, reason)


def _judge(loss, val, nums, budget, stopped_early) -> tuple[str, str]:
    n = len(loss)
    bad = ~(np.isfinite(loss) & np.isfinite(val))
    if bad.any():
        i = int(np.argmax(bad))
        which, x = ("training", loss[i]) if not np.isfinite(loss[i]) else ("validation", val[i])
        return "diverged", f"{which} loss became {'nan' if math.isnan(x) else x} at epoch {i + 1}"
    if n < MIN_EPOCHS:
        return "unknown", f"only {n} epoch(s) of history; at least {MIN_EPOCHS} are needed"
    gap, best = nums["train_val_gap"], int(nums["best_epoch"])
    if nums["first_loss"] > 0 and nums["loss_ratio"] > DIVERGE_RATIO:
        why = f"{nums['loss_ratio']:.1f}x its first epoch's {loss[0]:.4g}"
        return "diverged", f"training loss ended at {loss[-1]:.4g}, {why}"
    for name, key in (("validation", ""), ("training", "train_")):
        osc, flips = nums[key + "oscillation"], nums[key + "flips"]
        if flips >= OSCILLATION_MIN_FLIPS and osc > OSCILLATION_RATIO:
            why = f"changed direction {flips:.0f} times in the last {min(n, WINDOW)} epochs"
            return "oscillating", f"{name} loss {why}, swinging {_pct(osc)} of its level"
    if nums["rising_epochs"] >= OVERFIT_MIN_RISING:
        why = f"{nums['rising_epochs']:.0f} epochs in a row while training loss fell"
        return "overfitting", f"validation loss rose {why} (gap {_pct(gap)})"
    if nums["val_rise"] > OVERFIT_VAL_RISE and loss[-1] < loss[best - 1] and gap > OVERFIT_GAP:
        why = f"{_pct(nums['val_rise'])} above its best (epoch {best})"
        return "overfitting", (
            f"validation loss ended {why} while training loss kept falling (gap {_pct(gap)})"
        )
    under = _underfit(nums)
    if under:
        return "underfitting", under
    ran_to_budget = not stopped_early and (budget is None or n >= budget)
    if ran_to_budget and val[-1] < val[-2] and nums["val_slope"] < -SLOPE_STILL_IMPROVING:
        why = f"{_pct(-nums['val_slope'])} per epoch over the last {min(n, SLOPE_WINDOW)} epochs"
        return "still_improving", (
            f"validation loss was still falling {why} when training reached its {n}-epoch budget"
        )
    why = f"(best {nums['best_val_loss']:.4g} at epoch {best}), gap {_pct(gap)}"
    return "healthy", (
        f"validation loss settled at {val[-1]:.4g} {why}, slope {_pct(nums['val_slope'])} per epoch"
    )


def _underfit(nums: dict[str, float]) -> str:
    if "baseline_loss" in nums:
        baseline = nums["baseline_loss"]
        limit = UNDERFIT_BASELINE_RATIO
        if nums["val_to_baseline"] > limit and nums["loss_to_baseline"] > limit:
            return (
                f"best training and validation loss stayed at {_pct(nums['loss_to_baseline'])} "
                f"and {_pct(nums['val_to_baseline'])} of the trivial baseline {baseline:.4g}"
            )
        return ""
    if nums["loss_drop"] < UNDERFIT_MIN_DROP and nums["train_val_gap"] <= OVERFIT_GAP:
        return (
            f"training loss fell only {_pct(nums['loss_drop'])} from its first epoch "
            f"({nums['first_loss']:.4g} to {nums['best_loss']:.4g}) and validation stayed "
            f"close (gap {_pct(nums['train_val_gap'])})"
        )
    return ""


def _positive(x: object) -> float:
    try:
        return float(x) if 0 < float(x) < math.inf else 0.0
    except (TypeError, ValueError):
        return 0.0


def _make(label: str, nums: dict[str, float], reason: str) -> Diagnosis:
    defaults = {"train_val_gap": math.nan, "val_slope": math.nan, "oscillation": math.nan}
    nums = defaults | {"rising_epochs": 0.0} | nums
    return Diagnosis(label, nums, reason, SUGGESTIONS[label])


LINEAR_BOUND_WITHIN = 0.01  # "at its window's bound": within 1% of the best linear filter


def at_linear_bound(d: Diagnosis, best_val: float, bound: float, window: int,
                    longest: bool = False) -> Diagnosis:
    """``d`` with the best linear filter on the trial's input window beside it.

    For a series forecast from a window of past values, that filter
    bounds what any model on the window reaches. A trial whose best validation value is
    within 1% (``LINEAR_BOUND_WITHIN``) of it, or below, is at the bound: the reason says
    so and the suggestion turns to the window (``longest``: already the longest one the
    space offers), since more search cannot help. The label stays what the curves show.
    """
    if not (_positive(best_val) and _positive(bound)):
        return d
    gap = best_val / bound - 1
    numbers = {**d.numbers, "linear_bound": bound, "val_to_linear_bound": best_val / bound,
               "window": float(window)}
    if gap > LINEAR_BOUND_WITHIN:
        return Diagnosis(d.label, numbers, d.reason, d.suggestion)
    where = "within 1% of" if gap >= 0 else f"{_pct(-gap)} below"
    note = f"{where} the best linear filter on a window of {window} ({bound:.4g})"
    advice = ("the window is the space's longest: widen max_window and the window's range, "
              "not more search, to come nearer the noise floor" if longest else
              "a longer window, not more search, would help (raise window)")
    return Diagnosis(d.label, numbers, f"{d.reason}; {note}", advice)


def diagnose_text(d: Diagnosis) -> str:
    """One line: ``"<label>: <reason>: <suggestion>"``."""
    return " ".join(f"{d.label}: {d.reason}: {d.suggestion}".split())
