"""Search backends behind one ask/tell interface, by name."""

from __future__ import annotations

from tuneyard.backends.base import Backend
from tuneyard.backends.hyperband import HyperbandBackend
from tuneyard.backends.kt_backend import BayesBackend, RandomBackend
from tuneyard.backends.optuna_random import OptunaRandomBackend
from tuneyard.backends.tpe import TPEBackend
from tuneyard.errors import BackendError

BACKEND_NAMES = ("grid", "tpe", "random", "hyperband", "bayes")
# Strategies many workers can share through a server storage (Optuna-native).
SHARED_BACKENDS = ("grid", "tpe", "random")


def get_backend(name: str, shared: bool = False) -> type[Backend]:
    """The backend class called `name` (imported on demand).

    `shared` (a study many workers share on a server) makes `random` Optuna's
    RandomSampler instead of Keras Tuner's RandomSearch, and the grid one whose
    trials' numbers pick their points.
    """
    if name == "random" and shared:
        return OptunaRandomBackend
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
    raise BackendError(f"unknown backend '{name}'; valid backends: {', '.join(BACKEND_NAMES)}")
