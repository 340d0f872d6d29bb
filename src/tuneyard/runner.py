"""The sweep loop, written once for every backend: ask, train, record, tell.

It opens (or resumes) the study, loads the data once, then runs trials until
the budget is spent or the backend has nothing more to propose. After every
trial the leaderboard CSV is rewritten, so an interrupted sweep leaves a
current file. Progress goes to an `events` object; this module never prints.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tuneyard.backends import get_backend
from tuneyard.errors import TuneyardError
from tuneyard.leaderboard import best_value, ranked, to_frame, trial_row, write_records
from tuneyard.proposal import FAIL, Proposal, TrialResult
from tuneyard.pruning import PRUNERS, make_pruner, pruning_callback
from tuneyard.space_file import load_space
from tuneyard.store import Store, study_dir

INTERRUPTED = "interrupted"


class SweepStopped(TuneyardError):
    """The sweep stopped itself: too many trials failed in a row."""


@dataclass
class SweepOptions:
    """Everything `tune run` can set."""

    space: str
    backend: str = "tpe"
    trials: int | None = None
    epochs: int | None = None
    subset: int | None = None
    seed: int = 0
    storage: str | None = None
    study: str | None = None
    data_dir: str | None = None
    fresh: bool = False
    verbose: bool = False
    max_failures: int = 5
    prune: str = "none"
    backend_options: dict = field(default_factory=dict)


class Events:
    """What a sweep reports as it goes; the CLI overrides these to draw progress."""

    def message(self, text: str) -> None:
        """A line worth telling the user (resume, grid shuffle, data loaded)."""

    def trial_done(self, row: dict, done: int, budget: int, best: float | None) -> None:
        """A trial finished and was recorded."""


def counts_toward_budget(row: dict) -> bool:
    """Finished trials spend the budget; ones interrupted by the user re-run."""
    return row["status"] != "RUNNING" and not str(row.get("error") or "").startswith(INTERRUPTED)


class Sweep:
    """One `tune run`: a space, a backend, a study, a budget."""

    def __init__(self, options: SweepOptions, trainer: Any = None):
        if options.trials is not None and options.trials < 1:
            raise TuneyardError(f"--trials must be at least 1, got {options.trials}")
        if options.epochs is not None and options.epochs < 1:
            raise TuneyardError(f"--epochs must be at least 1, got {options.epochs}")
        self.options = options
        self.space = load_space(options.space)
        self.backend_cls = get_backend(options.backend)
        self.backend_cls.check_space(self.space)
        if options.prune not in PRUNERS:
            raise TuneyardError(f"unknown pruner '{options.prune}'; valid pruners: {', '.join(PRUNERS)}")
        if options.prune != "none" and not self.backend_cls.optuna_native:
            raise TuneyardError(
                f"--prune {options.prune} works with the Optuna strategies (tpe), not "
                f"{options.backend}; Hyperband stops trials by its own schedule")
        self.budget = options.trials or self.backend_cls.default_budget(
            self.space, options.backend_options)
        self.study_name = options.study or f"{self.space.name}-{options.backend}-s{options.seed}"
        self.folder = study_dir(self.study_name)
        self.rows: list[dict] = []
        # Anything with run(proposal) -> TrialResult; tests pass a cheap objective.
        self.trainer = trainer

    @property
    def csv_path(self):
        """Where the leaderboard CSV is written."""
        return self.folder / "leaderboard.csv"

    def config(self) -> dict:
        """What identifies the sweep, stored with the study and checked on resume."""
        o = self.options
        epochs = o.epochs or self.space.training.epochs
        return {"space": self.space.name, "backend": o.backend, "seed": o.seed,
                "fingerprint": self.space.fingerprint(), "metric": self.space.metric,
                "direction": self.space.direction, "epochs": epochs, "subset": o.subset,
                "fresh": o.fresh, "workload": self.space.workload, "prune": o.prune}

    def open(self, events: Events) -> None:
        """Check the study, load the data, then create or resume the study and backend.

        The data loads before the study is created, so a missing dataset leaves no
        empty study behind.
        """
        o = self.options
        self.store = Store(o.storage, self.study_name)
        self.store.check_config(self.config())
        self.trainer = self.trainer or self._trainer()
        sampler = self.backend_cls.make_sampler(self.space, o.seed)
        pruner = make_pruner(o.prune, self.config()["epochs"])
        self.store.open_for_sweep(self.space, self.config(), sampler, o.fresh, pruner)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.rows = [trial_row(t) for t in self.store.trials()]
        done = [r for r in self.rows if counts_toward_budget(r)]
        if done:
            events.message(f"resuming study {self.study_name}: {len(done)} of {self.budget} "
                           "trials done")
        self.backend = self.backend_cls(
            self.space, seed=o.seed, budget=self.budget, workdir=self.folder,
            study=self.store.study, options={"epochs": o.epochs, **o.backend_options},
        )
        self.backend.resume(done)
        if hasattr(self.backend, "describe"):
            events.message(self.backend.describe())

    def _trainer(self) -> Any:
        from tuneyard.training import Trainer
        from tuneyard.workloads import get_workload

        o = self.options
        workload = get_workload(self.space.workload)
        dataset = workload.load(data_dir=o.data_dir, subset=o.subset, seed=o.seed,
                                validation_split=self.space.training.validation_split,
                                **_load_extras(self.space))
        return Trainer(self.space, workload, dataset, seed=o.seed, verbose=o.verbose)

    def done_count(self) -> int:
        """Trials of the study that spend the budget."""
        return sum(counts_toward_budget(r) for r in self.rows)

    def run(self, events: Events | None = None) -> Any:
        """Run the rest of the budget; returns the ranked leaderboard DataFrame."""
        events = events or Events()
        self.open(events)
        failures = 0
        while self.done_count() < self.budget:
            proposal = self.backend.ask()
            if proposal is None:
                events.message("the backend has no more proposals: search complete")
                break
            result = self._run_one(proposal)
            row = self._record(proposal, result)
            self.backend.tell(proposal, result)
            failures = failures + 1 if result.status == FAIL else 0
            events.trial_done(row, self.done_count(), self.budget, self.best())
            if failures >= self.options.max_failures:
                raise SweepStopped(f"stopped after {failures} failed trials in a row; "
                                   f"last error: {result.error}")
        return self.leaderboard()

    def _run_one(self, proposal: Proposal) -> TrialResult:
        started = time.perf_counter()
        try:
            return self.trainer.run(proposal, self._callbacks(proposal))
        except KeyboardInterrupt:
            seconds = time.perf_counter() - started
            result = TrialResult(status=FAIL, seconds=seconds,
                                 error=f"{INTERRUPTED} by the user (Ctrl-C)")
            self._record(proposal, result)
            raise

    def _callbacks(self, proposal: Proposal) -> list:
        if self.options.prune == "none" or proposal.trial is None:
            return []
        return [pruning_callback(proposal.trial, self.space.metric)]

    def _record(self, proposal: Proposal, result: TrialResult) -> dict:
        frozen = self.store.record(self.space, self.options.backend, proposal, result)
        row = trial_row(frozen)
        self.rows.append(row)
        names = [p.name for p in self.space.params]
        write_records(*ranked(self.rows, names, self.space.metric, self.space.maximize),
                      self.csv_path)
        return row

    def best(self) -> float | None:
        """Best objective so far."""
        return best_value(self.rows, self.space.maximize)

    def leaderboard(self) -> Any:
        """The ranked DataFrame of every trial in the study."""
        names = [p.name for p in self.space.params]
        return to_frame(self.rows, names, self.space.metric, self.space.maximize)


def _load_extras(space: Any) -> dict:
    # Workloads with a window (sine) take it at load time.
    return {"window": space.fixed["window"]} if "window" in space.fixed else {}
