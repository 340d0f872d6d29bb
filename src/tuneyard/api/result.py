"""What `tuneyard.search` returns: the study, its leaderboard, its best model, and
`evaluate()`, which scores that model on the test split."""

from __future__ import annotations

import copy
import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tuneyard import quiet_import
from tuneyard.analysis.leaderboard import PARAM_PREFIX
from tuneyard.errors import ArgumentError, TuneyardError, api_words
from tuneyard.evaluation.evaluate import evaluate_study
from tuneyard.space.core import MEASURES, Space
from tuneyard.store.best_model import saved_best
from tuneyard.workloads.function import FunctionWorkload
from tuneyard.workloads.registry import resolved_as


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
    storage: str | None = None  # the store the study is in (None: results/tuneyard.db)
    timed_out: bool = False  # `timeout` ended the sweep
    report_path: str | None = None  # `report=True`: results/<study>/report/index.html
    # The workload the study ran, by the name its space gives it (evaluate() resolves it).
    workload: Any = field(default=None, repr=False)
    workload_name: str | None = field(default=None, repr=False)

    def trial(self, number: int) -> dict:
        """Trial `number` of the study as the leaderboard has it: "trial", "status", "rank",
        "front" (several objectives), "values" (each objective's, and what was measured of
        its model), "hyperparameters". `tune export STUDY --trial N` writes its model."""
        frame = self.leaderboard
        rows = frame[frame["trial"] == number]
        if not len(rows):
            raise TuneyardError(f"number: study '{self.study}' has no trial {number}; its trials: "
                                f"{', '.join(str(n) for n in sorted(frame['trial']))}")
        return point(rows.iloc[0], self.objectives, list(self.hyperparameters))

    @property
    def best_model(self) -> Any:
        """The best trial's model as the sweep kept it (its objective's epoch), loaded."""
        if self.model_path is None:
            return None
        # heavy: keras
        import keras

        return keras.models.load_model(self.model_path)

    def evaluate(self, test: Any = None) -> dict:
        """Score the best trial's model on the test split, as `tune evaluate` does; the
        scores are stored with the study (the report shows them) and returned as a dict:
        "accuracy", "per_class", "confusion_matrix" (and "roc_auc" for two classes) for a
        classifier, "mse" for a regressor, with "trial", "params", "test_samples", "model".

        The test split is `test=(x_test, y_test)` when given, else the data given to
        `search` (`data={"train": ..., "test": (x_test, y_test)}`), else the workload's.
        The kept model (best.keras) is scored as it is; were it another trial's, the best
        trial is retrained first (the study's seed and data split)."""
        workload = self._test_workload(test)
        with api_words(), quiet_import.quieted():  # TensorFlow may load here first
            if workload is None:
                return evaluate_study(self.study, self.storage)
            with resolved_as(self.workload_name, workload):
                return evaluate_study(self.study, self.storage)

    def _test_workload(self, test: Any) -> Any:
        """The workload to score with: this search's, with `test` as its test split."""
        if test is None:
            if isinstance(self.workload, FunctionWorkload) and "test" not in self.workload.parts:
                raise ArgumentError(
                    "evaluate: the data given to tuneyard.search has no test part; pass "
                    "result.evaluate(test=(x_test, y_test)), or search with data={'train': "
                    "(x, y), 'test': (x_test, y_test)}")
            return self.workload
        if not isinstance(test, tuple | list) or len(test) != 2:
            raise ArgumentError("test must be an (x_test, y_test) pair of arrays")
        if self.workload is None or self.workload_name is None:
            raise ArgumentError("test: this result has no workload to load its data with")
        x, y = np.asarray(test[0]), np.asarray(test[1])
        if len(x) != len(y) or not len(y):
            raise ArgumentError(f"test: x_test has {len(x)} samples and y_test {len(y)}; give "
                                "one label per sample, at least one")
        made = copy.copy(self.workload)
        load = self.workload.load

        @functools.wraps(load)  # the same signature: the space's fixed settings reach it
        def with_test(*args: Any, **kwargs: Any) -> Any:
            return dataclasses.replace(load(*args, **kwargs), x_test=x, y_test=y)

        made.load = with_test
        return made


def plain(value: Any) -> Any:
    """A numpy scalar as a Python one."""
    return value.item() if hasattr(value, "item") else value


def make_result(space: Space, result: Any, **extra: Any) -> SearchResult:
    """The SearchResult of a finished sweep (`extra`: the SearchResult's other fields)."""
    frame = result.leaderboard
    done = frame[frame["status"] == "COMPLETE"]
    names = [p.name for p in space.params]
    best_params = None
    if len(done):
        row = done.iloc[0]
        best_params = {n: plain(row[n]) for n in names if n in row and row[n] == row[n]}
    kept = saved_best(result.folder)
    objectives = tuple(o.metric for o in space.all_objectives)
    front = ([point(row, objectives, names) for _, row in done[done["front"] == 1].iterrows()]
             if space.multi and "front" in done else [])
    return SearchResult(study=result.study, leaderboard=frame, best_params=best_params,
                        best_value=result.best, model_path=kept["path"] if kept else None,
                        front=front, objectives=objectives, hyperparameters=tuple(names),
                        timed_out=result.timed_out, **extra)


def point(row: Any, objectives: tuple, names: list[str]) -> dict:
    """A leaderboard row as SearchResult gives it (see SearchResult.trial)."""
    def cell(name: str) -> Any:
        value = row.get(name)
        return None if value is None or value != value else plain(value)  # NaN: none

    measured = [m for m in MEASURES if m in row and m not in objectives]
    params = {n: cell(PARAM_PREFIX + n if PARAM_PREFIX + n in row else n) for n in names}
    return {"trial": int(row["trial"]), "status": row["status"], "rank": cell("rank"),
            "front": cell("front"),
            "values": {name: cell(name) for name in (*objectives, *measured)},
            "hyperparameters": {k: v for k, v in params.items() if v is not None}}
