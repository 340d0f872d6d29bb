"""Data that is not arrays: a `tf.data.Dataset` or a `keras.utils.PyDataset` (a pipeline).

A workload's split may be a pipeline that yields batches of (x, y) or (x, y, sample_weight);
`fit` gets it as given. tuneyard cannot slice, count or check what a pipeline yields without
running it, so it checks only what it can see: the split's kind, that its `y_` is None (the
pipeline brings its own), that it is not a Python generator (one fit would use it up).

Told apart by class name, without importing TensorFlow or Keras (the CLI imports this
package and must start instantly).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import DataError

TF_DATA, PY_DATASET = "tf.data.Dataset", "keras.utils.PyDataset"


def kind(values: Any) -> str | None:
    """TF_DATA or PY_DATASET for a pipeline, else None (arrays, None, anything else)."""
    for cls in type(values).__mro__:
        module = cls.__module__ or ""
        if cls.__name__ == "DatasetV2" and module.startswith("tensorflow"):
            return TF_DATA
        if cls.__name__ == "PyDataset" and module.startswith("keras"):
            return PY_DATASET
    return None


def is_pipeline(values: Any) -> bool:
    """Whether `values` is a tf.data.Dataset or a keras.utils.PyDataset."""
    return kind(values) is not None


def check_pipelines(dataset: Any, where: str, fix: str) -> None:
    """Refuse, in one line, what no fit can train on: a generator, a pipeline given a `y_`
    or weights beside it, no validation data."""
    for part in ("train", "val", "test"):
        x, y = getattr(dataset, "x_" + part), getattr(dataset, "y_" + part)
        for name, values in (("x_" + part, x), ("y_" + part, y)):
            if inspect.isgenerator(values) or (isinstance(values, Iterator)
                                               and not isinstance(values, np.ndarray)):
                raise DataError(f"{where}: {name} is a Python iterator, which one fit uses up; "
                                "make it a keras.utils.PyDataset or a tf.data.Dataset "
                                f"(tf.data.Dataset.from_generator); {fix}")
        if not is_pipeline(x):
            continue
        if y is not None:
            raise DataError(f"{where}: x_{part} is a {kind(x)}, which yields its own labels; "
                            f"make y_{part} None (yield (x, y) or (x, y, sample_weight)); {fix}")
        if getattr(dataset, "w_" + part, None) is not None:
            raise DataError(f"{where}: x_{part} is a {kind(x)}: its sample weights are the "
                            f"third element it yields, not w_{part}; {fix}")
    if dataset.x_val is None:
        raise DataError(f"{where}: x_val is None; every trial is judged on validation data: "
                        f"give arrays or a pipeline; {fix}")


def as_arrays(x: Any, y: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    """A split's features and labels as arrays: a pipeline is run once, in order (so a
    shuffling one pairs each prediction with its own label). For scoring the test split."""
    if not is_pipeline(x):
        return np.asarray(x), np.asarray(y)
    batches = (x[i] for i in range(len(x))) if kind(x) == PY_DATASET else iter(x)
    xs, ys = [], []
    for batch in batches:
        if not isinstance(batch, tuple | list) or len(batch) < 2:
            raise DataError(f"{where}: x_test yields {type(batch).__name__} batches; scoring "
                            "needs (x, y) batches of arrays")
        xs.append(np.asarray(batch[0]))
        ys.append(np.asarray(batch[1]))
    if not xs:
        raise DataError(f"{where}: x_test yields no batches; nothing to score")
    return np.concatenate(xs), np.concatenate(ys)


def with_test_arrays(dataset: Any, where: str) -> Any:
    """`dataset` with its test split as arrays (a pipeline's run once); DataError if it has
    none. What scoring on the test split reads."""
    if dataset.x_test is None or (not is_pipeline(dataset.x_test) and len(dataset.x_test) == 0):
        what = "x_test is None" if dataset.x_test is None else "x_test is empty"
        raise DataError(f"{where}: load() gave no test split ({what}); give one to "
                        "score a model on it")
    if not is_pipeline(dataset.x_test):
        return dataset
    x, y = as_arrays(dataset.x_test, dataset.y_test, where)
    return dataclasses.replace(dataset, x_test=x, y_test=y)
