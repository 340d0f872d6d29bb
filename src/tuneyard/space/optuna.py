"""A Space in Optuna's terms, in one place: its distributions and define-by-run suggestions.

(Its translation to Keras Tuner's hyperparameters is space/keras_tuner.py.)
"""

from __future__ import annotations

from typing import Any

from tuneyard.space.core import Param, Space


def distribution(param: Param) -> Any:
    """The Optuna distribution of one hyperparameter."""
    # heavy: optuna
    import optuna.distributions as d

    if param.kind == "choice":
        return d.CategoricalDistribution(list(param.values))
    if param.kind == "int":
        return d.IntDistribution(int(param.low), int(param.high), log=param.log,
                                 step=int(param.step or 1))
    return d.FloatDistribution(param.low, param.high, log=param.log, step=param.step)


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
