"""The grid backend: every combination of the space's grid values, once each."""

from __future__ import annotations

import datetime
import json

import numpy as np

from tuneyard.backends.base import Backend
from tuneyard.errors import BackendError
from tuneyard.records.attributes import CONFIG_ATTR, RUNNER, SURPLUS, this_runner
from tuneyard.records.trial import Proposal
from tuneyard.space.configs import on_grid
from tuneyard.space.core import Space
from tuneyard.space.grid_points import Grid
from tuneyard.space.optuna import suggest_space
from tuneyard.store.beats import beat_once
from tuneyard.store.optuna_adapter import storage_of, study_id_of

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

    @classmethod
    def default_budget(cls, space: Space, options: dict) -> int:
        """The base default (20), or fewer when the grid has fewer points: a 4-point grid is
        4 trials, so a short sweep runs in this process rather than in a worker process."""
        return min(super().default_budget(space, options), Grid(space).size)

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
        self.first: list[dict] = []  # points given to run before the grid's order (--enqueue)

    def resume(self, done: list[dict]) -> None:
        self.done = {point_key(row["params"]) for row in done}

    def carry(self, rows: list[dict]) -> str | None:
        """The points an earlier study ran are done: the grid skips them."""
        points = {point_key(r["params"]) for r in rows if on_grid(self.space, r["params"])}
        fresh = points - self.done
        self.done |= fresh
        return f"the grid skips the {len(fresh)} of its points that the carried trials ran"

    def enqueue(self, configs: list[dict]) -> int:
        self.first = [c for c in configs if point_key(c) not in self.done]
        return len(self.first)

    def ask(self) -> Proposal | None:
        while self.first:
            params = self.first.pop(0)
            if point_key(params) not in self.done:
                self.done.add(point_key(params))
                return Proposal(params=params, epochs=self.epochs, key=f"grid-first-{len(self.first)}",
                                extra={"enqueued": True})
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
    """The grid of a study that many workers share: each new trial's number picks its point.

    Nothing is queued ahead: a worker creates a trial marked as a grid slot (one atomic
    insert, which gives it a unique number), and the slots numbered before it say
    which point of the seeded order it runs. No point runs twice whatever the number
    of workers, a budget grown later simply goes on in the same order, and an ask
    costs the same at the first point and the ten-thousandth (a queue of every point
    as WAITING trials made each ask read the whole queue). A point whose worker died
    comes back through the storage's retry, as a WAITING copy, run before new slots.
    """

    optuna_native = True

    @classmethod
    def refuses(cls, what: str) -> str | None:
        return (f"a grid shared through a server storage picks each trial's point by its number, "
                f"so it cannot take {what}; use the tpe backend, or run the grid on SQLite")

    def __init__(self, space: Space, **kwargs):
        super().__init__(space, **kwargs)
        # Always the seeded shuffle: a budget grown later runs the next points of the same order.
        self.shuffled = True
        self.order = np.random.default_rng(self.seed).permutation(self.grid.size)
        self._scanned = 0  # trial numbers below this have been looked at...
        self._slots = 0  # ...and this many of them are grid slots
        self._retries: dict[int, int] = {}  # number -> trial id of retry copies not yet seen taken

    def resume(self, done: list[dict]) -> None:
        """Nothing to learn: the slots in the study say where the order has got to."""

    def ask(self) -> Proposal | None:
        self._scan()
        retry = self._pop_retry()
        return retry if retry is not None else self._new_slot()

    def _scan(self, below: int | None = None) -> None:
        """Look at the trials numbered since the last look (up to `below`, else all): count
        the slots, note the retry copies. Each number is read once, so an ask costs the same
        at the first point and the ten-thousandth (Optuna's own WAITING query and trial
        count go through its cache of every trial)."""
        storage, study_id = storage_of(self.study), study_id_of(self.study)
        while below is None or self._scanned < below:
            try:
                trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, self._scanned)
            except KeyError:  # no such number yet
                break
            attrs = storage.get_trial_system_attrs(trial_id)
            if is_slot(attrs):
                self._slots += 1
            elif "failed_trial" in attrs:
                self._retries[self._scanned] = trial_id
            self._scanned += 1

    def _pop_retry(self) -> Proposal | None:
        """A point queued again (its worker died, or Ctrl-C cut it off), claimed atomically."""
        # heavy: optuna
        import optuna
        from optuna.exceptions import UpdateFinishedTrialError
        from optuna.trial import TrialState

        storage = storage_of(self.study)
        for number, trial_id in sorted(self._retries.items()):
            del self._retries[number]
            try:  # False or an error: another worker took it first
                if not storage.set_trial_state_values(trial_id, state=TrialState.RUNNING):
                    continue
            except UpdateFinishedTrialError:
                continue
            beat_once(storage, trial_id)  # ours now: if this worker dies, it is queued again
            storage.set_trial_user_attr(trial_id, RUNNER, this_runner())
            trial = optuna.trial.Trial(self.study, trial_id)
            if trial.user_attrs.get("grid_index") is None:  # not a point (nothing tuneyard made)
                trial.set_user_attr(SURPLUS, True)
                self.study.tell(trial, state=TrialState.FAIL)
                continue
            return self._proposal(trial, trial.user_attrs["grid_index"])
        return None

    def _new_slot(self) -> Proposal | None:
        """Create a slot trial; its rank among the study's slots is its place in the order."""
        # heavy: optuna
        import optuna
        from optuna.trial import TrialState

        if self._slots >= self._slots_allowed():
            return None  # every slot is taken: no trial to create only to mark it surplus
        storage, study_id = storage_of(self.study), study_id_of(self.study)
        trial_id = storage.create_new_trial(study_id, template_trial=slot_template())
        beat_once(storage, trial_id)  # a worker killed from here on has its slot queued again
        number = storage.get_trial_number_from_id(trial_id)
        self._scan(below=number)  # the trials other workers numbered meanwhile
        rank = self._slots
        self._scanned, self._slots = number + 1, rank + 1  # this one, a slot
        if rank >= self._slots_allowed():  # another worker took the last slot meanwhile
            storage.set_trial_user_attr(trial_id, SURPLUS, True)
            storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
            return None
        index = int(self.order[rank])
        # Fixed before the Trial object reads the trial, so suggesting returns the point.
        storage.set_trial_system_attr(trial_id, "fixed_params", self.grid.point(index))
        storage.set_trial_user_attr(trial_id, "grid_index", index)
        return self._proposal(optuna.trial.Trial(self.study, trial_id), index)

    def _slots_allowed(self) -> int:
        """The study's budget as stored now (a runner's --trials changes it for every worker,
        maybe since this one joined), at most the grid's size."""
        stored = storage_of(self.study).get_study_user_attrs(study_id_of(self.study)).get(CONFIG_ATTR, {})
        return min(int(stored.get("budget") or self.budget), len(self.order))

    def _proposal(self, trial, index: int) -> Proposal:
        return Proposal(params=suggest_space(trial, self.space), epochs=self.epochs,
                        key=f"grid-{trial.number}", extra={"grid_index": index}, trial=trial)


SLOT = "tuneyard_grid_slot"  # system attribute of a trial created as a shared grid's slot


def is_slot(system_attrs: dict) -> bool:
    """A slot, not the storage's retry of one (a retry copies the system attributes too)."""
    return bool(system_attrs.get(SLOT)) and "failed_trial" not in system_attrs


def slot_template():
    """A RUNNING trial marked as a grid slot, written in the same insert that numbers it,
    so no worker ever counts the slots before its own without seeing this mark."""
    # heavy: optuna
    from optuna.trial import FrozenTrial, TrialState

    return FrozenTrial(
        number=-1, state=TrialState.RUNNING, value=None, values=None,
        datetime_start=datetime.datetime.now(), datetime_complete=None, params={},
        distributions={}, user_attrs={RUNNER: this_runner()}, system_attrs={SLOT: True},
        intermediate_values={}, trial_id=-1,
    )
