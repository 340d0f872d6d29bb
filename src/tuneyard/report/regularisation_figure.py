"""The regularisation comparison's figure: each variant's curves, side by side."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tuneyard.report.figures import COLORS, panel_metric, plt


def comparison_figure(result: Any) -> Any:
    """Rows: loss, then the metric; columns: the variants; training solid, validation dashed."""
    first = next((v.history for v in result.variants if v.history), {})
    metric = panel_metric(first, result.metric)
    keys = ["loss"] + ([metric] if metric else [])
    cols = len(result.variants)
    fig, axes = plt.subplots(len(keys), cols, figsize=(3.6 * cols, 3.2 * len(keys)),
                             squeeze=False, sharey="row", sharex=True)
    for col, variant in enumerate(result.variants):
        color = COLORS[col % len(COLORS)]
        for row, key in enumerate(keys):
            ax = axes[row][col]
            for name, style, label in ((key, "-", "training"), ("val_" + key, "--", "validation")):
                values = np.asarray(variant.history.get(name) or [], dtype=float)
                ax.plot(np.arange(1, values.size + 1), values, style, color=color, marker="o",
                        markersize=3, label=label)
            ax.grid(alpha=0.3)
            ax.xaxis.get_major_locator().set_params(integer=True)
            if col == 0:
                ax.set_ylabel(key)
            if row == len(keys) - 1:
                ax.set_xlabel("epoch")
            if row == 0:
                gap = variant.summary.get("loss_gap_pct", math.nan)
                ax.set_title(f"{variant.name}\nval-train loss gap {gap:+.1f}%", fontsize=10)
        axes[0][col].legend(fontsize=8)
    lr = result.params.get("learning_rate")
    fig.suptitle(f"Regularisation on {result.space} at learning rate {lr:.3g} "
                 f"({result.epochs} epochs, no early stopping)")
    fig.tight_layout()
    return fig


def gap_note(result: Any) -> str:
    """One sentence: which variant generalised best (smallest gap) and which scored best."""
    done = [v for v in result.variants if math.isfinite(v.summary.get("loss_gap", math.nan))]
    if not done:
        return "no variant finished training"
    tight = min(done, key=lambda v: abs(v.summary["loss_gap"]))
    key = f"best_{result.metric}"
    scored = [v for v in done if math.isfinite(v.summary.get(key, math.nan))]
    text = f"Smallest train-validation loss gap: {tight.name} ({tight.summary['loss_gap']:+.4g})."
    if scored:
        higher = result.metric.removeprefix("val_") in ("accuracy", "auc", "precision", "recall")
        top = (max if higher else min)(scored, key=lambda v: v.summary[key])
        text += f" Best {result.metric}: {top.name} ({top.summary[key]:.4g})."
    if any(v.dropout > 0 and v.summary["loss_gap"] < 0 for v in done):
        text += (" Validation below training is expected with dropout: it is active only in "
                 "training, so the training loss is measured on a handicapped network.")
    return text
