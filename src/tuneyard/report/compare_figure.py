"""A comparison's figure and files: each variant's curves side by side, a table, a page.

Used by `tune compare` and its regularisation preset: comparison.png (rows: loss, then
the metric; one column per variant; training solid, validation dashed; the rows share
their y-axis), comparison.csv (one row per variant), comparison.json and index.html.
"""

from __future__ import annotations

import csv
import json
import math
from html import escape
from typing import Any

import numpy as np

from tuneyard.report.figures import COLORS, panel_metric, plt, save
from tuneyard.report.html import STYLE, figure_html, table

TEXT_COLUMNS = ("variant", "diagnosis", "error")


def comparison_figure(result: Any, title: str | None = None) -> Any:
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
                ax.set_title(f"{variant.name}\n{_subtitle(variant, result.metric)}", fontsize=10)
        axes[0][col].legend(fontsize=8)
    fig.suptitle(title or f"{result.title} ({result.epochs} epochs, no early stopping, seed "
                          f"{result.seed})")
    fig.tight_layout()
    return fig


def _subtitle(variant: Any, metric: str) -> str:
    gap = variant.summary.get("loss_gap_pct", math.nan)
    best = variant.summary.get(f"best_{metric}", math.nan)
    text = f"val-train loss gap {gap:+.1f}%"
    return text if not math.isfinite(best) else f"best {metric} {best:.4g}\n{text}"


def table_rows(result: Any) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows of the comparison table (every summary key, in first-seen order)."""
    keys = list(dict.fromkeys(k for v in result.variants for k in v.summary))
    return ["variant", *keys], [[v.name, *(v.summary.get(k) for k in keys)]
                                for v in result.variants]


def best_note(result: Any) -> str:
    """One sentence: which variant scored best on validation and which on the test split."""
    pick = max if result.maximize else min
    parts = []
    for key in (f"best_{result.metric}", *_test_keys(result)[:1]):
        scored = [v for v in result.variants if math.isfinite(v.summary.get(key, math.nan))]
        if scored:
            top = pick(scored, key=lambda v, k=key: v.summary[k])
            parts.append(f"best {key.removeprefix('best_')}: {top.name} ({top.summary[key]:.4g})")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "." if parts else "No variant finished training."


def _test_keys(result: Any) -> list[str]:
    keys = dict.fromkeys(k for v in result.variants for k in v.summary if k.startswith("test_"))
    return list(keys)


def write(result: Any, title: str | None = None, note: str | None = None,
          figure_title: str | None = None) -> None:
    """comparison.png, comparison.csv, comparison.json and index.html in result.folder."""
    folder = result.folder
    folder.mkdir(parents=True, exist_ok=True)
    save(comparison_figure(result, figure_title), folder / "comparison.png")
    headers, rows = table_rows(result)
    with open(folder / "comparison.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([headers, *rows])
    data = {"space": result.space, "factor": result.factor, "params": result.params,
            "epochs": result.epochs, "metric": result.metric, "seed": result.seed,
            "variants": [v.as_dict() for v in result.variants]}
    (folder / "comparison.json").write_text(json.dumps(data, indent=1, default=str))
    title = escape(title or f"Comparison: {result.title}")
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{STYLE}</style></head><body><h1>{title}</h1>"
            f'<p class="meta">fixed params {escape(str(result.params))}, {result.epochs} epochs, '
            f"no early stopping, seed {result.seed}; test scores: each variant's best-epoch "
            f"model on the held-out test split</p>{table(headers, rows, TEXT_COLUMNS)}"
            f"<p>{escape(note or best_note(result))}</p>"
            f"{figure_html(folder / 'comparison.png', 'Curves side by side', '')}</body></html>")
    (folder / "index.html").write_text(page, encoding="utf-8")
