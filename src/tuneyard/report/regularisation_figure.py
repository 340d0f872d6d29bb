"""The regularisation comparison's figure and note (the preset of report/compare_figure.py)."""

from __future__ import annotations

import math
from typing import Any

from tuneyard.report.compare_figure import comparison_figure as _figure
from tuneyard.report.compare_figure import write as write_files


def figure_title(result: Any) -> str:
    """The figure's title: the space, the learning rate, the epochs."""
    lr = result.params.get("learning_rate")
    return (f"Regularisation on {result.space} at learning rate {lr:.3g} "
            f"({result.epochs} epochs, no early stopping)")


def comparison_figure(result: Any) -> Any:
    """Rows: loss, then the metric; columns: the variants; training solid, validation dashed."""
    return _figure(result, figure_title(result))


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
        top = (max if result.maximize else min)(scored, key=lambda v: v.summary[key])
        text += f" Best {result.metric}: {top.name} ({top.summary[key]:.4g})."
    if any(v.dropout > 0 and v.summary["loss_gap"] < 0 for v in done):
        text += (" Validation below training is expected with dropout: it is active only in "
                 "training, so the training loss is measured on a handicapped network.")
    return text


def write(result: Any) -> None:
    """comparison.png, comparison.csv, comparison.json and index.html in result.folder."""
    write_files(result, title=f"Regularisation comparison: {result.space}",
                note=gap_note(result), figure_title=figure_title(result))
