"""A Space in Keras Tuner's language, and Keras Tuner's values back in tuneyard's.

Conditional hyperparameters become `conditional_scope`s, so an oracle never
samples units for a layer that does not exist. Values coming back are typed,
snapped to their step and filtered to the space's active hyperparameters: the
`tuner/...` bookkeeping names of Keras Tuner never leave the backend.
"""

from __future__ import annotations

from typing import Any

from tuneyard.errors import BackendError
from tuneyard.space.core import Param, Space


def kt_seed(seed: int) -> int:
    """The Keras Tuner seed for a tuneyard seed: scrambled, and never 0.

    Keras Tuner's oracles draw trial i from seed + i, so seeds 1 and 2 would share
    most proposals; hashing the seed keeps nearby seeds independent. An oracle
    also replaces a seed of 0 by a random one, hence the + 1.
    """
    # heavy: numpy
    import numpy as np

    scrambled = int(np.random.SeedSequence(int(seed)).generate_state(1)[0])
    return scrambled % (2**31 - 2) + 1


def _declare(hp: Any, param: Param) -> None:
    if param.kind == "choice":
        hp.Choice(param.name, list(param.values))
    elif param.kind == "int":
        step = int(param.step) if param.step else None
        hp.Int(param.name, int(param.low), int(param.high), step=step,
               sampling="log" if param.log else "linear")
    else:
        hp.Float(param.name, float(param.low), float(param.high), step=param.step,
                 sampling="log" if param.log else "linear")


def to_hyperparameters(space: Space) -> Any:
    """The space as keras_tuner.HyperParameters, conditionals included.

    Raises BackendError naming the hyperparameter Keras Tuner cannot express.
    """
    # heavy: keras_tuner
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    for param in space.params:
        try:
            if param.parent:
                with hp.conditional_scope(param.parent, list(param.parent_values)):
                    _declare(hp, param)
            else:
                _declare(hp, param)
        except (ValueError, TypeError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BackendError(
                f"space {space.name}: Keras Tuner cannot express hyperparameter "
                f"'{param.name}' ({reason}); change it or use --backend tpe or grid"
            ) from None
    return hp


def check_expressible(space: Space) -> None:
    """Raise BackendError if a Keras Tuner oracle cannot search `space`."""
    for param in space.params:
        if param.kind == "choice":
            kinds = {type(v) for v in param.values}
            if len(kinds) > 1 or not kinds <= {str, int, float, bool}:
                names = ", ".join(sorted(k.__name__ for k in kinds))
                raise BackendError(
                    f"space {space.name}: Keras Tuner cannot express choice '{param.name}': its "
                    f"values mix or use unsupported types ({names}); a Keras Tuner choice holds "
                    "values of one type (str, int, float or bool)"
                )
    to_hyperparameters(space)


def _typed(param: Param, value: Any) -> Any:
    if param.kind == "choice":
        return value
    if param.kind == "int":
        value = int(round(value))
    else:
        value = float(value)
        if param.step:
            value = param.low + round((value - param.low) / param.step) * param.step
            value = float(f"{value:.12g}")
    return min(max(value, param.low), param.high)


def from_kt_values(space: Space, values: dict) -> dict:
    """The active hyperparameters of a Keras Tuner values dict, typed as the space's."""
    params: dict = {}
    for param in space.params:
        if space.is_active(param, params) and param.name in values:
            params[param.name] = _typed(param, values[param.name])
    problems = space.check_values(params)
    if problems:
        raise BackendError(f"Keras Tuner proposed a point outside space {space.name}: "
                           f"{'; '.join(problems)}")
    return params
