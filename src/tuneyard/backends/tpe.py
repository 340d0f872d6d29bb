"""The tpe backend: Optuna's seeded TPESampler, define-by-run over the space."""

from __future__ import annotations

from typing import Any

from tuneyard.backends.base import Backend
from tuneyard.proposal import Proposal
from tuneyard.space import Param, Space

DEFAULT_STARTUP_TRIALS = 10  # Optuna's TPESampler default


def suggest(trial: Any, param: Param) -> Any:
    """Ask an Optuna trial for one hyperparameter of the space."""
    if param.kind == "choice":
        return trial.suggest_categorical(param.name, list(param.values))
    if param.kind == "int":
        return trial.suggest_int(param.name, int(param.low), int(param.high),
                                 step=int(param.step or 1), log=param.log)
    return trial.suggest_float(param.name, param.low, param.high, step=param.step, log=param.log)


def suggest_space(trial: Any, space: Space) -> dict:
    """Suggest every hyperparameter that exists given the ones chosen before it."""
    values: dict = {}
    for param in space.params:
        if space.is_active(param, values):
            values[param.name] = suggest(trial, param)
    return values


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

    @classmethod
    def make_sampler(cls, space: Space, seed: int, parallel: bool = False,
                     trials: int | None = None) -> Any:
        import optuna

        # Constant liar: trials still running count as bad ones, so N workers spread out.
        return optuna.samplers.TPESampler(seed=seed, constant_liar=parallel,
                                          n_startup_trials=startup_trials_for(trials))

    def ask(self) -> Proposal | None:
        trial = self.study.ask()
        params = suggest_space(trial, self.space)
        return Proposal(params=params, epochs=self.epochs, key=f"tpe-{trial.number}", trial=trial)
