"""Search backends behind one ask/tell interface, by name."""

from __future__ import annotations

from tuneyard.backends.base import Backend
from tuneyard.errors import BackendError

BACKEND_NAMES = ("grid", "tpe", "random", "hyperband", "bayes")


def get_backend(name: str) -> type[Backend]:
    """The backend class called `name` (imported on demand)."""
    if name == "grid":
        from tuneyard.backends.grid import GridBackend

        return GridBackend
    if name == "tpe":
        from tuneyard.backends.tpe import TPEBackend

        return TPEBackend
    if name in ("random", "bayes"):
        from tuneyard.backends.kt_backend import BayesBackend, RandomBackend

        return RandomBackend if name == "random" else BayesBackend
    if name == "hyperband":
        from tuneyard.backends.hyperband import HyperbandBackend

        return HyperbandBackend
    raise BackendError(f"unknown backend '{name}'; valid backends: {', '.join(BACKEND_NAMES)}")
