import importlib

"""tuneyard: one hyperparameter search space, every search strategy, one leaderboard.

The public names are loaded on first use, so `import tuneyard` imports neither
TensorFlow nor Optuna nor pandas, and changes nothing global (the `tune` command and
tuneyard's worker processes keep TensorFlow's import lines off stderr; see quiet_import):

- `tuneyard.search(build_model, data=(x, y), space={...}, backend="tpe", trials=30)`
- `tuneyard.Workload`, `tuneyard.Dataset`: the contract of a workload of your own
- `tuneyard.load_space(name_or_path)`, `tuneyard.Space`
"""

__version__ = "0.1.0"

__all__ = ["search", "SearchResult", "Workload", "Dataset", "Space", "load_space",
           "TuneyardError", "DataError", "__version__"]

_LAZY = {"search": "tuneyard.api", "SearchResult": "tuneyard.api",
         "TuneyardError": "tuneyard.errors", "DataError": "tuneyard.errors",
         "Workload": "tuneyard.workloads.base", "Dataset": "tuneyard.workloads.base",
         "Space": "tuneyard.space.core", "load_space": "tuneyard.space.file"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tuneyard' has no attribute {name!r}")
