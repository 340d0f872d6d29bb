"""A trial's checkpoint: its model's weights and its optimizer's state, for a later trial that
continues it (a Hyperband promotion) in a model the same builder makes.

The file is a run of `.npy` records (numpy's own format: dtype and shape in each header,
no pickles): first `[FORMAT, weights, optimizer variables]`, then every array of
`model.get_weights()`, then every variable of `model.optimizer.variables` (Adam's step count
and moments, ...), in the order the builder makes them. Keras' own `save_weights` stores
the same state through HDF5 and a walk over the model's layers; on an MLP of 670,000
parameters with Adam (8 MB) it took 28-35 ms of CPU to write and 28-44 to read, against 7-12
and 8-10 here (2026-12-06, 2 cores). Keras files (`.weights.h5`, `.keras`: a sweep
checkpointed by an earlier tuneyard) still load, through Keras.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tuneyard.atomic import replacing
from tuneyard.errors import TuneyardError

SUFFIX = ".ckpt"
FORMAT = 1  # the first record's first number: a later layout gets another


class CheckpointUnreadable(TuneyardError):
    """A checkpoint that is not one, or not one for this model."""


def save_checkpoint(model: Any, path: str | Path) -> None:
    """Write `model`'s weights and optimizer state to `path` (ending in SUFFIX: the name
    says how it loads), whole or not at all."""
    if not str(path).endswith(SUFFIX):
        raise ValueError(f"a checkpoint's name ends in {SUFFIX}: {path}")
    import numpy as np  # heavy: numpy (the backends import this module's SUFFIX)

    weights = model.get_weights()
    optimizer = [v.numpy() for v in _optimizer_variables(model)]
    head = np.array([FORMAT, len(weights), len(optimizer)], dtype=np.int64)
    with replacing(path, ".tmp" + SUFFIX) as tmp, open(tmp, "wb") as out:
        for array in (head, *weights, *optimizer):
            np.lib.format.write_array(out, np.asarray(array), allow_pickle=False)


def load_checkpoint(model: Any, path: str | Path) -> None:
    """Put the weights and optimizer state saved at `path` into `model` (made by the builder
    that made the saved one); a Keras file loads through Keras."""
    path = str(path)
    if not path.endswith(SUFFIX):
        _load_keras_file(model, path)
        return
    weights, optimizer = _read(path)
    _build_optimizer(model)
    variables = _optimizer_variables(model)
    _check_fits(path, "weights", [w.shape for w in model.weights], weights)
    _check_fits(path, "optimizer variables", [v.shape for v in variables], optimizer)
    model.set_weights(weights)
    for variable, value in zip(variables, optimizer, strict=True):
        variable.assign(value)


def _load_keras_file(model: Any, path: str) -> None:
    # Build the optimizer first: Keras skips the saved moments and steps of an unbuilt one.
    _build_optimizer(model)
    model.load_weights(path)


def _optimizer_variables(model: Any) -> list:
    return list(model.optimizer.variables) if model.optimizer is not None else []


def _build_optimizer(model: Any) -> None:
    """Make the optimizer's slots (an unbuilt one has none to fill); none without one."""
    if model.optimizer is not None:
        model.optimizer.build(model.trainable_variables)


def _read(path: str) -> tuple[list, list]:
    """The weights and optimizer arrays at `path`; CheckpointUnreadable if it holds none."""
    import numpy as np  # heavy: numpy

    try:
        with open(path, "rb") as source:
            head = np.lib.format.read_array(source, allow_pickle=False)
            if head.shape != (3,) or int(head[0]) != FORMAT:
                raise ValueError(f"format {head.tolist()}, not [{FORMAT}, weights, variables]")
            arrays = [np.lib.format.read_array(source, allow_pickle=False)
                      for _ in range(int(head[1]) + int(head[2]))]
            if source.read(1):
                raise ValueError("more data after its last array")
    except (ValueError, EOFError) as exc:
        raise CheckpointUnreadable(
            f"the checkpoint {path} cannot be read ({exc}): it is cut short or not a tuneyard "
            "checkpoint"
        ) from None
    return arrays[:int(head[1])], arrays[int(head[1]):]


def _check_fits(path: str, what: str, shapes: list, arrays: list) -> None:
    saved = [a.shape for a in arrays]
    if [tuple(s) for s in shapes] != saved:
        raise CheckpointUnreadable(
            f"the checkpoint {path} holds {len(saved)} {what} of shapes {saved[:3]}..., this "
            f"model has {len(shapes)} of shapes {[tuple(s) for s in shapes][:3]}...: it was "
            "saved from another model; a promotion must be built by its parent's builder"
        )
