"""The ask/tell interface every search backend implements.

The loop (progress, failures, resume, recording) lives once in the runner; a
backend only proposes and learns. Backends never import Keras models.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from tuneyard.records.trial import Proposal, TrialResult
from tuneyard.space.core import Space


class Backend(ABC):
    """A search strategy behind ask/tell.

    `budget` is the number of trials the whole study may hold; `done` lists
    the finished trials already in the store (as leaderboard rows: params,
    value, status), so a resumed backend can skip or learn from them.
    """

    name: ClassVar[str]
    # True when proposals are live Optuna trials (study.ask), so Optuna pruners apply.
    optuna_native: ClassVar[bool] = False
    # False when a trial's epochs are the schedule's (Hyperband): an epoch budget cannot cut one.
    epochs_cappable: ClassVar[bool] = True
    # Whether a configuration given to run first (--enqueue) must set every active
    # hyperparameter: Optuna samples the ones left out; the grid and Keras Tuner cannot.
    enqueue_whole: ClassVar[bool] = True

    def __init__(self, space: Space, *, seed: int, budget: int, workdir: Path,
                 study: Any = None, options: dict | None = None):
        self.space, self.seed, self.budget = space, seed, budget
        self.workdir, self.study = Path(workdir), study
        self.options = options or {}

    @classmethod
    def make_sampler(cls, space: Space, seed: int, trials: int | None = None) -> Any:
        """The Optuna sampler the study is opened with (cheap RandomSampler by default).

        `trials` is how many the budget is expected to hold. The same sampler serves one
        trial at a time, `--workers N` and a shared study.
        """
        # heavy: optuna
        import optuna

        return optuna.samplers.RandomSampler(seed=seed)

    @classmethod
    def default_budget(cls, space: Space, options: dict) -> int:
        """Trials to run when the user gives no --trials."""
        return 20

    @classmethod
    def check_space(cls, space: Space) -> None:
        """Raise BackendError or SpaceError if this backend cannot search `space`."""
        return None

    @classmethod
    def check_options(cls, space: Space, options: dict) -> None:
        """Raise BackendError if this backend's options (`backend_options`) are wrong."""
        return None

    @classmethod
    def run_settings(cls, space: Space, options: dict) -> dict:
        """Settings this backend runs with beyond the epochs, for the study's config
        (the report's header says them)."""
        return {}

    @classmethod
    def refuses(cls, what: str) -> str | None:
        """Why this backend cannot be given `what` (an earlier study's trials, configurations
        to run first), in one line; None when it can."""
        return None

    def resume(self, done: list[dict]) -> None:
        """Learn what the store already holds before the first ask."""
        return None

    def carry(self, rows: list[dict]) -> str | None:
        """Learn the trials carried from an earlier study (leaderboard rows, status WARM),
        after `resume`; a line saying what was done with them, if anything worth saying.
        Optuna's samplers need nothing: the trials are finished trials of the study."""
        return None

    def enqueue(self, configs: list[dict]) -> int:
        """Run these configurations (checked against the space) before any of the backend's
        own proposals, after `resume`; how many were queued (the rest already ran)."""
        raise NotImplementedError  # every backend that does not refuse() overrides it

    @abstractmethod
    def ask(self) -> Proposal | None:
        """The next trial to run, or None when the search is over."""

    def tell(self, proposal: Proposal, result: TrialResult) -> None:
        """Learn the result of a proposal."""
        return None

    @property
    def epochs(self) -> int:
        """The epoch budget of an ordinary trial."""
        return int(self.options.get("epochs") or self.space.training.epochs)
