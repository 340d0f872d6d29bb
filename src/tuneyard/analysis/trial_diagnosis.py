"""One diagnosis per trial: the curve rules of `analysis/diagnosis.py` on the objective's curves.

The engine judges a trial once, when it is recorded (`recorded_diagnosis`), and the store
keeps the label as the flat user attribute `diagnosis` (details in `result["diagnosis"]`);
the leaderboard, the CSV, `tune diagnose` and the report all read it back through
`trial_diagnosis`, which computes the same function on the fly for trials stored without
one. What a workload knows (a trivial model's baseline, the best value its inputs allow)
comes through the Workload contract's optional hooks, found once per study (`Judge`).

The curves judged are the objective's own: `mse` and `val_mse` for an objective
`val_mse`, never `loss`/`val_loss`, which include any L2 penalty (a trial at the
noise floor can have a val_loss 100 times its val_mse). A maximised objective is
judged by its shortfall (`1 - accuracy`: the error rate), so the rules, written for
curves that fall, apply unchanged. When the history lacks the training side of the
objective, `loss`/`val_loss` are judged instead.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

from tuneyard.analysis.diagnosis import SUGGESTIONS, Diagnosis, at_linear_bound, diagnose
from tuneyard.analysis.suggestions import for_space
from tuneyard.errors import TuneyardError
from tuneyard.records.attributes import DIAGNOSIS_ATTR, HISTORY_ATTR, RESULT_ATTR
from tuneyard.records.trial import Proposal, TrialResult
from tuneyard.space.core import Space
from tuneyard.space.file import space_folder, space_of_study
from tuneyard.workloads.base import Bound, DataSetup, Workload
from tuneyard.workloads.registry import resolve_workload

# A hook that fails is no reason to lose a trial or a leaderboard: it is taken to know nothing.
HOOK_ERRORS = (TuneyardError, OSError, ArithmeticError, LookupError, TypeError, ValueError)


def epochs_budget(attrs: dict) -> int | None:
    """Epochs the trial was asked to train in this run (its budget minus any warm start)."""
    result = attrs.get(RESULT_ATTR) or {}
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


def baseline_for(key: str, table: dict[str, float]) -> float | None:
    """The baseline of the curve called `key` (`sparse_categorical_accuracy` ends in accuracy)."""
    return next((value for name, value in table.items() if key == name or key.endswith(name)), None)


class Judge:
    """What diagnosing one study's trials needs: its objective, and its workload's hooks
    with the setup its data was drawn with (None where the workload cannot be found)."""

    def __init__(self, metric: str, maximize: bool, workload: Workload | None = None,
                 setup: DataSetup | None = None):
        self.metric, self.maximize = metric, maximize
        self.workload, self.setup = workload, setup or DataSetup()

    @functools.cached_property
    def baselines(self) -> dict[str, float]:
        """The workload's trivial baselines by curve name (`Workload.trivial_baselines`)."""
        if self.workload is None:
            return {}
        try:
            return dict(self.workload.trivial_baselines(self.setup) or {})
        except HOOK_ERRORS:
            return {}

    def bound(self, params: dict | None) -> Bound | None:
        """The best value the trial's inputs allow (`Workload.best_possible`), if known."""
        if self.workload is None:
            return None
        try:
            return self.workload.best_possible(self.setup, params)
        except HOOK_ERRORS:
            return None

    def diagnose(self, attrs: dict, params: dict | None = None) -> Diagnosis:
        """Diagnose one trial from its user attributes: the objective's curves against the
        workload's trivial baseline, and beside the best value its inputs allow (`params`
        give the inputs when the space searches them)."""
        history = attrs.get(HISTORY_ATTR) or {}
        curves, key, measure = objective_curves(history, self.metric, self.maximize)
        budget = epochs_budget(attrs)
        ran = len(curves.get("loss") or [])
        baseline = baseline_for(key, self.baselines) if history else None
        d = diagnose(curves, baseline_loss=baseline, epochs_budget=budget,
                     stopped_early=budget is not None and 0 < ran < budget, measure=measure)
        return self._bound_note(for_space(d, self.names), history, params)

    @property
    def names(self) -> frozenset[str]:
        """The space's hyperparameters and fixed settings: what suggestions may name."""
        return self.setup.searched | frozenset(self.setup.fixed)

    def _bound_note(self, d: Diagnosis, history: dict, params: dict | None) -> Diagnosis:
        best = [v for v in history.get(self.metric) or [] if v is not None]
        if self.maximize or not best:
            return d
        bound = self.bound(params)
        if bound is None:
            return d
        return at_linear_bound(d, min(best), bound.value, bound.inputs, longest=bound.longest)


def judge_of(config: dict, space: Space | None = None) -> Judge:
    """The judge of a study from its stored config (metric, direction, workload, seed,
    subset, space); `space` when the caller holds it (a sweep), so it is not read back."""
    if space is not None:
        return _judge(config, space)
    keys = ("metric", "direction", "workload", "seed", "subset", "space_text", "space_file",
            "space")
    return _stored_judge(tuple(_hashable(config.get(k)) for k in keys))


def _hashable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | type(None)) else repr(value)


@functools.cache
def _stored_judge(key: tuple) -> Judge:
    config = dict(zip(("metric", "direction", "workload", "seed", "subset", "space_text",
                       "space_file", "space"), key, strict=True))
    try:
        space = space_of_study(config, check_workload=False)
    except (TuneyardError, OSError, TypeError, ValueError):  # the space file is gone
        folder = str(Path(config["space_file"]).parent) if config.get("space_file") else None
        return Judge(config.get("metric") or "val_loss", config.get("direction") == "maximize",
                     _workload(config.get("workload"), folder),
                     DataSetup(seed=config.get("seed") or 0, subset=config.get("subset")))
    return _judge(config, space)


def _judge(config: dict, space: Space) -> Judge:
    setup = DataSetup(seed=config.get("seed") or 0, subset=config.get("subset"),
                      validation_split=space.training.validation_split, fixed=dict(space.fixed),
                      searched=frozenset(p.name for p in space.params))
    return Judge(config.get("metric") or space.metric,
                 (config.get("direction") or space.direction) == "maximize",
                 _workload(config.get("workload") or space.workload, space_folder(space)), setup)


@functools.cache
def _workload(name: Any, folder: str | None) -> Workload | None:
    """The study's workload, or None where it cannot be found (a build function handed to
    tuneyard.search in another process, a module that is gone)."""
    if not isinstance(name, str) or not name:
        return None
    try:
        return resolve_workload(name, folder)
    except TuneyardError:
        return None


def diagnose_trial(attrs: dict, config: dict, params: dict | None = None) -> Diagnosis:
    """Diagnose one trial from its user attributes and its study's config (metric, direction,
    workload, seed): `Judge.diagnose` with the study's judge."""
    return judge_of(config).diagnose(attrs, params)


def recorded_diagnosis(judge: Judge, proposal: Proposal, result: TrialResult) -> tuple[str, dict]:
    """The diagnosis the store keeps for a trial just finished (`stored_fields`)."""
    attrs = {"history": result.history,
             "result": {"epochs": proposal.epochs, "initial_epoch": proposal.initial_epoch}}
    return stored_fields(judge.diagnose(attrs, proposal.params))


def stored_fields(d: Diagnosis) -> tuple[str, dict]:
    """What the store keeps: the label (a flat attribute) and the details (inside `result`)."""
    numbers = {k: float(f"{v:.6g}") for k, v in d.numbers.items() if math.isfinite(v)}
    return d.label, {"label": d.label, "reason": d.reason, "numbers": numbers}


def trial_diagnosis(attrs: dict, config: dict, params: dict | None = None) -> Diagnosis:
    """The trial's diagnosis as stored when it was recorded, else computed the same way
    """
    stored = (attrs.get(RESULT_ATTR) or {}).get(DIAGNOSIS_ATTR)
    if isinstance(stored, dict) and stored.get("label") in SUGGESTIONS:
        numbers = {"train_val_gap": math.nan, "val_slope": math.nan, "oscillation": math.nan,
                   **stored.get("numbers", {})}
        d = Diagnosis(stored["label"], numbers, str(stored.get("reason", "")),
                      SUGGESTIONS[stored["label"]])
        return for_space(d, judge_of(config).names)
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
