"""A bare build function and arrays, seen as a Workload (what `tuneyard.search` runs).

It declares no hyperparameters: the trainer watches which params the function
reads, and after the first trial the ones it never read are refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tuneyard.errors import DataError
from tuneyard.workloads.base import Dataset, Workload
from tuneyard.workloads.checks import check_lengths


class FunctionWorkload(Workload):
    """`build(params) -> compiled keras.Model` on arrays given in this process."""

    def __init__(self, build: Callable[[dict], Any], data: Any, *, task: str | None = None,
                 name: str = "build_model"):
        self.build, self.name = build, name
        self.parts = _parts(data)
        self.task = task or _guess_task(self.parts["train"][1])
        if self.task not in ("classification", "regression"):
            raise DataError(f"task must be 'classification' or 'regression', got {self.task!r}")

    def load(self, *, data_dir: str | None = None, subset: int | None = None, seed: int = 0,
             validation_split: float = 0.1) -> Dataset:
        """The arrays as given; (x, y) alone is split seeded (stratified for classifiers)."""
        x, y = self.parts["train"]
        rng = np.random.default_rng(seed)
        if subset is not None:
            if not 2 <= subset <= len(y):
                raise DataError(f"subset {subset} must be between 2 and the {len(y)} samples")
            keep = np.sort(rng.choice(len(y), subset, replace=False))
            x, y = x[keep], y[keep]
        if "validation" in self.parts:
            (x_val, y_val) = self.parts["validation"]
        else:
            x, y, x_val, y_val = _split(x, y, validation_split, seed, self.task)
        x_test, y_test = self.parts.get("test", (x_val[:0], y_val[:0]))
        info: dict = {"input_shape": tuple(x.shape[1:])}
        if self.task == "classification":
            classes = int(max(y.max(), y_val.max())) + 1
            info.update(num_classes=classes, class_names=[str(c) for c in range(classes)])
        return Dataset(x, y, x_val, y_val, x_test, y_test, info=info)

    def build_model(self, params: dict, dataset: Dataset, options: dict) -> Any:
        """The user's function, given the params (a tracking dict: reads are noted)."""
        return self.build(params)


def _parts(data: Any) -> dict:
    if isinstance(data, Dataset):
        return {"train": (data.x_train, data.y_train), "validation": (data.x_val, data.y_val),
                "test": (data.x_test, data.y_test)}
    if isinstance(data, dict):
        unknown = set(data) - {"train", "validation", "test"}
        if "train" not in data or unknown:
            raise DataError("data as a dict needs 'train' and may have 'validation' and 'test', "
                            f"each an (x, y) pair; got keys {sorted(data)}")
        return {k: _pair(v, k) for k, v in data.items()}
    return {"train": _pair(data, "data")}


def _pair(value: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise DataError(f"{what} must be an (x, y) pair of arrays")
    x, y = np.asarray(value[0]), np.asarray(value[1])
    # Splitting needs one label per sample; the values are checked with the loaded Dataset.
    check_lengths(x, y, "tuneyard.search data", what, "pass arrays of one length")
    return x, y


def _guess_task(y: np.ndarray) -> str:
    return "classification" if y.dtype.kind in "iub" else "regression"


def _split(x: np.ndarray, y: np.ndarray, fraction: float, seed: int, task: str) -> tuple:
    # heavy: sklearn
    from sklearn.model_selection import train_test_split

    if not 0 < fraction < 1:
        raise DataError(f"validation_split {fraction!r} must be strictly between 0 and 1")
    stratify = y if task == "classification" else None
    try:
        x_tr, x_val, y_tr, y_val = train_test_split(x, y, test_size=fraction, random_state=seed,
                                                    stratify=stratify)
    except ValueError as exc:  # a class with one sample cannot be stratified
        raise DataError(f"cannot split the data for validation: {exc}") from None
    return x_tr, y_tr, x_val, y_val
