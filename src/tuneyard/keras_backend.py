"""Which Keras backend this process trains with, found without importing Keras.

Keras 3 runs on TensorFlow, JAX or PyTorch, picked when `keras` is first imported: the
KERAS_BACKEND environment variable, else the "backend" of keras.json in Keras' home, else
TensorFlow. Importing Keras imports that library, and a missing one fails deep inside
Keras ("No module named 'tensorflow'" on a machine that has only JAX); tuneyard says
instead, in one line, which backend was picked, why, and what to do (check_installed).
Nothing here imports Keras; only check_installed imports the backend's library.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from pathlib import Path

from tuneyard.errors import TuneyardError

# The Python package each Keras backend imports.
BACKEND_PACKAGES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch", "numpy": "numpy",
                    "openvino": "openvino"}
# How to install one. tuneyard brings no backend library itself (pyproject: TensorFlow comes
# with the `cpu` or the `gpu` extra).
INSTALL = {"tensorflow": "pip install 'tuneyard[cpu]' (or 'tuneyard[gpu]': TensorFlow with CUDA, "
                         "Linux)",
           "jax": "pip install jax (or 'jax[cuda12]' for a GPU)", "torch": "pip install torch"}


def keras_home() -> Path:
    """Keras' home folder, as Keras finds it (KERAS_HOME, else ~/.keras, else /tmp/.keras)."""
    if "KERAS_HOME" in os.environ:
        return Path(os.environ["KERAS_HOME"]).expanduser()
    base = os.path.expanduser("~")
    return Path(base if os.access(base, os.W_OK) else "/tmp", ".keras")


def keras_backend() -> tuple[str, str]:
    """The backend Keras uses (or will use once imported) and where that choice comes from."""
    keras = sys.modules.get("keras")
    config = getattr(keras, "config", None)
    if config is not None:  # imported already: its own word
        return config.backend(), "Keras, already imported"
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"], "KERAS_BACKEND"
    path = keras_home() / "keras.json"
    try:
        chosen = json.loads(path.read_text()).get("backend")
    except (OSError, ValueError, AttributeError):  # no file, or not a JSON object: Keras' default
        chosen = None
    if chosen:
        return str(chosen), str(path)
    return "tensorflow", "Keras' default, with KERAS_BACKEND unset"


def missing_backend() -> str | None:
    """The one line check_installed would give for an absent library, found without importing
    it (`tune devices` lists the rest all the same); None when it is there."""
    name, source = keras_backend()
    package = BACKEND_PACKAGES.get(name)
    if package is None or package in sys.modules or importlib.util.find_spec(package):
        return None
    return _not_installed(name, source, package)


def require_backend() -> None:
    """Refuse, in one line, a sweep whose backend library is absent, without importing it:
    the parent of worker processes never loads the backend (seconds and hundreds of MB)."""
    missing = missing_backend()
    if missing:
        raise TuneyardError(missing)


def check_installed() -> str:
    """The Keras backend's name, once its library imports (else one line saying what to do).

    The library is imported here, just before Keras would import it anyway, so that an
    absent one and one installed but broken (a missing CUDA library) are both told apart
    from an error of the user's code.
    """
    name, source = keras_backend()
    package = BACKEND_PACKAGES.get(name)
    if package is None:
        raise TuneyardError(f"Keras backend {name!r} ({source}) is not one Keras knows: set "
                            "KERAS_BACKEND to tensorflow, jax or torch")
    if package in sys.modules:
        return name
    try:
        importlib.import_module(package)
    except ImportError as exc:
        if exc.name != package:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise TuneyardError(f"Keras would train with {name} ({source}), but {package} fails "
                                f"to import: {type(exc).__name__}: {first}") from None
        raise TuneyardError(_not_installed(name, source, package)) from None
    return name


def _not_installed(name: str, source: str, package: str) -> str:
    others = [n for n in ("tensorflow", "jax", "torch") if n != name
              and importlib.util.find_spec(BACKEND_PACKAGES[n]) is not None]
    instead = f"set KERAS_BACKEND={others[0]} (installed here), or " if others else ""
    return (f"Keras would train with {name} ({source}), which is not installed: {instead}"
            f"{INSTALL.get(package, f'pip install {package}')}")
