"""The report's figures of a sweep: training curves, search history, objective per parameter.

Each function takes stored Optuna trials (any backend) and returns a matplotlib
Figure drawn with the Agg backend, or None when there is nothing to draw.
"""

from __future__ import annotations

import math
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import NullFormatter

from tuneyard.records.attributes import HISTORY_ATTR, RESULT_ATTR  # noqa: E402
from tuneyard.records.trial import first_value as value_of  # noqa: E402 - the first objective's

COLORS = plt.rcParams["axes.prop_cycle"].by_key()["color"]


def completed(trials: list) -> list:
    """Completed trials with a finite (first) objective."""
    return [t for t in trials if t.state.name == "COMPLETE" and value_of(t) is not None
            and math.isfinite(value_of(t))]


def ranked(trials: list, maximize: bool) -> list:
    """Completed trials, best first."""
    return sorted(completed(trials), key=lambda t: ((-value_of(t) if maximize else value_of(t)), t.number))


def curve_trials(trials: list, maximize: bool, top: int) -> list:
    """The trials the curves figure draws: the best `top` completed ones with a history."""
    return [t for t in ranked(trials, maximize) if t.user_attrs.get(HISTORY_ATTR)][:top]


def panel_metric(history: dict, objective: str) -> str | None:
    """The metric drawn beside the loss: the objective's training name when it is not the loss."""
    name = objective.removeprefix("val_")
    if name != "loss" and name in history:
        return name
    return next((k for k in history if k != "loss" and not k.startswith("val_")), None)


def curves_figure(trials: list, objective: str, maximize: bool, top: int = 5) -> Any:
    """The classic two panels, loss and metric, training (solid) vs validation (dashed)."""
    best = curve_trials(trials, maximize, top)
    if not best:
        return None
    metric = panel_metric(best[0].user_attrs[HISTORY_ATTR], objective)
    keys = ["loss"] + ([metric] if metric else [])
    fig, axes = plt.subplots(1, len(keys), figsize=(6.2 * len(keys), 4.6), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        spread = []
        for i, trial in enumerate(best):
            history = trial.user_attrs[HISTORY_ATTR]
            start = int((trial.user_attrs.get(RESULT_ATTR) or {}).get("initial_epoch") or 0)
            color = COLORS[i % len(COLORS)]
            for name, style in ((key, "-"), ("val_" + key, "--")):
                values = np.asarray(history.get(name) or [], dtype=float)
                if values.size:
                    epochs = np.arange(start + 1, start + values.size + 1)
                    ax.plot(epochs, values, style, color=color, marker="o", markersize=3)
                    spread.extend(values[np.isfinite(values)])
            ax.plot([], [], "-", color=color, label=f"trial {trial.number} ({value_of(trial):.4g})")
        ax.plot([], [], "-", color="0.3", label="training")
        ax.plot([], [], "--", color="0.3", label="validation")
        _log_if_wide(ax, spread)
        ax.set(xlabel="epoch", ylabel=key, title=f"{key}: training vs validation")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=8, title=f"best {len(best)} by {objective}", title_fontsize=8,
                       loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.suptitle(f"Training curves of the best {len(best)} trials")
    fig.tight_layout()
    return fig


def _log_if_wide(ax: Any, values: list, ratio: float = 10.0) -> None:
    values = [v for v in values if v > 0]
    if values and max(values) / min(values) > ratio:
        ax.set_yscale("log")


def _log_x(ax: Any) -> None:
    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels collide on short ranges


def history_figure(trials: list, objective: str, maximize: bool) -> Any:
    """Best-so-far against trial number and against cumulative training epochs."""
    ordered = sorted(trials, key=lambda t: t.number)
    if not completed(ordered):
        return None
    xs, values, best_x, best_y, best_epochs = [], [], [], [], []
    best, cumulative = None, 0
    for trial in ordered:
        result = trial.user_attrs.get(RESULT_ATTR) or {}
        cumulative += int(result.get("epochs_run") or len(trial.intermediate_values))
        if trial in completed([trial]):
            xs.append(trial.number)
            values.append(value_of(trial))
            if best is None or (value_of(trial) > best if maximize else value_of(trial) < best):
                best = value_of(trial)
        if best is not None:
            best_x.append(trial.number)
            best_y.append(best)
            best_epochs.append(cumulative)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12.4, 4.4))
    left.scatter(xs, values, s=22, color=COLORS[0], alpha=0.7, label="trial")
    left.step(best_x, best_y, where="post", color=COLORS[3], label="best so far")
    left.set(xlabel="trial number", title="Objective per trial")
    right.step(best_epochs, best_y, where="post", color=COLORS[3], marker="o", markersize=3,
               label="best so far")
    right.set(xlabel="cumulative training epochs (all trials)", title="Best so far against cost")
    for ax in (left, right):
        ax.set_ylabel(objective)
        _log_if_wide(ax, values)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"Search history ({objective}, {'higher' if maximize else 'lower'} is better)")
    fig.tight_layout()
    return fig


def params_figure(trials: list, objective: str, maximize: bool) -> Any:
    """Objective against each hyperparameter; log axes for log-scaled ranges."""
    done = completed(trials)
    names = list(dict.fromkeys(n for t in done for n in t.params))
    if not done or not names:
        return None
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.4 * cols, 3.5 * rows), squeeze=False)
    best = ranked(done, maximize)[0]
    values = [value_of(t) for t in done]
    for ax, name in zip(axes.flat, names, strict=False):
        have = [t for t in done if name in t.params]
        dist = next(t.distributions[name] for t in have)
        ys = [value_of(t) for t in have]
        if hasattr(dist, "choices"):
            labels = [str(c) for c in dist.choices]
            pos = [labels.index(str(t.params[name])) for t in have]
            jitter = np.random.default_rng(0).uniform(-0.12, 0.12, len(pos))
            ax.scatter(np.add(pos, jitter), ys, s=20, alpha=0.7, color=COLORS[0])
            ax.set_xticks(range(len(labels)), labels)
            ax.set_xlim(-0.5, len(labels) - 0.5)
            best_x = labels.index(str(best.params[name])) if name in best.params else None
        else:
            ax.scatter([t.params[name] for t in have], ys, s=20, alpha=0.7, color=COLORS[0])
            if getattr(dist, "log", False):
                _log_x(ax)
                ax.set_xlim(dist.low / 1.5, dist.high * 1.5)  # the searched range, not the hits
            elif type(dist).__name__ == "IntDistribution":
                ax.xaxis.get_major_locator().set_params(integer=True)
            best_x = best.params.get(name)
        if name in best.params:
            ax.scatter([best_x], [value_of(best)], s=90, marker="*", color=COLORS[3], zorder=3,
                       label=f"best (trial {best.number})")
            ax.legend(fontsize=7)
        _log_if_wide(ax, values)
        ax.set(xlabel=name, ylabel=objective)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    fig.suptitle(f"{objective} against each hyperparameter ({len(done)} completed trials)")
    fig.tight_layout()
    return fig


def save(fig: Any, path: Any) -> None:
    """Write a figure as PNG and free it."""
    fig.savefig(path, dpi=100)
    plt.close(fig)
