"""What one trial's `model.fit` gets: the data as the workload gave it, and the user's fit options.

Arrays go with the trial's batch size and their sample weights; a pipeline (tf.data.Dataset,
keras.utils.PyDataset) goes as given, with no batch size (it brings its own batches).
The workload's `fit_options(params, dataset)` is called before every fit, so its callbacks
are fresh each trial; what it returns is checked here, before Keras sees it, and a mistake
is the trial's error in one line at the user's `fit_options`.
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import Any

from tuneyard.engine.user_errors import BuildMistake
from tuneyard.workloads.pipelines import is_pipeline

# Keys a workload may give; everything else fit takes is tuneyard's (or would break a trial:
# validation_freq leaves epochs without the objective, validation_split ignores the split).
ALLOWED = ("callbacks", "class_weight", "steps_per_epoch", "validation_steps", "shuffle")
OWNED = {"x": "the Dataset's x_train", "y": "the Dataset's y_train",
         "epochs": "the space's training.epochs", "initial_epoch": "the backend (Hyperband)",
         "batch_size": "the space's batch_size", "validation_data": "the Dataset's x_val, y_val",
         "validation_split": "the space's training.validation_split",
         "sample_weight": "the Dataset's w_train (or a pipeline's third element)",
         "verbose": "tune run --verbose", "validation_freq": "tuneyard (every epoch is judged)"}


def fit_data(dataset: Any, batch_size: int) -> dict:
    """The data arguments of fit for `dataset`: pipelines as given, arrays with weights."""
    x, x_val = dataset.x_train, dataset.x_val
    if is_pipeline(x):  # Keras warns on shuffle=True: a pipeline shuffles itself, or not
        data: dict = {"x": x, "batch_size": None, "shuffle": False}
    else:
        data = {"x": x, "y": dataset.y_train, "batch_size": batch_size}
        if getattr(dataset, "w_train", None) is not None:
            data["sample_weight"] = dataset.w_train
    if is_pipeline(x_val):
        data["validation_data"] = x_val
    else:
        w_val = getattr(dataset, "w_val", None)
        data["validation_data"] = (x_val, dataset.y_val) if w_val is None else (
            x_val, dataset.y_val, w_val)
    return data


def user_fit_options(workload: Any, params: dict, dataset: Any) -> dict:
    """The workload's fit options for this fit, checked; {} when it gives none."""
    hook = getattr(workload, "fit_options", None)
    options = hook(params, dataset) if hook is not None else {}
    options = {} if options is None else options
    where = _site(workload)
    if not isinstance(options, dict):
        raise BuildMistake(f"fit_options() returned a {type(options).__name__}; return a dict "
                           f"with some of {', '.join(ALLOWED)}", where)
    for key in options:
        if key in OWNED:
            raise BuildMistake(f"fit_options() gave {key!r}, which tuneyard sets from "
                               f"{OWNED[key]}; remove it", where)
        if key not in ALLOWED:
            raise BuildMistake(f"fit_options() gave {key!r}, which tuneyard does not pass to "
                               f"fit; it may give {', '.join(ALLOWED)}", where)
    out = dict(options)
    if out.get("class_weight") is not None:
        problem = class_weight_problem(out["class_weight"], dataset.info.get("num_classes"))
        if problem:
            raise BuildMistake(f"fit_options() class_weight {problem}", where)
    out["callbacks"] = check_callbacks(out.get("callbacks"), "the callbacks", where)
    return out


def check_callbacks(callbacks: Any, what: str, where: str = "") -> list:
    """A list of Keras callbacks, else BuildMistake saying what was given instead."""
    if callbacks is None:
        return []
    # heavy: keras (a trial has imported it already)
    import keras

    if not isinstance(callbacks, list | tuple):
        raise BuildMistake(f"{what} is a {type(callbacks).__name__}; give a list of "
                           "keras.callbacks.Callback", where)
    for item in callbacks:
        if not isinstance(item, keras.callbacks.Callback):
            raise BuildMistake(f"{what} holds a {type(item).__name__}, not a "
                               "keras.callbacks.Callback", where)
    return list(callbacks)


def class_weight_problem(weights: Any, num_classes: int | None) -> str | None:
    """What is wrong with a class_weight dict ({class index: weight}), or None."""
    if not isinstance(weights, dict) or not weights:
        return f"must be a dict {{class index: weight}}, got {type(weights).__name__}"
    for key, value in weights.items():
        if isinstance(key, bool) or not isinstance(key, int) and not hasattr(key, "__index__"):
            return f"key {key!r} is not a class index (an int)"
        if num_classes is not None and not 0 <= int(key) < num_classes:
            return f"key {key} is not a class: the data has classes 0..{num_classes - 1}"
        if isinstance(value, bool) or not isinstance(value, int | float) and not hasattr(
                value, "__float__"):
            return f"weight of class {key} is {value!r}, not a number"
        if not math.isfinite(float(value)) or float(value) < 0:
            return f"weight of class {key} is {value}; weights must be finite and 0 or more"
    return None


def _site(workload: Any) -> str:
    """` (at file:line)` of the workload's fit_options, where Python knows it."""
    fn = getattr(type(workload), "fit_options", None)
    if getattr(fn, "__module__", "").startswith("tuneyard."):  # a search's: checked in search()
        return ""
    try:
        return f" (at {Path(inspect.getsourcefile(fn)).name}:{inspect.getsourcelines(fn)[1]})"
    except (TypeError, OSError):
        return ""
