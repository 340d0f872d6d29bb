"""The course's regularisation comparison: baseline vs L2 vs dropout vs both.

A preset of `tune compare` (evaluation/compare.py): one small network (the course's
baseline: the workload's `course_network`) is trained four times at one fixed learning rate
(the best a study found, or given): with no regularisation, with L2 on the hidden
kernels, with dropout, and with both. Early stopping is off so every variant runs the
same epochs, every variant starts from the same seed, and the train-val gap of each
variant shows what each did; each variant's best-epoch model is scored on the test
split. Figures and a table land in results/regularisation/<name>/ (or
results/<study>/regularisation/).
"""

from __future__ import annotations

from tuneyard.analysis.factor import course_network
from tuneyard.errors import TuneyardError
from tuneyard.evaluation.compare import CompareEvents, Comparison, train
from tuneyard.evaluation.compare import Variant as _Variant
from tuneyard.evaluation.evaluate import best_trial
from tuneyard.space.file import load_space, space_folder, space_of_study
from tuneyard.store.optuna_store import Store
from tuneyard.store.paths import check_study_name, study_dir

DEFAULT_LR = 1e-3


class Variant(_Variant):
    """A regularisation variant: its l2 and dropout are what it changes."""

    @property
    def l2(self) -> float:
        return self.changes["l2"]

    @property
    def dropout(self) -> float:
        return self.changes["dropout"]

    def as_dict(self) -> dict:
        """As written before the preset existed (name, l2, dropout, ...), plus params and seeds."""
        return {"name": self.name, "l2": self.l2, "dropout": self.dropout, "history": self.history,
                "summary": self.summary, "params": self.params, "seeds": self.seeds}


def variants(l2: float, dropout: float, params: dict | None = None) -> list[Variant]:
    """The four variants of the comparison (each one's point: `params` plus its l2, dropout)."""
    made = []
    for name, rate, drop in (("baseline", 0.0, 0.0), (f"L2 {l2:g}", l2, 0.0),
                             (f"dropout {dropout:g}", 0.0, dropout),
                             (f"L2 {l2:g} + dropout {dropout:g}", l2, dropout)):
        changes = {"l2": rate, "dropout": drop}
        made.append(Variant(name, changes, {**(params or {}), **changes}))
    return made


def base_params(workload: str, learning_rate: float | None, best: dict | None,
                folder: str | None = None) -> dict:
    """The fixed network: the workload's course network (`Workload.course_network`), at the
    given or the study's best learning rate."""
    network = course_network(workload, folder)
    if not network:
        raise TuneyardError(
            f"compare-regularisation trains a workload's course network, and workload "
            f"{workload!r} names none (a Workload attribute `course_network`, the params of a "
            "small network to hold fixed); add one, or compare your own model with "
            "`tune compare --space SPACE --vary PARAM=V1,V2`")
    best = best or {}
    rate = learning_rate or best.get("learning_rate") or DEFAULT_LR
    if not float(rate) > 0:
        raise TuneyardError(f"--learning-rate must be > 0, got {rate}")
    return {**network, "learning_rate": float(rate),
            "optimizer": best.get("optimizer", "adam")}


def compare(space_name: str | None = None, *, study: str | None = None,
            storage: str | None = None, learning_rate: float | None = None, l2: float = 0.001,
            dropout: float = 0.5, epochs: int | None = None, subset: int | None = None,
            seed: int = 0, data_dir: str | None = None,
            events: CompareEvents | None = None) -> Comparison:
    """Train the four variants (the CLI writes the figure, table and JSON:
    `report.regularisation_figure.write`)."""
    if not l2 > 0 or not 0 < dropout < 1:
        raise TuneyardError(f"need --l2 > 0 and 0 < --dropout < 1, got {l2} and {dropout}")
    if epochs is not None and epochs < 2:
        raise TuneyardError(f"--epochs must be at least 2 to show curves, got {epochs}")
    best, folder, space = None, None, None
    if study:
        best, config = _study_best(study, storage)
        # The study's own space (stored with it): a user's space file may not be findable
        # by name from here, and its name is not what is wrong.
        space = None if space_name else space_of_study(config)
        subset = subset if subset is not None else config.get("subset")
        folder = study_dir(study) / "regularisation"
    if not space_name and space is None:
        raise TuneyardError("give --space NAME or --study STUDY")
    space = space or load_space(space_name)
    params = base_params(space.workload, learning_rate, best, space_folder(space))
    name = check_study_name(f"{space.name}-lr{params['learning_rate']:g}-s{seed}")
    result = Comparison(space.name, params, epochs or space.training.epochs, space.metric,
                        variants(l2, dropout, params), folder or study_dir("regularisation") / name,
                        "regularisation", seed, f"regularisation on {space.name}",
                        space.maximize)
    train(space, result, subset=subset, data_dir=data_dir, events=events)
    return result


def _study_best(study: str, storage: str | None) -> tuple[dict, dict]:
    store = Store(storage, study, readonly=True)
    store.load()
    return dict(best_trial(store).params), store.config

