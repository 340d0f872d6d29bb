"""Search backends behind one ask/tell interface, by name."""

from __future__ import annotations

from tuneyard.backends.base import Backend
from tuneyard.backends.hyperband import HyperbandBackend
from tuneyard.backends.kt_backend import BayesBackend, RandomBackend
from tuneyard.backends.nsga2 import NSGA2Backend
from tuneyard.backends.optuna_random import OptunaRandomBackend
from tuneyard.backends.tpe import TPEBackend
from tuneyard.errors import BackendError

BACKEND_NAMES = ("grid", "tpe", "random", "hyperband", "bayes")
# Optuna's NSGA-II, for several objectives (it searches one too; `tune race` does not run it).
NSGA2 = "nsga2"
VALID_BACKENDS = (*BACKEND_NAMES, NSGA2)
# Strategies many workers can share through a server storage (Optuna-native).
SHARED_BACKENDS = ("grid", "tpe", "random", NSGA2)
# Strategies that search a space of several objectives (`random` is then Optuna's).
MULTI_OBJECTIVE_BACKENDS = ("tpe", "random", "grid", NSGA2)


def get_backend(name: str, shared: bool = False, multi: bool = False) -> type[Backend]:
    """The backend class called `name` (imported on demand).

    `shared` (a study many workers share on a server) makes `random` Optuna's
    RandomSampler instead of Keras Tuner's RandomSearch, and the grid one whose
    trials' numbers pick their points. So does `multi` (a space of several objectives),
    which Keras Tuner's oracles cannot search: hyperband and bayes refuse it.
    """
    if multi and name in BACKEND_NAMES and name not in MULTI_OBJECTIVE_BACKENDS:
        raise BackendError(
            f"backend {name} is Keras Tuner's, which searches one objective, and this space "
            f"names several; choose {', '.join(MULTI_OBJECTIVE_BACKENDS[:-1])} or "
            f"{MULTI_OBJECTIVE_BACKENDS[-1]}")
    if name == "random" and (shared or multi):
        return OptunaRandomBackend
    if name == NSGA2:
        return NSGA2Backend
    if name == "grid":
        # heavy: numpy
        from tuneyard.backends.grid import GridBackend, SharedGridBackend

        return SharedGridBackend if shared else GridBackend
    if name == "tpe":
        return TPEBackend
    if name in ("random", "bayes"):
        return RandomBackend if name == "random" else BayesBackend
    if name == "hyperband":
        return HyperbandBackend
    raise BackendError(f"unknown backend '{name}'; valid backends: {', '.join(VALID_BACKENDS)}")
