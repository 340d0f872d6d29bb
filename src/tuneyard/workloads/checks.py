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
from .pipelines import check_pipelines, is_pipeline

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
    top = f"in 0..{num_classes - 1}" if num_classes is not None else "0 or more"
    rule = f"labels must be integers {top}"
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

    Each split: x and y of one length, float features finite (each array of a multi-input
    list or dict too); a classifier's labels integers in 0..num_classes-1 (num_classes from
    `dataset.info`, else the number of its class_names; without either, 0 or more), or
    one-hot / multi-label rows of finite values; a regressor's targets finite; sample
    weights one per sample, finite and not negative. A pipeline (tf.data.Dataset,
    keras.utils.PyDataset) is checked for what can be seen without running it (pipelines.py).
    """
    where, fix = f"workload {workload}", "fix the workload's load()"
    info = dataset.info if isinstance(dataset.info, dict) else {}
    num_classes = info.get("num_classes")
    if num_classes is None and info.get("class_names"):
        num_classes = len(info["class_names"])
    check_pipelines(dataset, where, fix)
    for part in PARTS:
        x, y = getattr(dataset, "x_" + part), getattr(dataset, "y_" + part)
        for name, values in (("x_" + part, x), ("y_" + part, y)):
            check_not_plain_list(values, where, name, fix)
        for name, values in _arrays(x, "x_" + part):
            check_finite(values, where, name, "features must be finite numbers", fix)
        if not isinstance(y, np.ndarray):
            continue
        if isinstance(x, np.ndarray):
            check_lengths(x, y, where, part, fix)
        if task == "classification" and (y.ndim == 0 or y.size == y.shape[0]):
            check_labels(y, len(y), num_classes, where, "y_" + part, "x_" + part, fix)
        else:
            check_finite(y, where, "y_" + part, "targets must be finite numbers", fix)
        check_weights(getattr(dataset, "w_" + part, None), len(y), where, part, fix)


def _arrays(x: Any, name: str) -> list[tuple[str, np.ndarray]]:
    """The numpy arrays of a split's features, named: one, or a multi-input list or dict's."""
    if isinstance(x, np.ndarray):
        return [(name, x)]
    if isinstance(x, dict):
        return [(f"{name}[{k!r}]", v) for k, v in x.items() if isinstance(v, np.ndarray)]
    if isinstance(x, list | tuple):
        return [(f"{name}[{i}]", v) for i, v in enumerate(x) if isinstance(v, np.ndarray)]
    return []


def check_weights(weights: Any, count: int, where: str, part: str, fix: str) -> None:
    """Refuse sample weights that are not one finite, non-negative number per sample."""
    if weights is None:
        return
    name = f"w_{part}"
    w = np.asarray(weights)
    if w.dtype.kind not in "iuf" or w.ndim != 1 or len(w) != count:
        raise DataError(f"{where}: {name} has shape {w.shape} ({w.dtype}); sample weights are "
                        f"one number per sample, shape ({count},); {fix}")
    rule = "sample weights must be finite and 0 or more"
    check_finite(w, where, name, rule, fix)
    refuse_first(w, w < 0, where, name, rule, fix)


def check_subset_honoured(dataset: Any, subset: int | None, workload: str) -> None:
    """Refuse a load() that ignored `subset`: more training samples than asked, or fewer
    samples in all than asked (a subset larger than the data, silently clipped).

    A subset is N samples of the training pool (train + validation); the test split may be
    kept whole. Pipelines cannot be counted without running them: honouring `subset` is
    their load()'s to do (README: Your own fit).
    """
    if subset is None or is_pipeline(dataset.x_train) or not _sized(dataset.x_train):
        return
    where = f"workload {workload}"
    train = _count(dataset.x_train)
    if train > subset:
        raise DataError(f"{where}: load() ignored subset={subset}: x_train has {train} samples; "
                        "draw `subset` samples of the training pool in load(), or run without "
                        "--subset")
    total = train + sum(_count(getattr(dataset, "x_" + p)) for p in ("val", "test")
                        if _sized(getattr(dataset, "x_" + p)))
    if total < subset:
        raise DataError(f"{where}: subset={subset} is more than the {total} samples load() "
                        f"returned in all (train, validation and test); use a subset of at most "
                        f"{train + _count(dataset.x_val) if _sized(dataset.x_val) else train}, "
                        "or no subset")


def _sized(x: Any) -> bool:
    arrays = _arrays(x, "x")
    return bool(arrays) and all(a.ndim >= 1 for _, a in arrays)


def _count(x: Any) -> int:
    """Samples in an array split (a multi-input's first array)."""
    return len(_arrays(x, "x")[0][1])


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
