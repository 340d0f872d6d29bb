"""`tuneyard.search`: the whole tool from Python (a notebook, a script).

It takes a build function (params -> compiled Keras model) and data, or a
workload object, and a space (a dict, a YAML path or a Space), runs the same
sweep `tune run` runs (same backends, options, defaults and store) and returns
the ranked leaderboard, the best params and the best model. The study lands in
the same store, so `tune studies`, `leaderboard`, `report` and `export` work on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tuneyard.analysis.leaderboard import PARAM_PREFIX
from tuneyard.cli.progress import ProgressEvents
from tuneyard.engine.fit_arguments import check_callbacks, class_weight_problem
from tuneyard.engine.sweep import Sweep, SweepOptions
from tuneyard.engine.tracking import check_tracking
from tuneyard.engine.user_errors import BuildMistake
from tuneyard.errors import ArgumentError, TuneyardError
from tuneyard.space.core import MEASURES, Space
from tuneyard.space.file import load_space, parse_space
from tuneyard.store.best_model import saved_best
from tuneyard.workloads.base import Workload
from tuneyard.workloads.function import FunctionWorkload
from tuneyard.workloads.registry import IN_PROCESS_PREFIX, as_workload, register_in_process

DEFAULT_TRAINING = {"epochs": 10, "batch_size": 32}


@dataclass
class SearchResult:
    """What a search found: the study, its ranked leaderboard and its best model."""

    study: str
    leaderboard: Any  # pandas DataFrame, best first
    best_params: dict | None
    best_value: float | None
    model_path: str | None  # results/<study>/best.keras
    # A space of several objectives: the Pareto front, best on the first objective first, each
    # {"trial", "values": {objective: value}, "hyperparameters": {...}}; [] for one objective.
    front: list = field(default_factory=list)
    objectives: tuple = ()  # the objectives' names, the first first (one: the metric)
    hyperparameters: tuple = ()  # the space's hyperparameter names

    def trial(self, number: int) -> dict:
        """Trial `number` of the study as the leaderboard has it: "trial", "status", "rank",
        "front" (several objectives), "values" (each objective's, and what was measured of
        its model), "hyperparameters". `tune export STUDY --trial N` writes its model."""
        frame = self.leaderboard
        rows = frame[frame["trial"] == number]
        if not len(rows):
            raise TuneyardError(f"number: study '{self.study}' has no trial {number}; its trials: "
                                f"{', '.join(str(n) for n in sorted(frame['trial']))}")
        return _point(rows.iloc[0], self.objectives, list(self.hyperparameters))

    @property
    def best_model(self) -> Any:
        """The best trial's model as the sweep kept it (its objective's epoch), loaded."""
        if self.model_path is None:
            return None
        # heavy: keras
        import keras

        return keras.models.load_model(self.model_path)


def search(build_model: Any = None, data: Any = None, *, space: Any, workload: Workload | None = None,
           backend: str = "tpe", trials: int | None = None, epochs: int | None = None,
           seed: int = 0, storage: str | None = None, study: str | None = None, workers: int = 1,
           prune: str = "none", subset: int | None = None, data_dir: str | None = None,
           task: str | None = None, fresh: bool = False, progress: bool = True,
           trial_timeout: Any = None, precision: str | None = None, callbacks: Any = None,
           class_weight: dict | None = None, tensorboard: str | None = None,
           mlflow: str | None = None, warm_from: str | None = None,
           enqueue: Any = None) -> SearchResult:
    """Search `space` for the best model; the same options and defaults as `tune run`.

    Give either `build_model` (params dict -> compiled keras.Model) with `data` ((x, y),
    split by the space's validation_split, stratified for classification; or a dict with
    "train", "validation" and optionally "test" (x, y) pairs; (x, y, sample_weight) too;
    or a tf.data.Dataset / keras.utils.PyDataset per part, with "validation" given and no
    `subset`), or a `workload` object (its `fit_options` gives its callbacks).
    `callbacks`: Keras callbacks run beside tuneyard's own, a list (each fit gets a deep
    copy, as Keras Tuner does) or a function params -> list (new ones each fit).
    `class_weight`: {class index: weight}, passed to every fit.
    `space`: a dict (hyperparameters, and optionally objective and training), a YAML
    path or a Space. `task`: "classification" or "regression" (default: from the labels).
    `trial_timeout`: seconds (or "20m") a trial may run before it is stopped and recorded FAIL.
    `precision`: "float32", "mixed", "mixed_float16" or "mixed_bfloat16" (default: the
    space's, else float32); Keras' global dtype policy is as it was once the search returns.
    `tensorboard`: a folder for each trial's TensorBoard event files (DIR/<study>/trial-N:
    per-epoch scalars and the HParams dashboard's records). `mlflow`: an MLflow tracking URI
    (sqlite:///mlflow.db, http://host:5000): the study as a parent run, each trial a child run.
    `warm_from`: the name of an earlier study (same storage) whose finished trials that fit
    `space` start this new study (give `study` a new name): the search learns from them;
    they are listed as WARM and do not count against `trials`. `enqueue`: a list of
    configurations (dicts of hyperparameter values; or a YAML/JSON file of one) run first.
    """
    fit = {"callbacks": callbacks, "class_weight": class_weight}
    check_tracking(tensorboard, mlflow, api=True)
    name = _workload_name(build_model, workload, data, task, study, fit, subset)
    the_space = _space(space, name)
    if workers > 1 and name.startswith(IN_PROCESS_PREFIX):
        raise TuneyardError("workers > 1 runs trials in other processes, which cannot import a "
                            "build function defined here: put it in a module and name it in a "
                            "space (workload: my_module:MyWorkload), or use workers=1")
    options = SweepOptions(space=the_space, backend=backend, trials=trials, epochs=epochs,
                           subset=subset, seed=seed, storage=storage, study=study,
                           data_dir=data_dir, fresh=fresh, prune=prune, workers=workers,
                           # in this process: a notebook's function cannot be re-imported
                           trials_per_process=0 if workers == 1 else 10,
                           trial_timeout=trial_timeout, precision=precision,
                           tensorboard=None if tensorboard is None else str(tensorboard),
                           mlflow=mlflow, warm_from=warm_from, enqueue=enqueue, api=True)
    events = _events(the_space, progress)
    try:
        result = Sweep(options).run(events)
    finally:
        if events is not None:
            events.stop()
    if result.all_failed:
        raise TuneyardError(f"{result.all_failed}; the table is in {result.csv_path}")
    return _result(the_space, result)


def _workload_name(build_model: Any, workload: Any, data: Any, task: str | None,
                   study: str | None, fit: dict, subset: int | None) -> str:
    if (build_model is None) == (workload is None):
        raise TuneyardError("give either build_model (with data) or workload, not both or neither")
    if workload is not None:
        given = [k for k, v in fit.items() if v is not None]
        if given:
            raise ArgumentError(f"{given[0]}: a workload object gives its own from its "
                                "fit_options(params, dataset) method; return them there")
        instance = as_workload(workload, getattr(workload, "name", "") or "workload")
        name = f"{IN_PROCESS_PREFIX}{instance.name or type(instance).__name__}"
        register_in_process(name, instance)
        return name
    if not callable(build_model):
        raise TuneyardError(f"build_model must be a function params -> compiled keras.Model, "
                            f"got {type(build_model).__name__}")
    if data is None:
        raise TuneyardError("build_model needs data: (x, y), or a dict with train, validation "
                            "and test (x, y) pairs")
    fn_name = getattr(build_model, "__name__", "build_model")
    name = f"{IN_PROCESS_PREFIX}{fn_name}"
    made = FunctionWorkload(build_model, data, task=task, name=fn_name, **fit)
    _check_fit(made, subset)
    register_in_process(name, made)
    return name


def _check_fit(made: FunctionWorkload, subset: int | None) -> None:
    """Refuse, before any trial, a subset of a pipeline, class weights or callbacks that
    no fit could take (ArgumentError names the argument)."""
    problem = made.subset_problem(subset)
    if problem:
        raise ArgumentError(problem)
    if made.class_weight is not None:
        if made.task != "classification":
            raise ArgumentError("class_weight: the task is regression, which has no classes; "
                                "weigh samples with data=(x, y, sample_weight)")
        classes = None
        y = made.parts["train"][1]
        if y is not None and made.task == "classification" and getattr(y, "ndim", 0) == 1:
            classes = int(y.max()) + 1 if len(y) else None
        problem = class_weight_problem(made.class_weight, classes)
        if problem:
            raise ArgumentError(f"class_weight {problem}")
    if isinstance(made.callbacks, list) and made.callbacks:
        try:
            check_callbacks(made.callbacks, "callbacks")
        except BuildMistake as exc:
            raise ArgumentError(str(exc)) from None


def _space(space: Any, workload_name: str) -> Space:
    if isinstance(space, Space):
        return space
    if isinstance(space, str | Path):
        return load_space(str(space))
    if not isinstance(space, dict):
        raise TuneyardError(f"space must be a dict, a YAML path or a Space, got {type(space).__name__}")
    body = {"name": _word(workload_name.removeprefix(IN_PROCESS_PREFIX)),
            **({} if "objectives" in space else
               {"objective": {"metric": "val_loss", "direction": "minimize"}}),
            "training": dict(DEFAULT_TRAINING), **space}
    if "workload" not in space:
        body["workload"] = workload_name
    return parse_space(yaml.safe_dump(body, sort_keys=False), "<tuneyard.search space>")


def _word(text: str) -> str:
    word = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in text)
    return word or "python"


def _events(space: Space, progress: bool) -> Any:
    if not progress:
        return None
    return ProgressEvents(space.metric)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value  # numpy scalar -> Python


def _result(space: Space, result: Any) -> SearchResult:
    frame = result.leaderboard
    done = frame[frame["status"] == "COMPLETE"]
    best_params = None
    if len(done):
        names = [p.name for p in space.params]
        row = done.iloc[0]
        best_params = {n: _plain(row[n]) for n in names if n in row and row[n] == row[n]}
    kept = saved_best(result.folder)
    names = [p.name for p in space.params]
    objectives = tuple(o.metric for o in space.all_objectives)
    front = ([_point(row, objectives, names) for _, row in done[done["front"] == 1].iterrows()]
             if space.multi and "front" in done else [])
    return SearchResult(study=result.study, leaderboard=frame, best_params=best_params,
                        best_value=result.best, model_path=kept["path"] if kept else None,
                        front=front, objectives=objectives, hyperparameters=tuple(names))


def _point(row: Any, objectives: tuple, names: list[str]) -> dict:
    """A leaderboard row as SearchResult gives it (see SearchResult.trial)."""
    def cell(name: str) -> Any:
        value = row.get(name)
        return None if value is None or value != value else _plain(value)  # NaN: none

    measured = [m for m in MEASURES if m in row and m not in objectives]
    params = {n: cell(PARAM_PREFIX + n if PARAM_PREFIX + n in row else n) for n in names}
    return {"trial": int(row["trial"]), "status": row["status"], "rank": cell("rank"),
            "front": cell("front"),
            "values": {name: cell(name) for name in (*objectives, *measured)},
            "hyperparameters": {k: v for k, v in params.items() if v is not None}}



__all__ = ["search", "SearchResult"]
