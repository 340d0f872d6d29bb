"""Data checks, in one place: every loaded Dataset and every shipped data file is checked here.

`check_dataset` runs once wherever a workload's data is loaded (the sweep's process, each
worker process, `tune evaluate`, `tune compare`, races: all go through
`space.data.load_space_data`), so bad data stops the command in one line naming the
workload, the array, the first bad index and its value, before any trial trains, instead of
every trial failing inside TensorFlow or completing with a NaN loss. The shipped loaders
(sources.py) use the same label and value checks on the raw files, naming the file.

The checks are vectorised and need no copy of a large array: a float array's sum (which
is NaN or infinite when any value is) answers for the whole array, and only then is it
scanned, in blocks of rows, for the first bad value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DataError

PARTS = ("train", "val", "test")
_BLOCK = 1 << 20  # values scanned at once when looking for the first bad one


def refuse_first(values: np.ndarray, bad: np.ndarray, where: str, array: str, rule: str,
                 fix: str, offset: int = 0) -> None:
    """Raise DataError naming the first position where the boolean mask `bad` is set.

    `bad` has the shape of `values`; `offset` is added to the first index (a block of rows).
    """
    if not bad.any():
        return
    first = int(bad.argmax())  # argmax of a boolean mask is its first True
    index = list(np.unravel_index(first, values.shape))
    index[0] += offset
    where_in = ", ".join(str(int(i)) for i in index)
    raise DataError(f"{where}: {array}[{where_in}] is {values.flat[first]}; {rule}; {fix}")


def check_finite(values: np.ndarray, where: str, array: str, rule: str, fix: str) -> None:
    """Refuse NaN or infinity in a float array (other dtypes hold neither)."""
    if values.dtype.kind != "f" or values.size == 0:
        return
    with np.errstate(all="ignore"):  # finite values may overflow the sum: then scan
        total = np.sum(values, dtype=np.float64)
    if np.isfinite(total):
        return
    rows = np.atleast_1d(values)
    step = max(1, _BLOCK // max(1, rows[0].size))
    for start in range(0, len(rows), step):
        block = rows[start:start + step]
        refuse_first(block, ~np.isfinite(block), where, array, rule, fix, offset=start)


def check_labels(labels: Any, count: int, num_classes: int | None, where: str, array: str,
                 samples: str, fix: str, unit: str = "samples") -> np.ndarray:
    """Return class labels as int64 (n,), or raise DataError naming the first bad one.

    `count` is the number of `unit` (samples, images) in the array called `samples`. Shapes (n,) and (n, 1)
    are both accepted, and so are floats holding whole numbers; NaN, 0.5, -1 or
    num_classes are refused. Without `num_classes` only the lower bound (0) is checked.
    """
    top = f"0..{num_classes - 1}" if num_classes is not None else "0 or more"
    rule = f"labels must be integers in {top}"
    y = np.asarray(labels)
    if y.ndim == 0 or y.size != y.shape[0]:
        raise DataError(f"{where}: {array} has shape {y.shape}; expected ({count},), one label "
                        f"per {unit.rstrip('s')}; {fix}")
    y = y.reshape(-1)
    if len(y) != count:
        raise DataError(f"{where}: {array} has {len(y)} labels but {samples} has {count} {unit}; "
                        f"expected one label per {unit.rstrip('s')}; {fix}")
    if y.dtype.kind == "f":
        refuse_first(y, ~np.isfinite(y) | (y != np.floor(y)), where, array, rule, fix)
    elif y.dtype.kind == "b":
        y = y.astype(np.int64)
    elif y.dtype.kind not in "iu":
        raise DataError(f"{where}: {array} holds {y.dtype} values; {rule}; {fix}")
    if len(y) and (y.min() < 0 or (num_classes is not None and y.max() >= num_classes)):
        high = num_classes if num_classes is not None else np.inf
        refuse_first(y, (y < 0) | (y >= high), where, array, rule, fix)
    return y.astype(np.int64)


def check_lengths(x: Any, y: Any, where: str, array: str, fix: str) -> None:
    """Refuse features and targets of different lengths (one target per sample)."""
    if np.ndim(x) == 0 or np.ndim(y) == 0:
        raise DataError(f"{where}: x_{array} and y_{array} must be arrays of samples, not single "
                        f"values; {fix}")
    if len(x) != len(y):
        raise DataError(f"{where}: x_{array} has {len(x)} samples but y_{array} has {len(y)}; "
                        f"give one target per sample; {fix}")


def check_dataset(dataset: Any, workload: str, task: str) -> None:
    """Check a loaded Dataset; raise DataError (one line) at the first problem.

    Each split: x and y of one length, float features finite; a classifier's labels
    integers in 0..num_classes-1 (num_classes from `dataset.info`; without it, 0 or more),
    or one-hot / multi-label rows of finite values; a regressor's targets finite.
    Parts that are not numpy arrays (a tf.data pipeline) are left to Keras.
    """
    where, fix = f"workload {workload}", "fix the workload's load()"
    num_classes = dataset.info.get("num_classes") if isinstance(dataset.info, dict) else None
    for part in PARTS:
        x, y = getattr(dataset, "x_" + part), getattr(dataset, "y_" + part)
        for name, values in (("x_" + part, x), ("y_" + part, y)):
            check_not_plain_list(values, where, name, fix)
        if isinstance(x, np.ndarray):
            check_finite(x, where, "x_" + part, "features must be finite numbers", fix)
        if not isinstance(y, np.ndarray):
            continue
        if isinstance(x, np.ndarray):
            check_lengths(x, y, where, part, fix)
        if task == "classification" and (y.ndim == 0 or y.size == y.shape[0]):
            check_labels(y, len(y), num_classes, where, "y_" + part, "x_" + part, fix)
        else:
            check_finite(y, where, "y_" + part, "targets must be finite numbers", fix)


def check_not_plain_list(values: Any, where: str, array: str, fix: str) -> None:
    """Refuse a Python list of numbers or of lists where an array belongs: Keras cannot fit
    on it (every trial would fail alike). A list of arrays (a multi-input model's) is fine."""
    if not isinstance(values, list | tuple) or not len(values):
        return
    first = values[0]
    if isinstance(first, list | tuple | int | float | bool | np.generic):
        raise DataError(f"{where}: {array} is a Python {type(values).__name__} of values, which "
                        f"Keras cannot fit on; make it a numpy array (np.asarray(...)); {fix}")


class LabelsBeyondModel(DataError):
    """A classifier's labels that its model's output cannot score: the sweep stops, no trial
    counts (raised before the first fit, so nothing trained)."""


def check_labels_fit_model(dataset: Any, model: Any, workload: str) -> None:
    """Refuse class labels at or past the width of the model's output (a sigmoid's one unit
    scores 0 and 1). Checked on the first model a process builds, since a dataset may not
    say its `num_classes`; a model whose output width is unknown is not checked."""
    try:
        outputs = model.outputs
        units = int(outputs[0].shape[-1]) if len(outputs) == 1 else None
    except (AttributeError, TypeError, ValueError, IndexError):  # subclassed, unbuilt, multi-output
        units = None
    if units is None:
        return
    fix = (f"the model's output has {units} unit{'s' * (units > 1)}: fix the labels in load() "
           "or the output layer")
    for part in PARTS:
        y = getattr(dataset, "y_" + part)
        if isinstance(y, np.ndarray) and y.ndim >= 1 and y.size == y.shape[0] and y.size:
            try:
                check_labels(y, len(y), max(units, 2), f"workload {workload}", "y_" + part,
                             "x_" + part, fix)
            except DataError as exc:
                raise LabelsBeyondModel(str(exc)) from None
