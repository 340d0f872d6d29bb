"""Keras Tuner's Hyperband as a tuneyard backend, promotions warm-started.

Each proposal carries Hyperband's epoch budget and initial epoch. A trial that
may be promoted saves its checkpoint (weights and optimizer state, tuneyard.checkpoint)
to `<study folder>/kt/models/<kt trial id>.ckpt`; its promoted child, built by the
same builder, loads it and trains on from the parent's last epoch. After every
result the checkpoints that can no longer be promoted are deleted, so disk use stays
bounded by roughly one bracket round's promotions, not the whole sweep.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from tuneyard.backends import kt_adapter
from tuneyard.backends.kt_backend import KerasTunerBackend
from tuneyard.checkpoint import SUFFIX
from tuneyard.errors import BackendError, given, named, option
from tuneyard.records.trial import Proposal
from tuneyard.space.core import Space

ENDED = ("COMPLETED", "FAILED")


def settings(space: Space, options: dict) -> tuple[int, int]:
    """Hyperband's max_epochs and factor: the options', else the space's; checked.

    max_epochs is --max-epochs, else the space's `training.max_epochs`, else the
    run's epochs (--epochs, else the space's `training.epochs`): a space that
    trains 15 epochs gives Hyperband a largest budget of 15.
    """
    max_epochs = options.get("max_epochs")
    factor = options.get("factor")
    if max_epochs is None:
        max_epochs = space.training.max_epochs or options.get("epochs") or space.training.epochs
    factor = space.training.factor if factor is None else factor
    if isinstance(max_epochs, bool) or not isinstance(max_epochs, int) or max_epochs < 1:
        raise BackendError(f"{named('max_epochs')} must be an integer of at least 1, got {max_epochs!r}")
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 2:
        raise BackendError(f"{named('factor')} must be an integer of at least 2, got {factor!r}")
    return max_epochs, factor


def schedule(max_epochs: int, factor: int) -> list[tuple[int, int, int, int]]:
    """One Hyperband iteration as (bracket, round, trials, epochs), in Keras Tuner's order.

    The same arithmetic as keras_tuner's HyperbandOracle, so `tune run` without
    --trials runs exactly one full iteration.
    """
    brackets, epochs = 0, float(max_epochs)
    while epochs >= 1:
        epochs /= factor
        brackets += 1
    rows = []
    for bracket in range(brackets - 1, -1, -1):
        for rnd in range(bracket + 1):
            rows.append((bracket, rnd, round_size(max_epochs, factor, bracket, rnd),
                         math.ceil(max_epochs / factor ** (bracket - rnd))))
    return rows


def round_size(max_epochs: int, factor: int, bracket: int, rnd: int) -> int:
    """Trials in round `rnd` of Hyperband bracket `bracket`: Keras Tuner's arithmetic
    (its private `HyperbandOracle._get_size`, which tests/test_adapters.py pins to this)."""
    end_size = math.ceil(1 + math.log(max_epochs, factor))
    return math.ceil(end_size / (bracket + 1) * factor ** (bracket - rnd))


def iteration_trials(max_epochs: int, factor: int) -> int:
    """Trials in one full Hyperband iteration."""
    return sum(size for _, _, size, _ in schedule(max_epochs, factor))


# A checkpoint holds weights and optimizer state, all a promoted child needs (the same
# builder makes its model): tuneyard.checkpoint's format. A sweep an earlier tuneyard
# checkpointed wrote Keras' `.weights.h5`; resumed, its promotions load those.
CHECKPOINT = SUFFIX
EARLIER_CHECKPOINT = ".weights.h5"


def checkpoint_owner(path: Path) -> str | None:
    """The Keras Tuner trial id whose checkpoint `path` is; None for another file (a
    checkpoint being written: `.<name>.<pid>.tmp...`, which must not be deleted)."""
    if path.name.startswith(".") or not path.is_file():
        return None
    return path.name.split(".", 1)[0]


def needed_models(oracle: Any) -> set[str]:
    """Trial ids whose saved model a future promotion may still load."""
    # A running trial (another worker's) saves its model when it ends: keep it.
    needed: set[str] = {t.trial_id for t in oracle.ongoing_trials.values()}
    trials = oracle.trials
    for bracket in kt_adapter.brackets(oracle):
        rounds = bracket["rounds"]
        for rnd in range(len(rounds) - 1):
            children = rounds[rnd + 1]
            chosen = {info["past_id"] for info in children}
            needed.update(info["past_id"] for info in children
                          if info["id"] not in trials or trials[info["id"]].status not in ENDED)
            size = round_size(oracle.max_epochs, oracle.factor, bracket["bracket_num"], rnd + 1)
            left = size - len(children)
            if left <= 0:
                continue
            candidates = [trials[i["id"]] for i in rounds[rnd]
                          if i["id"] in trials and i["id"] not in chosen
                          and trials[i["id"]].status == "COMPLETED"]
            # Later results can only push a candidate down: one ranked below
            # the places left will never be promoted.
            candidates.sort(key=lambda t: t.score, reverse=oracle.objective.direction == "max")
            needed.update(t.trial_id for t in candidates[:left])
    return needed


class HyperbandBackend(KerasTunerBackend):
    """Keras Tuner's HyperbandOracle; promoted trials continue their parent's model."""

    name = "hyperband"
    oracle_kind = "hyperband"
    epochs_cappable = False

    @classmethod
    def refuses(cls, what: str) -> str | None:
        # Its brackets are random points trained for set epochs, promoted by rank: a trial
        # from elsewhere has no bracket, and a given point no place in the schedule.
        return (f"hyperband runs its own bracket schedule of random points and cannot take "
                f"{what}; use tpe, bayes, random or grid")

    @classmethod
    def check_options(cls, space: Space, options: dict) -> None:
        settings(space, options)

    @classmethod
    def default_budget(cls, space: Space, options: dict) -> int:
        return iteration_trials(*settings(space, options))

    @classmethod
    def run_settings(cls, space: Space, options: dict) -> dict:
        max_epochs, factor = settings(space, options)
        return {"max_epochs": max_epochs, "factor": factor}

    def __init__(self, space: Space, **kwargs: Any):
        super().__init__(space, **kwargs)
        self.max_epochs, self.factor = settings(space, self.options)
        self.per_iteration = iteration_trials(self.max_epochs, self.factor)
        self.models = self.folder / "models"

    @property
    def iterations(self) -> int:
        """Hyperband iterations needed to fill the budget."""
        return max(1, math.ceil(self.budget / self.per_iteration))

    def oracle_options(self) -> dict:
        return {"max_epochs": self.max_epochs, "factor": self.factor,
                "hyperband_iterations": self.iterations}

    def after_reload(self) -> None:
        old = (self.oracle.max_epochs, self.oracle.factor)
        if old != (self.max_epochs, self.factor):
            raise BackendError(
                f"this study's Hyperband ran with {given('max_epochs', old[0])} "
                f"{given('factor', old[1])}, not {self.max_epochs} and {self.factor}; resume it "
                f"with those, pass {option('fresh')} to start over, or choose another "
                f"{named('study')} name")
        self.oracle.hyperband_iterations = self.iterations

    def adopt(self, done: list[dict]) -> int:
        return 0  # a schedule cannot be rebuilt from rows: Hyperband starts a new one

    def _locate(self, trial_id: str, values: dict) -> tuple[int, int]:
        for bracket in kt_adapter.brackets(self.oracle):
            for rnd, infos in enumerate(bracket["rounds"]):
                if any(info["id"] == trial_id for info in infos):
                    return bracket["bracket_num"], rnd
        return int(values["tuner/bracket"]), int(values["tuner/round"])

    def proposal(self, trial_id: str, values: dict) -> Proposal:
        proposal = super().proposal(trial_id, values)
        bracket, rnd = self._locate(trial_id, values)
        epochs, initial = int(values["tuner/epochs"]), int(values["tuner/initial_epoch"])
        parent = values.get("tuner/trial_id")
        warm = self._checkpoint_of(parent) if parent else None
        # `parent`: the tuneyard trial number a promotion continues (Keras Tuner's id stays
        # inside the backend; None for a first round, or a parent the store never had).
        extra = {"bracket": bracket, "round": rnd, "hb_epochs": epochs,
                 "parent": self.numbers.get(str(parent)) if parent else None}
        if warm is not None and not warm.is_file():
            # The parent's model is gone (deleted by hand): train from scratch, say so.
            warm, initial = None, 0
            extra["warm_start"] = "missing"
        self.models.mkdir(parents=True, exist_ok=True)
        proposal.epochs, proposal.initial_epoch = epochs, initial
        proposal.warm_start = str(warm) if warm else None
        proposal.save_to = str(self.models / f"{trial_id}{CHECKPOINT}") if rnd < bracket else None
        proposal.extra.update(extra)
        return proposal

    def _checkpoint_of(self, parent: str) -> Path:
        """The parent's checkpoint: tuneyard's, else one an earlier tuneyard wrote, else the
        path tuneyard's would have (which the caller finds missing)."""
        ours = self.models / f"{parent}{CHECKPOINT}"
        earlier = self.models / f"{parent}{EARLIER_CHECKPOINT}"
        return earlier if not ours.is_file() and earlier.is_file() else ours

    def cleanup(self) -> None:
        if self.oracle is None or not self.models.is_dir():
            return
        needed = needed_models(self.oracle)
        for path in self.models.iterdir():  # a study of an earlier tuneyard kept `.keras` ones
            owner = checkpoint_owner(path)
            if owner is not None and owner not in needed:
                path.unlink(missing_ok=True)

    def describe(self) -> str:
        text = super().describe()
        # --epochs is Hyperband's largest budget only when neither --max-epochs nor the
        # space's max_epochs set it.
        set_elsewhere = self.options.get("max_epochs") or self.space.training.max_epochs
        note = "; --epochs is not used: Hyperband sets each trial's" if self.options.get(
            "epochs") and set_elsewhere else ""
        return (f"{text}; Hyperband max_epochs {self.max_epochs}, factor {self.factor}: one "
                f"iteration is {self.per_iteration} trials{note}")
