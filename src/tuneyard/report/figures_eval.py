"""The report's figures that need more than curves: parameter importance and the test set.

Importance comes from Optuna's evaluators run on the stored trials, whichever
backend proposed them. A figure that cannot be drawn returns (None, why) so the
report can say so instead of failing.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from tuneyard.report.figures import COLORS, completed, plt, value_of

EVALUATORS = {"fANOVA": "FanovaImportanceEvaluator", "PED-ANOVA": "PedAnovaImportanceEvaluator"}


def importances(study: Any, trials: list) -> tuple[dict[str, dict[str, float]], list[str]]:
    """{evaluator: {param: importance}} for each evaluator that could run, and notes."""
    # heavy: optuna
    import optuna.importance as importance

    done = completed(trials)
    if len(done) < 2:
        return {}, [f"parameter importance needs at least 2 completed trials; "
                    f"the study has {len(done)}"]
    if len({value_of(t) for t in done}) < 2:
        return {}, ["parameter importance skipped: every completed trial has the same objective"]
    out, notes = {}, []
    for label, cls in EVALUATORS.items():
        try:
            evaluator = getattr(importance, cls)
            evaluator = evaluator(seed=0) if label == "fANOVA" else evaluator()
            with warnings.catch_warnings():  # "few trials per regime" is expected on small studies
                warnings.simplefilter("ignore")
                scores = importance.get_param_importances(study, evaluator=evaluator,
                                                          target=_first_objective(study))
        except Exception as exc:  # an evaluator that cannot fit these trials is only a note
            notes.append(f"{label} importance unavailable: {str(exc).splitlines()[0][:160]}")
            continue
        scores = {k: float(v) for k, v in scores.items() if math.isfinite(v)}
        if scores:
            out[label] = scores
        else:
            notes.append(f"{label} importance: no hyperparameter varied across the trials")
    return out, notes


def _first_objective(study: Any) -> Any:
    """The importance's target: None (the objective) for one, the first of several."""
    return (lambda trial: trial.values[0]) if len(study.directions) > 1 else None


def importance_figure(scores: dict[str, dict[str, float]], objective: str) -> Any:
    """Horizontal bars per evaluator, parameters in the first evaluator's order."""
    if not scores:
        return None
    first = next(iter(scores.values()))
    names = sorted(first, key=first.get)
    fig, axes = plt.subplots(1, len(scores), figsize=(5.4 * len(scores), 0.45 * len(names) + 1.8),
                             squeeze=False, sharey=True)
    for i, (ax, (label, values)) in enumerate(zip(axes[0], scores.items(), strict=True)):
        bars = [values.get(n, 0.0) for n in names]
        ax.barh(names, bars, color=COLORS[i % len(COLORS)])
        for y, v in enumerate(bars):
            ax.text(v, y, f" {v:.2f}", va="center", fontsize=8)
        ax.set(xlabel="importance (normalised: sums to 1)", title=label,
               xlim=(0, max(max(bars) * 1.2, 0.05)))
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"Hyperparameter importance for {objective} (Optuna evaluators)")
    fig.tight_layout()
    return fig


def confusion_figure(evaluation: dict) -> Any:
    """Test-set confusion matrix with counts, rows true class, columns predicted; a binary
    classifier's ROC curve beside it when the evaluation has one."""
    matrix = np.asarray(evaluation["confusion_matrix"])
    names = evaluation["class_names"]
    size = max(4.5, 0.5 * len(names) + 2.5)
    roc = evaluation.get("roc")
    if roc:
        fig, (ax, roc_ax) = plt.subplots(1, 2, figsize=(2 * size + 1.5, size))
    else:
        fig, ax = plt.subplots(figsize=(size + 1, size))
    shown = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(shown, ax=ax, label="test samples", fraction=0.046)
    top = matrix.max() or 1
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            ax.text(j, i, str(count), ha="center", va="center", fontsize=8,
                    color="white" if count > top / 2 else "black")
    ax.set_xticks(range(len(names)), names, rotation=45 if len(max(names, key=len)) > 2 else 0)
    ax.set_yticks(range(len(names)), names)
    ax.set(xlabel="predicted class", ylabel="true class",
           title=f"Test confusion matrix of trial {evaluation['trial']} "
                 f"(accuracy {evaluation['accuracy']:.4f})")
    if roc:
        roc_figure_axes(roc_ax, evaluation)
    fig.tight_layout()
    return fig


def roc_figure_axes(ax: Any, evaluation: dict) -> None:
    """The test ROC curve (true vs false positive rate) with its AUC and the chance line."""
    roc, names = evaluation["roc"], evaluation["class_names"]
    ax.plot([0, 1], [0, 1], "--", color="0.6", linewidth=1, label="chance (AUC 0.5)")
    ax.plot(roc["fpr"], roc["tpr"], "-", color=COLORS[0], linewidth=1.8,
            label=f"trial {evaluation['trial']} (AUC {evaluation['roc_auc']:.4f})")
    ax.set(xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), aspect="equal",
           xlabel=f"false positive rate (true {names[0]} called {names[1]})",
           ylabel=f"true positive rate ({names[1]} found)",
           title=f"Test ROC curve, positive class {names[1]}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")


def series_figure(evaluation: dict) -> Any:
    """Predicted vs true test series for a regression workload."""
    y_true, y_pred = evaluation["y_true"], evaluation["y_pred"]
    steps = np.arange(1, len(y_true) + 1)
    fig, ax = plt.subplots(figsize=(12, 4.2))
    ax.plot(steps, y_true, ".", color="0.55", markersize=4, label="true (noisy) value")
    if evaluation.get("clean"):
        ax.plot(steps, evaluation["clean"], "-", color="0.2", linewidth=1,
                label="noise-free wave")
    ax.plot(steps, y_pred, "-", color=COLORS[3], linewidth=1.6, label="prediction")
    floor = evaluation.get("noise_floor")
    extra = f", noise floor {floor:.4g}" if floor is not None else ""
    ax.set(xlabel="test step (one-step-ahead forecast)", ylabel="value",
           title=f"Test predictions of trial {evaluation['trial']}: "
                 f"MSE {evaluation['mse']:.4g}{extra}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def evaluation_figure(evaluation: dict | None) -> tuple[Any, str]:
    """The best trial's test-set figure, or (None, why not)."""
    if not evaluation:
        return None, ("no test-set evaluation yet: run `tune evaluate STUDY` "
                      "(or `tune report STUDY --evaluate`)")
    if evaluation.get("task") == "classification":
        return confusion_figure(evaluation), ""
    return series_figure(evaluation), ""
