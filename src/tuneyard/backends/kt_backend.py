"""Keras Tuner's RandomSearch and BayesianOptimization oracles as tuneyard backends.

The oracle proposes through `create_trial` and learns through `update_trial`
/ `end_trial`; the runner trains and records every trial in the store, like
any backend's. The oracle's own files live in `<study folder>/kt/`, so the
same command resumes it where it stopped.
"""

from __future__ import annotations

import shutil
from typing import Any, ClassVar

from tuneyard.backends import kt_oracle
from tuneyard.backends.base import Backend
from tuneyard.records.trial import Proposal, TrialResult
from tuneyard.space.core import Space
from tuneyard.space.keras_tuner import check_expressible, from_kt_values, kt_seed, to_hyperparameters

KT_ID = "kt_trial"  # the leaderboard column linking a row to its Keras Tuner trial


class KerasTunerBackend(Backend):
    """Ask/tell over a Keras Tuner oracle; subclasses choose the oracle."""

    oracle_kind: ClassVar[str]

    @classmethod
    def check_space(cls, space: Space) -> None:
        check_expressible(space)

    def __init__(self, space: Space, **kwargs: Any):
        super().__init__(space, **kwargs)
        self.folder = self.workdir / "kt"
        self.oracle: Any = None
        self.done_count = 0
        self.resumed: dict[str, int] | None = None
        # Keras Tuner trial id -> tuneyard trial number, of the trials told (and resumed).
        self.numbers: dict[str, int] = {}

    def oracle_options(self) -> dict:
        """Keyword arguments of the oracle beyond objective, space and seed."""
        return {}

    def _new_oracle(self) -> Any:
        # heavy: keras_tuner
        import keras_tuner

        direction = "max" if self.space.maximize else "min"
        return kt_oracle.make_oracle(
            self.oracle_kind, self.folder,
            objective=keras_tuner.Objective(self.space.metric, direction),
            hyperparameters=to_hyperparameters(self.space), seed=kt_seed(self.seed),
            **self.oracle_options(),
        )

    def resume(self, done: list[dict]) -> None:
        done_by_id = {str(r["extra"][KT_ID]): r for r in done if KT_ID in (r.get("extra") or {})}
        self.numbers.update((kt_id, r["trial"]) for kt_id, r in done_by_id.items())
        self.done_count = len(done)
        if not done:
            # Nothing finished in the store: whatever an earlier run left is not ours to resume.
            shutil.rmtree(self.folder, ignore_errors=True)
        self.oracle = self._new_oracle()
        if not done:
            self.resumed = None
            return
        if not kt_oracle.has_state(self.folder):
            self.resumed = {"adopted": self.adopt(done), "replayed": 0, "requeued": 0}
            return
        with kt_oracle.quiet():
            self.oracle.reload()
        self.after_reload()
        self.resumed = kt_oracle.reconcile(self.oracle, done_by_id, self.space.metric)
        self.cleanup()

    def carry(self, rows: list[dict]) -> str | None:
        """Tell the oracle the carried trials as ended ones: bayes fits its Gaussian process to
        them (and counts them among its random start-up points), random does not propose
        them again. An oracle reloaded from its files knows them already."""
        if self.resumed is not None and not self.resumed.get("adopted"):
            return None
        told = kt_oracle.adopt(self.oracle, [{**r, "status": "COMPLETE"} for r in rows],
                               self.space.metric)
        return f"Keras Tuner's {self.oracle_kind} oracle was told the {told} carried trials"

    def enqueue(self, configs: list[dict]) -> int:
        """The oracle's first proposals are these configurations (kt_oracle.FirstConfigs)."""
        return kt_oracle.queue_first(self.oracle, configs)

    def adopt(self, done: list[dict]) -> int:
        """Teach a fresh oracle the store's finished trials (its own files were lost)."""
        return kt_oracle.adopt(self.oracle, done, self.space.metric)

    def after_reload(self) -> None:
        """Check or adjust the reloaded oracle before it is reconciled."""

    def cleanup(self) -> None:
        """Delete what can no longer be needed (Hyperband's saved models)."""

    def ask(self) -> Proposal | None:
        if self.oracle is None:
            self.resume([])
        if self.done_count >= self.budget:
            return None
        with kt_oracle.quiet():
            trial = self.oracle.create_trial(self._free_tuner_id())
        if trial.status != "RUNNING":
            # STOPPED: the space is exhausted or the schedule is complete. IDLE (Hyperband
            # waiting on running trials): the runner asks again once one of them ends.
            return None
        proposal = self.proposal(trial.trial_id, dict(trial.hyperparameters.values))
        if trial.trial_id in kt_oracle.served_first(self.oracle):
            proposal.extra["enqueued"] = True
        return proposal

    def _free_tuner_id(self) -> str:
        # The oracle hands a tuner id its ongoing trial again: each trial in flight
        # (--workers N) needs its own id. One at a time, the id stays TUNER_ID.
        busy = self.oracle.ongoing_trials
        ids = (kt_oracle.TUNER_ID, *(f"{kt_oracle.TUNER_ID}-{i}" for i in range(1, len(busy) + 1)))
        return next(i for i in ids if i not in busy)

    def proposal(self, trial_id: str, values: dict) -> Proposal:
        """The Proposal for a trial the oracle created."""
        params = from_kt_values(self.space, values)
        return Proposal(params=params, epochs=self.epochs, key=f"kt-{trial_id}",
                        extra={KT_ID: trial_id})

    def tell(self, proposal: Proposal, result: TrialResult) -> None:
        status, value = kt_oracle.outcome(result, self.space.metric)
        kt_oracle.finish(self.oracle, proposal.extra[KT_ID], status, value, self.space.metric)
        if proposal.trial is not None:
            self.numbers[str(proposal.extra[KT_ID])] = proposal.trial.number
        self.done_count += 1
        self.cleanup()

    def describe(self) -> str:
        """One line on the oracle and whether it resumed."""
        where = self.folder
        if self.resumed is None:
            return f"Keras Tuner {self.oracle_kind} oracle, seed {self.seed}, state in {where}"
        r = self.resumed
        text = f"resumed Keras Tuner {self.oracle_kind} oracle from {where} "
        text += f"({len(self.oracle.trials)} trials known"
        if r.get("adopted"):
            text += f"; its files were missing: learnt {r['adopted']} trials from the store"
        if r["replayed"]:
            text += f"; {r['replayed']} finished in the store but not told, now told"
        if r["requeued"]:
            text += f"; {r['requeued']} cut off, will run again"
        return text + ")"


class RandomBackend(KerasTunerBackend):
    """Keras Tuner's RandomSearchOracle: seeded random points, never the same twice."""

    name = "random"
    oracle_kind = "random"


class BayesBackend(KerasTunerBackend):
    """Keras Tuner's BayesianOptimizationOracle: a Gaussian process after random starts."""

    name = "bayes"
    oracle_kind = "bayes"

    def oracle_options(self) -> dict:
        return {"num_initial_points": self.initial_points()}

    def initial_points(self) -> int:
        """Random points before the Gaussian process: as given, else `initial_points_for`."""
        given = self.options.get("initial_points")
        expected = self.options.get("expected_trials") or self.budget
        return int(given) if given else initial_points_for(self.space, int(expected))


def initial_points_for(space: Space, trials: int) -> int:
    """Keras Tuner's 3 random points per hyperparameter, but at most a third of `trials`.

    At 15 trials its own default (18 for six hyperparameters) would make bayes a random
    search: the Gaussian process would never propose a point.
    """
    return max(2, min(3 * len(space.params), trials // 3))
