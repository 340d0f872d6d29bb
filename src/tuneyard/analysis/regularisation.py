"""The course's regularisation comparison: baseline vs L2 vs dropout vs both.

One small network (the course's baseline: Dense 128 ReLU for MNIST) is trained
four times at one fixed learning rate (the best a study found, or given): with
no regularisation, with L2 on the hidden kernels, with dropout, and with both.
Early stopping is off so every variant runs the same epochs, and the train-val
gap of each variant shows what each did. Figures and a table land in
results/regularisation/<name>/ (or results/<study>/regularisation/).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuneyard.errors import TuneyardError
from tuneyard.store.optuna_store import results_dir, study_dir

# The course's small networks, one per workload (the architecture held fixed).
BASELINES = {
    "mnist_mlp": {"num_layers": 1, "units_1": 128},
    "cifar_cnn": {"conv_blocks": 1, "filters_1": 32, "kernel_size": 3, "dense_units": 128},
    "sine_lstm": {"lstm_layers": 2, "units": 64},
}
DEFAULT_LR = 1e-3


@dataclass
class Variant:
    """One trained variant: its name, regularisation, history and summary numbers."""

    name: str
    l2: float
    dropout: float
    history: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)


@dataclass
class Comparison:
    """Four variants trained on one dataset at one learning rate."""

    space: str
    params: dict
    epochs: int
    metric: str
    variants: list[Variant]
    folder: Path | None = None


def variants(l2: float, dropout: float) -> list[Variant]:
    """The four variants of the comparison."""
    return [Variant("baseline", 0.0, 0.0), Variant(f"L2 {l2:g}", l2, 0.0),
            Variant(f"dropout {dropout:g}", 0.0, dropout),
            Variant(f"L2 {l2:g} + dropout {dropout:g}", l2, dropout)]


def base_params(workload: str, learning_rate: float | None, best: dict | None) -> dict:
    """The fixed network: the course baseline, at the given or the study's best learning rate."""
    if workload not in BASELINES:
        raise TuneyardError(f"no baseline network for workload {workload!r}; "
                            f"use one of {', '.join(BASELINES)}")
    best = best or {}
    rate = learning_rate or best.get("learning_rate") or DEFAULT_LR
    if not float(rate) > 0:
        raise TuneyardError(f"--learning-rate must be > 0, got {rate}")
    return {**BASELINES[workload], "learning_rate": float(rate),
            "optimizer": best.get("optimizer", "adam")}


def compare(space_name: str | None = None, *, study: str | None = None,
            storage: str | None = None, learning_rate: float | None = None, l2: float = 0.001,
            dropout: float = 0.5, epochs: int | None = None, subset: int | None = None,
            seed: int = 0, data_dir: str | None = None) -> Comparison:
    """Train the four variants and write the comparison's figure, table and JSON."""
    from tuneyard.space.file import load_space

    if not l2 > 0 or not 0 < dropout < 1:
        raise TuneyardError(f"need --l2 > 0 and 0 < --dropout < 1, got {l2} and {dropout}")
    if epochs is not None and epochs < 2:
        raise TuneyardError(f"--epochs must be at least 2 to show curves, got {epochs}")
    best, folder = None, None
    if study:
        best, config = _study_best(study, storage)
        space_name = space_name or config.get("space")
        subset = subset if subset is not None else config.get("subset")
        folder = study_dir(study) / "regularisation"
    if not space_name:
        raise TuneyardError("give --space NAME or --study STUDY")
    space = load_space(space_name)
    params = base_params(space.workload, learning_rate, best)
    epochs = epochs or space.training.epochs
    trainer = _trainer(space, subset, seed, data_dir)
    runs = variants(l2, dropout)
    for variant in runs:
        _train(trainer, variant, params, epochs, space.metric)
    result = Comparison(space.name, params, epochs, space.metric, runs)
    name = f"{space.name}-lr{params['learning_rate']:g}-s{seed}"
    result.folder = folder or results_dir() / "regularisation" / name
    write(result)
    return result


def _study_best(study: str, storage: str | None) -> tuple[dict, dict]:
    from tuneyard.analysis.evaluate import best_trial
    from tuneyard.store.optuna_store import Store

    store = Store(storage, study, readonly=True)
    store.load()
    return dict(best_trial(store).params), store.config


def _trainer(space: Any, subset: int | None, seed: int, data_dir: str | None) -> Any:
    from tuneyard.analysis.evaluate import load_data
    from tuneyard.engine.training import Trainer

    workload, dataset = load_data(space, subset, seed, data_dir)
    # Same epochs for every variant: early stopping would hide the gap it is meant to show.
    fixed = dataclasses.replace(space, training=dataclasses.replace(space.training, patience=0))
    return Trainer(fixed, workload, dataset, seed=seed)


def _train(trainer: Any, variant: Variant, params: dict, epochs: int, metric: str) -> None:
    from tuneyard.analysis.diagnosis import diagnose
    from tuneyard.engine.proposal import Proposal

    result = trainer.run(Proposal(params={**params, "l2": variant.l2,
                                          "dropout": variant.dropout}, epochs=epochs))
    variant.history = result.history
    variant.summary = summarise(result.history, metric)
    variant.summary["diagnosis"] = diagnose(result.history, epochs_budget=epochs).label
    variant.summary["seconds"] = round(result.seconds, 2)
    if result.error:
        variant.summary["error"] = result.error


def summarise(history: dict, metric: str) -> dict:
    """Last-epoch train and validation loss and metric, their gaps, the best objective."""
    def last(key: str) -> float:
        values = history.get(key) or [math.nan]
        return float(values[-1])

    name = metric.removeprefix("val_")
    out = {"train_loss": last("loss"), "val_loss": last("val_loss")}
    out["loss_gap"] = out["val_loss"] - out["train_loss"]
    out["loss_gap_pct"] = 100 * out["loss_gap"] / abs(out["train_loss"]) if out["train_loss"] \
        else math.nan
    higher = name in ("accuracy", "auc", "precision", "recall")
    if name != "loss":
        out[f"train_{name}"], out[metric] = last(name), last(metric)
        # Positive means validation is worse than training, whichever way the metric points.
        gap = out[f"train_{name}"] - out[metric]
        out[f"{name}_gap"] = gap if higher else -gap
    values = [v for v in history.get(metric) or [] if math.isfinite(v)]
    out[f"best_{metric}"] = (max(values) if higher else min(values)) if values else math.nan
    return out


def table_rows(result: Comparison) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows of the comparison table."""
    keys = list(dict.fromkeys(k for v in result.variants for k in v.summary))
    return ["variant", *keys], [[v.name, *(v.summary.get(k) for k in keys)]
                                for v in result.variants]


def write(result: Comparison) -> None:
    """comparison.png, comparison.csv, comparison.json and index.html in result.folder."""
    import csv

    from tuneyard.report.figures import save
    from tuneyard.report.html import STYLE, figure_html, table
    from tuneyard.report.regularisation_figure import comparison_figure, gap_note

    folder = result.folder
    folder.mkdir(parents=True, exist_ok=True)
    save(comparison_figure(result), folder / "comparison.png")
    headers, rows = table_rows(result)
    with open(folder / "comparison.csv", "w", newline="") as handle:
        csv.writer(handle).writerows([headers, *rows])
    data = {"space": result.space, "params": result.params, "epochs": result.epochs,
            "metric": result.metric,
            "variants": [dataclasses.asdict(v) for v in result.variants]}
    (folder / "comparison.json").write_text(json.dumps(data, indent=1, default=str))
    title = f"Regularisation comparison: {result.space}"
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{STYLE}</style></head><body><h1>{title}</h1>"
            f'<p class="meta">fixed params {result.params}, {result.epochs} epochs, '
            f"no early stopping</p>{table(headers, rows, ('variant', 'diagnosis', 'error'))}"
            f"<p>{gap_note(result)}</p>"
            f"{figure_html(folder / 'comparison.png', 'Curves side by side', '')}</body></html>")
    (folder / "index.html").write_text(page, encoding="utf-8")
