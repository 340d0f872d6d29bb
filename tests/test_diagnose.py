"""Curve diagnosis: every label, and both sides of every threshold."""

import importlib
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

if importlib.util.find_spec("tuneyard") is None:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
dg = importlib.import_module("tuneyard.analysis.diagnosis")

REQUIRED = ("train_val_gap", "val_slope", "oscillation", "epochs", "rising_epochs")
NAN = float("nan")
INF = float("inf")


def hist(loss, val, metric="accuracy"):
    """A Keras-shaped history with a metric riding along (the rules read only the losses)."""
    return {
        "loss": [float(x) for x in loss],
        "val_loss": [float(x) for x in val],
        metric: [0.5] * len(loss),
        f"val_{metric}": [0.5] * len(val),
    }


def label(history, **kwargs):
    return dg.diagnose(history, **kwargs).label


# A healthy run: both curves fall and flatten, validation a little above training.
HEALTHY = hist(
    [1.0, 0.6, 0.45, 0.40, 0.38, 0.37, 0.37, 0.37],
    [1.0, 0.65, 0.50, 0.46, 0.45, 0.45, 0.45, 0.45],
)


def rising_tail(rises):
    """Validation loss bottoms at epoch 4, then rises by 1% a step ``rises`` times while
    training loss keeps falling (rises small enough to stay under OVERFIT_VAL_RISE)."""
    loss = [1.0, 0.7, 0.5, 0.4]
    val = [1.0, 0.75, 0.6, 0.55]
    for _ in range(rises):
        loss.append(loss[-1] * 0.9)
        val.append(val[-1] + 0.0055)
    return hist(loss, val)


def alternating(ratio, level=0.5):
    """Validation loss alternating around ``level`` over the last WINDOW epochs, ending at a
    low point, with an oscillation ratio close to ``ratio``; training loss falls smoothly."""
    a = ratio * level / 2
    tail = [level - a * (-1) ** (dg.WINDOW - 1 - i) for i in range(dg.WINDOW)]
    val = [1.0, 0.8] + tail
    loss = [0.9, 0.7] + [0.45 - 0.01 * i for i in range(dg.WINDOW)]
    return hist(loss, val)


def with_flips(flips, step=0.2):
    """Validation loss whose last WINDOW epochs change direction exactly ``flips`` times:
    alternating down (-2 step) / up (+step) moves, then only down moves, so it ends at its
    minimum (no rise for the overfitting rules to see)."""
    signs = [-((-1) ** (flips - min(j, flips))) for j in range(dg.WINDOW - 1)]
    val = [1.5]
    for s in signs:
        val.append(val[-1] + (-2 * step if s < 0 else step))
    loss = [0.9 - 0.02 * i for i in range(len(val))]
    return hist([1.2] + loss, [1.6] + val)


def linear_tail(rel_slope, mean=0.5):
    """Validation loss whose last SLOPE_WINDOW epochs fall on a straight line with the given
    relative slope (per epoch), after a steadily falling start."""
    k = dg.SLOPE_WINDOW
    tail = [mean * (1 + rel_slope * (i - (k - 1) / 2)) for i in range(k)]
    val = [1.0, 0.8, 0.7, 0.65, 0.62] + tail
    return hist([v * 0.9 for v in val], val)


# --- every label ---------------------------------------------------------------------------


def test_healthy():
    d = dg.diagnose(HEALTHY)
    assert d.label == "healthy"
    assert "settled" in d.reason
    assert label(HEALTHY, baseline_loss=math.log(10)) == "healthy"


def test_overfitting_by_rising_validation():
    d = dg.diagnose(rising_tail(dg.OVERFIT_MIN_RISING + 1))
    assert d.label == "overfitting"
    assert d.numbers["rising_epochs"] == dg.OVERFIT_MIN_RISING + 1
    assert f"rose {dg.OVERFIT_MIN_RISING + 1} epochs in a row" in d.reason
    assert "l2" in d.suggestion and "dropout" in d.suggestion


def test_overfitting_by_validation_ending_above_its_best():
    # Noisy but clear: validation bottoms at epoch 5 and ends 25% above it.
    d = dg.diagnose(
        hist(
            [0.30, 0.10, 0.07, 0.05, 0.04, 0.03, 0.025, 0.02, 0.018],
            [0.12, 0.09, 0.08, 0.075, 0.072, 0.080, 0.085, 0.083, 0.090],
        )
    )
    assert d.label == "overfitting"
    assert d.numbers["best_epoch"] == 5
    assert d.numbers["val_rise"] == pytest.approx(0.090 / 0.072 - 1)
    assert "above its best (epoch 5)" in d.reason


def test_underfitting_against_a_baseline():
    base = math.log(10)
    d = dg.diagnose(
        hist([2.30, 2.0, 1.9, 1.85, 1.85], [2.25, 2.0, 1.95, 1.9, 1.9]), baseline_loss=base
    )
    assert d.label == "underfitting"
    assert d.numbers["baseline_loss"] == pytest.approx(base)
    assert d.numbers["val_to_baseline"] == pytest.approx(1.9 / base)
    assert "units" in d.suggestion and "num_layers" in d.suggestion


def test_underfitting_without_a_baseline_when_loss_barely_moved():
    d = dg.diagnose(hist([2.31, 2.30, 2.30, 2.30], [2.30, 2.30, 2.30, 2.30]))
    assert d.label == "underfitting"
    assert "first epoch" in d.reason


@pytest.mark.parametrize(
    ("loss", "val", "word"),
    [
        ([1.0, 0.8, NAN], [1.0, 0.9, 0.8], "training loss became nan at epoch 3"),
        ([1.0, 0.8, 0.7], [1.0, INF, 0.8], "validation loss became inf at epoch 2"),
        ([NAN], [NAN], "training loss became nan at epoch 1"),
    ],
)
def test_diverged_on_nan_or_inf(loss, val, word):
    d = dg.diagnose({"loss": loss, "val_loss": val})
    assert d.label == "diverged"
    assert word in d.reason
    assert "learning_rate" in d.suggestion


def test_diverged_when_loss_explodes():
    d = dg.diagnose(hist([0.5, 1.0, 5.0, 40.0], [0.6, 1.5, 8.0, 60.0]))
    assert d.label == "diverged"
    assert d.numbers["loss_ratio"] == pytest.approx(80.0)


def test_oscillating_validation():
    d = dg.diagnose(alternating(3 * dg.OSCILLATION_RATIO))
    assert d.label == "oscillating"
    assert d.reason.startswith("validation loss changed direction")
    assert "learning_rate" in d.suggestion and "lr_decay" in d.suggestion


def test_oscillating_training_loss():
    d = dg.diagnose(hist([1.0, 0.5, 0.8, 0.45, 0.8, 0.4], [1.0, 0.9, 0.8, 0.75, 0.72, 0.70]))
    assert d.label == "oscillating"
    assert d.reason.startswith("training loss")
    assert d.numbers["flips"] == 0 and d.numbers["train_flips"] == 3


def test_still_improving():
    d = dg.diagnose(linear_tail(-5 * dg.SLOPE_STILL_IMPROVING))
    assert d.label == "still_improving"
    assert d.numbers["val_slope"] == pytest.approx(-5 * dg.SLOPE_STILL_IMPROVING)
    assert "epochs" in d.suggestion


@pytest.mark.parametrize(
    "history",
    [
        {},
        {"loss": [1.0, 0.5]},
        {"val_loss": [1.0, 0.5]},
        {"loss": [], "val_loss": []},
        {"loss": [1.0], "val_loss": [1.1]},
        {"loss": ["a", "b"], "val_loss": [1.0, 0.9]},
        {"loss": 3.0, "val_loss": [1.0]},
        None,
    ],
)
def test_unknown_when_there_is_nothing_to_compare(history):
    d = dg.diagnose(history)
    assert d.label == "unknown"
    assert d.reason and d.suggestion
    assert set(REQUIRED) <= set(d.numbers)


def test_missing_val_loss_says_so():
    assert "val_loss" in dg.diagnose({"loss": [1.0, 0.5, 0.4]}).reason


# --- both sides of every threshold ---------------------------------------------------------


def test_rising_epochs_boundary():
    inside = dg.diagnose(rising_tail(dg.OVERFIT_MIN_RISING))
    outside = dg.diagnose(rising_tail(dg.OVERFIT_MIN_RISING - 1))
    assert inside.label == "overfitting"
    assert outside.numbers["rising_epochs"] == dg.OVERFIT_MIN_RISING - 1
    assert outside.numbers["val_rise"] <= dg.OVERFIT_VAL_RISE
    assert outside.label == "healthy"


def test_rising_validation_does_not_count_when_training_rises_too():
    d = dg.diagnose(hist([0.5, 0.4, 0.45, 0.5, 0.55], [0.55, 0.45, 0.5, 0.55, 0.6]))
    assert d.numbers["rising_epochs"] == 0
    assert d.label != "overfitting"


@pytest.mark.parametrize(("factor", "expected"), [(1.05, "overfitting"), (0.95, "healthy")])
def test_val_rise_boundary(factor, expected):
    rise = dg.OVERFIT_VAL_RISE * factor
    d = dg.diagnose(hist([1.0, 0.6, 0.4, 0.3], [1.0, 0.7, 0.5, 0.5 * (1 + rise)]))
    assert d.numbers["val_rise"] == pytest.approx(rise)
    assert d.numbers["train_val_gap"] > dg.OVERFIT_GAP
    assert d.label == expected


@pytest.mark.parametrize(("factor", "expected"), [(1.05, "overfitting"), (0.95, "healthy")])
def test_gap_boundary(factor, expected):
    gap = dg.OVERFIT_GAP * factor
    d = dg.diagnose(hist([1.0, 0.6, 0.5, 0.45], [1.0, 0.6, 0.40, 0.45 * (1 + gap)]))
    assert d.numbers["train_val_gap"] == pytest.approx(gap)
    assert d.numbers["val_rise"] > dg.OVERFIT_VAL_RISE
    assert d.label == expected


def test_overfitting_needs_training_loss_to_keep_falling():
    # Validation ends 20% above its best, but training loss rose as well: not overfitting.
    d = dg.diagnose(hist([1.0, 0.5, 0.40, 0.42], [1.0, 0.6, 0.50, 0.60]), stopped_early=True)
    assert d.numbers["val_rise"] == pytest.approx(0.2)
    assert d.label == "healthy"


@pytest.mark.parametrize(("factor", "expected"), [(3.0, "oscillating"), (0.9, "healthy")])
def test_oscillation_ratio_boundary(factor, expected):
    d = dg.diagnose(alternating(dg.OSCILLATION_RATIO * factor))
    assert d.numbers["flips"] >= dg.OSCILLATION_MIN_FLIPS
    assert (d.numbers["oscillation"] > dg.OSCILLATION_RATIO) == (expected == "oscillating")
    assert d.label == expected


def test_oscillation_ratio_just_above_threshold():
    d = dg.diagnose(alternating(dg.OSCILLATION_RATIO * 1.1))
    assert dg.OSCILLATION_RATIO < d.numbers["oscillation"] < 1.2 * dg.OSCILLATION_RATIO
    assert d.label == "oscillating"


@pytest.mark.parametrize(
    ("flips", "expected"),
    [(dg.OSCILLATION_MIN_FLIPS, "oscillating"), (dg.OSCILLATION_MIN_FLIPS - 1, "healthy")],
)
def test_flips_boundary(flips, expected):
    d = dg.diagnose(with_flips(flips), stopped_early=True)
    assert d.numbers["flips"] == flips
    assert d.numbers["oscillation"] > dg.OSCILLATION_RATIO
    assert d.label == expected


@pytest.mark.parametrize(("factor", "expected"), [(1.01, "diverged"), (0.99, "healthy")])
def test_explosion_boundary(factor, expected):
    final = dg.DIVERGE_RATIO * factor
    d = dg.diagnose(hist([1.0, 0.5, final], [1.0, 0.6, 0.55]), stopped_early=True)
    assert d.numbers["loss_ratio"] == pytest.approx(final)
    assert d.label == expected


@pytest.mark.parametrize(
    ("val_factor", "loss_factor", "expected"),
    [(1.03, 1.01, "underfitting"), (0.99, 1.01, "healthy"), (1.03, 0.99, "healthy")],
)
def test_baseline_boundary(val_factor, loss_factor, expected):
    base = 2.0
    v = base * dg.UNDERFIT_BASELINE_RATIO * val_factor
    t = base * dg.UNDERFIT_BASELINE_RATIO * loss_factor
    d = dg.diagnose(hist([2.0, 1.5, t, t, t], [2.0, 1.6, v, v, v]), baseline_loss=base)
    assert d.label == expected


@pytest.mark.parametrize(("factor", "expected"), [(0.9, "underfitting"), (1.1, "healthy")])
def test_first_epoch_drop_boundary(factor, expected):
    drop = dg.UNDERFIT_MIN_DROP * factor
    loss = [1.0, 1 - drop / 2, 1 - drop]
    d = dg.diagnose(hist(loss, [x * 1.02 for x in loss]), stopped_early=True)
    assert d.numbers["loss_drop"] == pytest.approx(drop)
    assert d.label == expected


@pytest.mark.parametrize(("factor", "expected"), [(0.9, "underfitting"), (1.1, "healthy")])
def test_underfitting_fallback_gap_boundary(factor, expected):
    loss = [1.0, 0.97, 0.96]
    gap = dg.OVERFIT_GAP * factor
    d = dg.diagnose(hist(loss, [x * (1 + gap) for x in loss]), stopped_early=True)
    assert d.numbers["train_val_gap"] == pytest.approx(gap)
    assert d.label == expected


@pytest.mark.parametrize(("factor", "expected"), [(1.1, "still_improving"), (0.9, "healthy")])
def test_slope_boundary(factor, expected):
    d = dg.diagnose(linear_tail(-dg.SLOPE_STILL_IMPROVING * factor))
    assert d.numbers["val_slope"] == pytest.approx(-dg.SLOPE_STILL_IMPROVING * factor)
    assert d.label == expected


def test_still_improving_needs_the_run_to_reach_its_budget():
    h = linear_tail(-5 * dg.SLOPE_STILL_IMPROVING)
    n = len(h["loss"])
    assert label(h, epochs_budget=n) == "still_improving"
    assert label(h, epochs_budget=n + 5) == "healthy"
    assert label(h, stopped_early=True) == "healthy"


def test_still_improving_needs_the_last_epoch_to_improve():
    # Falling 7% per epoch over the last 3 epochs, but the last epoch went up.
    d = dg.diagnose(hist([0.9, 0.54, 0.45, 0.44], [1.0, 0.6, 0.5, 0.52]))
    assert d.numbers["val_slope"] < -dg.SLOPE_STILL_IMPROVING
    assert d.label == "healthy"


# --- numbers, text, robustness -------------------------------------------------------------


def test_numbers_on_a_simple_case():
    n = dg.diagnose(hist([1.0, 0.5, 0.4], [1.0, 0.6, 0.5])).numbers
    assert n["epochs"] == 3
    assert n["train_val_gap"] == pytest.approx((0.5 - 0.4) / 0.4)
    assert n["val_slope"] == pytest.approx(((0.5 - 1.0) / 2) / 0.7)
    assert n["oscillation"] == pytest.approx(np.std([-0.4, -0.1]) / 0.7)
    assert n["rising_epochs"] == 0
    assert n["best_epoch"] == 3 and n["best_val_loss"] == pytest.approx(0.5)


def test_uneven_lists_are_cut_to_the_shorter():
    d = dg.diagnose({"loss": [1.0, 0.5, 0.4, 0.3], "val_loss": [1.0, 0.6, 0.5]})
    assert d.numbers["epochs"] == 3


def test_regression_metrics_are_fine():
    d = dg.diagnose(hist([0.5, 0.1, 0.03, 0.02, 0.02], [0.4, 0.1, 0.03, 0.021, 0.021], "mse"))
    assert d.label == "healthy"


def test_diagnose_text_is_one_line_with_label_and_suggestion():
    d = dg.diagnose(rising_tail(dg.OVERFIT_MIN_RISING))
    text = dg.diagnose_text(d)
    assert "\n" not in text
    assert text == f"overfitting: {d.reason}: {d.suggestion}"


def test_every_label_has_a_suggestion():
    assert set(dg.SUGGESTIONS) == set(dg.LABELS) | {"unknown"}


def test_never_raises_on_random_histories():
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(500):
        n = int(rng.integers(0, 12))
        loss = list(rng.choice([0.1, 0.5, 1.0, 2.0, 10.0, NAN, INF, 0.0], size=n))
        val = list(rng.choice([0.1, 0.5, 1.0, 2.0, 10.0, NAN, -INF, 0.0], size=n))
        d = dg.diagnose({"loss": loss, "val_loss": val}, baseline_loss=rng.choice([None, 2.3, 0.0]))
        assert d.label in dg.LABELS + ("unknown",)
        assert set(REQUIRED) <= set(d.numbers)
        assert "\n" not in dg.diagnose_text(d)
        seen.add(d.label)
    assert {"diverged", "unknown"} <= seen
