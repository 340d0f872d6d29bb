"""The grid backend: every combination of the space's grid values, once each."""

from __future__ import annotations

import json

import numpy as np

from tuneyard.backends.base import Backend
from tuneyard.engine.proposal import Proposal
from tuneyard.errors import BackendError
from tuneyard.space.core import Space
from tuneyard.space.grid_points import Grid

MAX_SHUFFLED_GRID = 20_000_000


def point_key(params: dict) -> str:
    """A canonical text key of a point, to recognise one already run."""
    return json.dumps(params, sort_keys=True, default=str)


class GridBackend(Backend):
    """Visits the grid in order, or a seeded shuffle of it when the budget is smaller."""

    name = "grid"

    @classmethod
    def check_space(cls, space: Space) -> None:
        grid = Grid(space)  # raises SpaceError for a float without a grid: list
        if grid.size > MAX_SHUFFLED_GRID:
            raise BackendError(
                f"the grid of space {space.name} has {grid.size:,} points, more than "
                f"{MAX_SHUFFLED_GRID:,}; narrow the grid: lists or use --backend tpe"
            )

    def __init__(self, space: Space, **kwargs):
        super().__init__(space, **kwargs)
        self.grid = Grid(space)
        # Shuffled unless the budget buys more trials than the grid has points: in order, a
        # budget that buys them all would still spend its first trials on one corner (a race
        # under an epoch budget says how many trials it expects to buy).
        self.buys = int(self.options.get("expected_trials") or self.budget)
        self.shuffled = self.grid.size >= self.buys
        self.order = (
            np.random.default_rng(self.seed).permutation(self.grid.size)
            if self.shuffled
            else np.arange(self.grid.size)
        )
        self.position = 0
        self.done: set[str] = set()

    def resume(self, done: list[dict]) -> None:
        self.done = {point_key(row["params"]) for row in done}

    def ask(self) -> Proposal | None:
        while self.position < len(self.order):
            index = int(self.order[self.position])
            self.position += 1
            params = self.grid.point(index)
            if point_key(params) not in self.done:
                self.done.add(point_key(params))
                return Proposal(params=params, epochs=self.epochs, key=f"grid-{index}",
                                extra={"grid_index": index})
        return None

    def describe(self) -> str:
        """One line on how the grid will be walked."""
        if self.shuffled:
            return (f"grid of {self.grid.size:,} points, at least the {self.buys} trials the "
                    f"budget buys: running a seeded shuffle (seed {self.seed})")
        return f"grid of {self.grid.size:,} points, each run once"


class SharedGridBackend(GridBackend):
    """The grid of a study that many workers share: its points are queued in the study.

    The runner that creates the study queues the points (Optuna's WAITING trials, in
    the same seeded order as the one-process grid); every worker's ask pops one, an
    atomic claim in the storage, so no point runs twice whatever the number of workers.
    A point whose worker died comes back to the queue through the storage's retry.
    """

    optuna_native = True

    def __init__(self, space: Space, **kwargs):
        super().__init__(space, **kwargs)
        # Always the seeded shuffle: a budget grown later queues the next points of the same order.
        self.shuffled = True
        self.order = np.random.default_rng(self.seed).permutation(self.grid.size)

    def queue(self, start: int = 0) -> None:
        """Queue the points the budget buys from the `start`th on (the creator of the study
        queues them all; a runner that grows the budget, the ones it adds)."""
        for index in self.order[start: self.budget]:
            self.study.enqueue_trial(self.grid.point(int(index)), user_attrs={"grid_index": int(index)})

    def resume(self, done: list[dict]) -> None:
        """Nothing to learn: what is left to run is what the study still has queued."""

    def ask(self) -> Proposal | None:
        from optuna.trial import TrialState

        from tuneyard.backends.tpe import ask_seeded
        from tuneyard.engine.heartbeat import SURPLUS
        from tuneyard.space.optuna import suggest_space

        while self.study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            trial = ask_seeded(self.study, self.seed)
            index = trial.user_attrs.get("grid_index")
            if index is not None:
                return Proposal(params=suggest_space(trial, self.space), epochs=self.epochs,
                                key=f"grid-{trial.number}", extra={"grid_index": index}, trial=trial)
            # Another worker popped the last point first, and Optuna made a new trial instead.
            trial.set_user_attr(SURPLUS, True)
            self.study.tell(trial, state=TrialState.FAIL)
        return None
