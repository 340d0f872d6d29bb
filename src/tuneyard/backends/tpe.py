"""The tpe backend: Optuna's seeded TPESampler, define-by-run over the space."""

from __future__ import annotations

import json
from typing import Any

from tuneyard.backends.base import Backend
from tuneyard.records.attributes import ENQUEUED, RUNNER, this_runner
from tuneyard.records.trial import Proposal
from tuneyard.space.core import Space
from tuneyard.space.optuna import suggest_space
from tuneyard.store.beats import beat_once
from tuneyard.store.optuna_adapter import reseed, storage_of, trial_id_of

DEFAULT_STARTUP_TRIALS = 10  # Optuna's TPESampler default


def ask_seeded(study: Any, seed: int) -> Any:
    """`study.ask()`, then seed the sampler from (seed, trial number) before any suggestion.

    A trial's draws then depend on the study seed and its number alone: a resumed
    study does not replay its first trials' points, and runners sharing a study
    (whatever their own seeds) never propose the same start-up point.
    """
    import numpy as np  # heavy: numpy

    trial = study.ask()
    beat_once(storage_of(study), trial_id_of(trial))  # a shared study: its worker may die from here on
    # Who asked, before anything else: a trial whose process dies is then known as orphaned.
    trial.set_user_attr(RUNNER, this_runner())
    state = int(np.random.SeedSequence([seed, trial.number]).generate_state(1)[0])
    reseed(study.sampler, state)
    return trial


def enqueue_optuna(study: Any, configs: list[dict]) -> int:
    """Queue each configuration with Optuna's `enqueue_trial` (a WAITING trial that the next
    `study.ask()` takes, its values fixed), unless the study already holds a trial with the
    same given values (the same command run again must not queue them twice)."""
    seen = {json.dumps(t.system_attrs.get("fixed_params", t.params), sort_keys=True, default=str)
            for t in study.get_trials(deepcopy=False)}
    queued = 0
    for config in configs:
        if json.dumps(config, sort_keys=True, default=str) not in seen:
            study.enqueue_trial(config, user_attrs={ENQUEUED: True})
            queued += 1
    return queued


def marked(trial: Any) -> dict:
    """A proposal's details: `enqueued` when the trial runs a configuration the user gave."""
    return {"enqueued": True} if trial.user_attrs.get(ENQUEUED) else {}


def startup_trials_for(trials: int | None) -> int:
    """Random trials before TPE models the results: Optuna's 10, at most a third of `trials`.

    Optuna's default suits long studies; in a 15-trial budget it would leave TPE 5 trials.
    """
    if trials is None:
        return DEFAULT_STARTUP_TRIALS
    return max(2, min(DEFAULT_STARTUP_TRIALS, trials // 3))


class TPEBackend(Backend):
    """Optuna TPE: proposals come from `study.ask()`, results go back with the store's tell."""

    name = "tpe"
    optuna_native = True
    enqueue_whole = False  # Optuna samples what a configuration leaves out

    @classmethod
    def make_sampler(cls, space: Space, seed: int, trials: int | None = None) -> Any:
        # heavy: optuna
        import optuna

        # Constant liar: trials still running count as bad ones, so N workers, or other
        # runners on the same study, spread out (with one trial at a time it changes nothing).
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True,
                                          n_startup_trials=startup_trials_for(trials))

    def ask(self) -> Proposal | None:
        trial = ask_seeded(self.study, self.seed)
        params = suggest_space(trial, self.space)
        return Proposal(params=params, epochs=self.epochs, key=f"tpe-{trial.number}", trial=trial,
                        extra=marked(trial))

    def enqueue(self, configs: list[dict]) -> int:
        return enqueue_optuna(self.study, configs)
