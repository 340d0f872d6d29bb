"""Compare one factor: the same model, data and seeds, one hyperparameter changed.

`tune compare --space NAME --vary optimizer=sgd,adam` trains one variant per listed
value; every other hyperparameter of the space is held at one base point, chosen per
hyperparameter in this order:

1. `--set name=value`;
2. the workload's course network (its `course_network`: for the shipped ones the course's
   small networks) and the builders' training defaults
   (adam at learning rate 0.001, no l2, no dropout), when the space allows the value;
3. the space's middle: a choice's first value, a number's midpoint (geometric when
   log-scaled), snapped to its step and to a whole number for ints.

Every listed or set value must lie in the space's range or choices; 0 is also allowed
for l2 and dropout (it turns them off, the course's baseline). Early stopping is off so
every variant runs the same epochs, and every variant is seeded from the comparison's
seed and base point (not its own point), so variants with the same layers start from
the same weights and see the same batches. Each variant's best-epoch model is scored
on the held-out test split. The regularisation comparison is a preset of this.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuneyard.analysis.diagnosis import diagnose
from tuneyard.analysis.factor import CompareError, factor_points, parse_fixed
from tuneyard.engine.training import Trainer, execution_seed
from tuneyard.evaluation.evaluate import score
from tuneyard.records.trial import Proposal
from tuneyard.space.data import load_space_data
from tuneyard.space.file import load_space
from tuneyard.store.paths import check_study_name, study_dir
from tuneyard.workloads.pipelines import with_test_arrays


@dataclass
class Variant:
    """One trained variant: its label, what it changes, the whole point, curves and numbers."""

    name: str
    changes: dict
    params: dict
    history: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    seeds: list = field(default_factory=list)

    def as_dict(self) -> dict:
        """A JSON-ready description."""
        return dataclasses.asdict(self)


@dataclass
class Comparison:
    """Variants trained on one dataset from one base point."""

    space: str
    params: dict
    epochs: int
    metric: str
    variants: list
    folder: Path | None = None
    factor: str = ""
    seed: int = 0
    title: str = ""
    maximize: bool = False  # the space's direction: is a larger objective better


class CompareEvents:
    """What a comparison tells its caller while it runs (the CLI prints it); silent here."""

    def started(self, variant: Variant, index: int, total: int, epochs: int) -> None:
        """Variant `index` of `total` starts training."""

    def finished(self, variant: Variant, index: int, total: int) -> None:
        """Variant `index` of `total` is trained and scored (its summary is filled in)."""

def factor_variants(space: Any, vary: str, fixed: dict | None = None) -> list[Variant]:
    """One variant per value of `vary` ("name=v1,v2"), all else at the base point."""
    return [Variant(*point) for point in factor_points(space, vary, fixed)]


def compare_factor(space_name: str, vary: str, *, sets: list[str] | None = None,
                   name: str | None = None, epochs: int | None = None, subset: int | None = None,
                   seed: int = 0, data_dir: str | None = None,
                   events: CompareEvents | None = None) -> Comparison:
    """Train one variant per value of the varied hyperparameter (the CLI writes
    results/<name>/: `report.compare_figure.write`)."""
    space = load_space(space_name)
    runs = factor_variants(space, vary, parse_fixed(space, sets))
    if len(runs) < 2:
        raise CompareError(f"--vary {vary} lists one value; list at least two to compare")
    if epochs is not None and epochs < 1:
        raise CompareError(f"--epochs must be at least 1, got {epochs}")
    factor = next(iter(runs[0].changes))
    name = check_study_name(name or f"compare-{space.name}-{factor}-s{seed}")
    epochs = epochs or space.training.epochs
    base = {k: v for k, v in runs[0].params.items() if k != factor}
    result = Comparison(space.name, base, epochs, space.metric, runs, study_dir(name), factor, seed,
                        f"{factor} on {space.name}", space.maximize)
    train(space, result, subset=subset, data_dir=data_dir, events=events)
    return result


def train(space: Any, result: Comparison, *, subset: int | None, data_dir: str | None,
          events: CompareEvents | None = None) -> None:
    """Train and score every variant of `result` in turn, telling `events` as it goes."""
    events = events or CompareEvents()
    workload, dataset = load_space_data(space, data_dir=data_dir, subset=subset, seed=result.seed)
    # Same epochs for every variant: early stopping would hide the gap a comparison shows.
    fixed = dataclasses.replace(space, training=dataclasses.replace(space.training, patience=0))
    trainer = SameSeedTrainer(fixed, workload, dataset, seed=result.seed, seed_point=result.params)
    for index, variant in enumerate(result.variants, 1):
        events.started(variant, index, len(result.variants), result.epochs)
        _train(trainer, variant, result.epochs, space.metric)
        events.finished(variant, index, len(result.variants))


class SameSeedTrainer(Trainer):
    """A trainer that seeds every proposal's executions from one point, not the proposal's own.

    The sweep's trainer seeds from each point, so two variants would start from different
    weights; a comparison wants only the varied factor to differ.
    """

    def __init__(self, *args: Any, seed_point: dict, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.seed_point, self.used = dict(seed_point), []

    def _fit_once(self, proposal: Any, seed: int, execution: int, extra: list) -> dict:
        seed = execution_seed(self.seed, self.seed_point, execution)
        self.used.append(seed)
        return super()._fit_once(proposal, seed, execution, extra)


def _train(trainer: SameSeedTrainer, variant: Variant, epochs: int, metric: str) -> None:
    trainer.used = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "best.keras"
        result = trainer.run(Proposal(params=dict(variant.params), epochs=epochs,
                                      save_best_to=str(path)))
        variant.seeds, variant.history = list(trainer.used), result.history
        variant.summary = summarise(result.history, metric, trainer.space.maximize)
        if result.ok and path.exists():
            variant.summary.update(test_scores(trainer.workload, trainer.dataset, path))
    variant.summary["diagnosis"] = diagnose(result.history, epochs_budget=epochs).label
    variant.summary["seconds"] = round(result.seconds, 2)
    if result.error:
        variant.summary["error"] = result.error


def test_scores(workload: Any, dataset: Any, path: Path) -> dict:
    """The saved model's held-out test scores: test_accuracy (test_roc_auc) or test_mse."""
    # heavy: keras
    import keras

    dataset = with_test_arrays(dataset, f"workload {workload.name}")
    keras.backend.clear_session()
    model = keras.models.load_model(str(path))
    predictions = model.predict(dataset.x_test, verbose=0, batch_size=256)
    keras.backend.clear_session()
    scores = score(workload.task, dataset, predictions)
    keep = ("accuracy", "roc_auc") if scores["task"] == "classification" else ("mse", "mse_vs_clean")
    return {f"test_{k}": float(scores[k]) for k in keep if k in scores}


test_scores.__test__ = False  # a helper named test_*, not a test


def summarise(history: dict, metric: str, maximize: bool | None = None) -> dict:
    """Last-epoch train and validation loss and metric, their gaps, the best objective.

    `maximize` is the objective's direction (default: accuracy-like metrics are maximised).
    """
    def last(key: str) -> float:
        values = history.get(key) or [math.nan]
        return float(values[-1])

    name = metric.removeprefix("val_")
    out = {"train_loss": last("loss"), "val_loss": last("val_loss")}
    out["loss_gap"] = out["val_loss"] - out["train_loss"]
    out["loss_gap_pct"] = 100 * out["loss_gap"] / abs(out["train_loss"]) if out["train_loss"] \
        else math.nan
    higher = higher_is_better(metric) if maximize is None else maximize
    if name != "loss":
        out[f"train_{name}"], out[metric] = last(name), last(metric)
        # Positive means validation is worse than training, whichever way the metric points.
        gap = out[f"train_{name}"] - out[metric]
        out[f"{name}_gap"] = gap if higher else -gap
    values = [v for v in history.get(metric) or [] if math.isfinite(v)]
    out[f"best_{metric}"] = (max(values) if higher else min(values)) if values else math.nan
    return out


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of `metric` is better (accuracy-like metrics)."""
    return metric.removeprefix("val_") in ("accuracy", "auc", "precision", "recall")
