"""Which Keras backend a process of tuneyard would load, read without importing Keras, and
the one line that says what to install when that backend's library is missing.

tuneyard installs no backend library of its own (pyproject: TensorFlow comes with the `cpu`
or `gpu` extra), so everything that trains asks here first: `tune run` and `tune worker`
before any worker starts, and every loader of a space's data (run, evaluate, export,
compare, race).
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

from tuneyard.errors import TuneyardError

# Keras 3's backends and the module each needs, with what to install for it.
BACKEND_LIBRARIES = {
    "tensorflow": ("tensorflow", "pip install 'tuneyard[cpu]' (TensorFlow for the CPU) or "
                                 "'tuneyard[gpu]' (TensorFlow with CUDA, Linux)"),
    "jax": ("jax", "pip install jax (or 'jax[cuda12]' for a GPU)"),
    "torch": ("torch", "pip install torch"),
    "numpy": ("numpy", "pip install numpy"),
    "openvino": ("openvino", "pip install openvino"),
}


def keras_backend() -> tuple[str, str]:
    """The Keras backend this process would load, and where that was decided, read as Keras
    reads it (KERAS_BACKEND, else keras.json, else tensorflow) without importing Keras."""
    named = os.environ.get("KERAS_BACKEND")
    if named:
        return named, "KERAS_BACKEND"
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    try:
        chosen = json.loads((home / "keras.json").read_text()).get("backend")
    except (OSError, ValueError, AttributeError):
        chosen = None
    if chosen:
        return str(chosen), str(home / "keras.json")
    return "tensorflow", "Keras' default"


def missing_backend() -> str | None:
    """One line saying what to install when the Keras backend's library is missing, else None."""
    backend, where = keras_backend()
    module, install = BACKEND_LIBRARIES.get(backend, (backend, f"pip install {backend}"))
    try:
        if importlib.util.find_spec(module) is not None:
            return None
    except (ImportError, ValueError):  # a name that is no module at all ("a.b", "")
        pass
    return (f"the Keras backend '{backend}' ({where}) needs {module}, which is not installed: "
            f"{install}; or set KERAS_BACKEND to a backend you have")


def check_backend() -> None:
    """Refuse, in one line, to train without the Keras backend's library."""
    missing = missing_backend()
    if missing:
        raise TuneyardError(missing)
