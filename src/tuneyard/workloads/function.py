"""A bare build function and its data, seen as a Workload (what `tuneyard.search` runs).

It declares no hyperparameters: the trainer watches which params the function
reads, and after the first trial the ones it never read are refused.

The data is arrays, split and sampled by tuneyard: (x, y) or (x, y, sample_weight), or a
dict of such parts; or pipelines (tf.data.Dataset, keras.utils.PyDataset), which tuneyard
cannot split or sample, so a pipeline comes with its own validation part and no subset.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from tuneyard.errors import ArgumentError, DataError
from tuneyard.workloads.base import Dataset, Workload
from tuneyard.workloads.checks import check_lengths
from tuneyard.workloads.pipelines import is_pipeline, kind


class FunctionWorkload(Workload):
    """`build(params) -> compiled keras.Model` on data given in this process, with the
    caller's callbacks (a list, copied for each fit, or a function params -> list) and
    class_weight."""

    def __init__(self, build: Callable[[dict], Any], data: Any, *, task: str | None = None,
                 name: str = "build_model", callbacks: Any = None, class_weight: Any = None):
        self.build, self.name = build, name
        self.parts = _parts(data)
        self.callbacks, self.class_weight = _copyable(callbacks), class_weight
        train_y = self.parts["train"][1]
        if task is None and train_y is None:
            raise ArgumentError(f"task: the training data is a {kind(self.parts['train'][0])}, "
                                "whose labels tuneyard cannot see; pass task='classification' "
                                "or task='regression'")
        self.task = task or _guess_task(train_y)
        if self.task not in ("classification", "regression"):
            raise ArgumentError(f"task must be 'classification' or 'regression', got {self.task!r}")

    def subset_problem(self, subset: int | None) -> str | None:
        """Why `subset` cannot be drawn from this data (a pipeline), or None."""
        x = self.parts["train"][0]
        if subset is None or not is_pipeline(x):
            return None
        return (f"subset: the training data is a {kind(x)}, which tuneyard cannot sample; take "
                "a part of it yourself (tf.data: ds.take(n_batches)) or pass arrays")

    def load(self, *, data_dir: str | None = None, subset: int | None = None, seed: int = 0,
             validation_split: float = 0.1) -> Dataset:
        """The data as given; (x, y) alone is split seeded (stratified for classifiers)."""
        problem = self.subset_problem(subset)
        if problem:
            raise DataError(problem)
        x, y, w = self.parts["train"]
        if is_pipeline(x):  # validation is given (checked in _parts)
            return self._as_given()
        rng = np.random.default_rng(seed)
        if subset is not None:
            if not 2 <= subset <= len(y):
                raise DataError(f"subset {subset} must be between 2 and the {len(y)} samples")
            keep = np.sort(rng.choice(len(y), subset, replace=False))
            x, y, w = x[keep], y[keep], None if w is None else w[keep]
        if "validation" in self.parts:
            x_val, y_val, w_val = self.parts["validation"]
        else:
            x, y, w, x_val, y_val, w_val = _split(x, y, w, validation_split, seed, self.task)
        empty = (None, None, None) if is_pipeline(x_val) else (x_val[:0], y_val[:0], None)
        x_test, y_test, _ = self.parts.get("test", empty)
        info: dict = {"input_shape": tuple(x.shape[1:])}
        if self.task == "classification" and not is_pipeline(x_val):
            classes = int(max(y.max(), y_val.max())) + 1
            info.update(num_classes=classes, class_names=[str(c) for c in range(classes)])
        return Dataset(x, y, x_val, y_val, x_test, y_test, info=info, w_train=w, w_val=w_val)

    def _as_given(self) -> Dataset:
        x, y, w = self.parts["train"]
        x_val, y_val, w_val = self.parts["validation"]
        x_test, y_test, _ = self.parts.get("test", (None, None, None))
        return Dataset(x, y, x_val, y_val, x_test, y_test, info={}, w_train=w, w_val=w_val)

    def build_model(self, params: dict, dataset: Dataset, options: dict) -> Any:
        """The user's function, given the params (a tracking dict: reads are noted)."""
        return self.build(params)

    def fit_options(self, params: dict, dataset: Dataset) -> dict:
        """The caller's callbacks, new for this fit (made, or copied), and class_weight."""
        made = self.callbacks(params) if callable(self.callbacks) else copy.deepcopy(self.callbacks)
        if made is not None and not isinstance(made, list | tuple):
            raise TypeError(f"callbacks(params) returned a {type(made).__name__}; return a list "
                            "of keras.callbacks.Callback")
        return {"callbacks": made, "class_weight": self.class_weight}


def _copyable(callbacks: Any) -> Any:
    """The callbacks as given, once shown to copy (each fit gets its own copy)."""
    if callbacks is None or callable(callbacks):
        return callbacks
    if not isinstance(callbacks, list | tuple):
        raise ArgumentError(f"callbacks must be a list of keras.callbacks.Callback or a function "
                            f"params -> list, got {type(callbacks).__name__}")
    try:
        copy.deepcopy(callbacks)
    except Exception as exc:  # a lock, a file, a generator inside a callback
        raise ArgumentError(f"callbacks: {type(callbacks[0] if callbacks else callbacks).__name__}"
                            f" cannot be copied for each trial ({type(exc).__name__}: {exc}); pass "
                            "a function params -> [callbacks] that makes new ones") from None
    return list(callbacks)


def _parts(data: Any) -> dict:
    if isinstance(data, Dataset):
        return {"train": (data.x_train, data.y_train, data.w_train),
                "validation": (data.x_val, data.y_val, data.w_val),
                "test": (data.x_test, data.y_test, None)}
    if isinstance(data, dict):
        unknown = set(data) - {"train", "validation", "test"}
        if "train" not in data or unknown:
            raise ArgumentError("data as a dict needs 'train' and may have 'validation' and "
                                f"'test', each an (x, y) pair or a pipeline; got keys {sorted(data)}")
        parts = {k: _part(v, f"data['{k}']") for k, v in data.items()}
    else:
        parts = {"train": _part(data, "data")}
    if is_pipeline(parts["train"][0]) and "validation" not in parts:
        raise ArgumentError(f"data: a {kind(parts['train'][0])} cannot be split for validation "
                            "by tuneyard; pass data={'train': ds, 'validation': val_ds} "
                            "(and 'test' if you want one)")
    if "test" in parts and parts["test"][2] is not None:
        raise ArgumentError("data['test']: test scores are not weighted; give an (x, y) pair")
    return parts


def _part(value: Any, what: str) -> tuple:
    """(x, y, sample_weight or None): arrays as numpy, a pipeline as given (y None)."""
    if is_pipeline(value):
        return value, None, None
    if not isinstance(value, tuple | list) or len(value) not in (2, 3):
        raise ArgumentError(f"{what} must be an (x, y) or (x, y, sample_weight) tuple of arrays, "
                            "or a tf.data.Dataset / keras.utils.PyDataset")
    x, y = np.asarray(value[0]), np.asarray(value[1])
    w = np.asarray(value[2]) if len(value) == 3 else None
    # Splitting needs one label (and weight) per sample; values are checked with the Dataset.
    try:
        check_lengths(x, y, "tuneyard.search", what, "pass arrays of one length")
    except DataError as exc:
        raise ArgumentError(str(exc)) from None
    if w is not None and (w.ndim != 1 or len(w) != len(y)):
        raise ArgumentError(f"{what}: sample_weight has shape {w.shape}; give one weight per "
                            f"sample, shape ({len(y)},)")
    return x, y, w


def _guess_task(y: np.ndarray) -> str:
    return "classification" if y.dtype.kind in "iub" else "regression"


def _split(x: np.ndarray, y: np.ndarray, w: np.ndarray | None, fraction: float, seed: int,
           task: str) -> tuple:
    # heavy: sklearn
    from sklearn.model_selection import train_test_split

    if not 0 < fraction < 1:
        raise DataError(f"validation_split {fraction!r} must be strictly between 0 and 1")
    stratify = y if task == "classification" else None
    arrays = (x, y) if w is None else (x, y, w)
    try:
        parts = train_test_split(*arrays, test_size=fraction, random_state=seed,
                                 stratify=stratify)
    except ValueError as exc:  # a class with one sample cannot be stratified
        raise DataError(f"cannot split the data for validation: {exc}") from None
    x_tr, x_val, y_tr, y_val = parts[:4]
    w_tr, w_val = parts[4:6] if w is not None else (None, None)
    return x_tr, y_tr, w_tr, x_val, y_val, w_val
