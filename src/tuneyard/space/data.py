"""Loading a space's dataset, written once for sweeps, evaluation, export and races."""

from __future__ import annotations

import os
from typing import Any

from tuneyard.errors import DataError, TuneyardError
from tuneyard.keras_backend import check_installed
from tuneyard.space.file import space_folder


def load_space_data(space: Any, *, data_dir: str | None = None, subset: int | None = None,
                    seed: int = 0, check_backend: bool = True) -> tuple[Any, Any]:
    """The space's workload and its dataset, split as a sweep with this seed splits it.

    The workload is resolved as the space names it (an entry point, or module:object
    beside the space file); its `load` gets the space's fixed settings it asks for. The
    dataset is checked (workloads.checks) before it is returned.
    `data_dir` falls back on $TUNEYARD_DATA_DIR. `check_backend=False`: the Keras backend's
    library is not imported first (a process that loads data for others, and never trains:
    what the workload's loader imports is all it pays for).
    """
    # heavy: numpy
    from tuneyard.workloads import Dataset, get_workload, load_kwargs
    from tuneyard.workloads.checks import check_dataset, check_subset_honoured
    from tuneyard.workloads.registry import IN_PROCESS_PREFIX

    if check_backend:
        check_installed()  # before Keras is imported: a missing backend library in one line
    workload = get_workload(space.workload, space_folder(space))
    try:
        dataset = workload.load(data_dir=data_dir or os.environ.get("TUNEYARD_DATA_DIR"),
                                subset=subset, seed=seed,
                                validation_split=space.training.validation_split,
                                **load_kwargs(workload, space.fixed))
    except TuneyardError:
        raise
    except Exception as exc:  # a user's loader: its failure is the user's to fix, in one line
        text = (str(exc).strip().splitlines() or [""])[0]
        raise DataError(f"workload {space.workload}: load() failed: {type(exc).__name__}: "
                        f"{text}") from None
    if not isinstance(dataset, Dataset):
        raise DataError(f"workload {space.workload}: load() returned {type(dataset).__name__}, "
                        "not a tuneyard.Dataset")
    # Once, here, for every command that loads data: bad data is one line before any trial.
    name = space.workload.removeprefix(IN_PROCESS_PREFIX)
    check_dataset(dataset, name, workload.task)
    check_subset_honoured(dataset, subset, name)
    _check_batch_size(space, dataset, name)
    return workload, dataset


def _check_batch_size(space: Any, dataset: Any, workload: str) -> None:
    """A pipeline brings its own batches: a searched batch_size would change nothing."""
    # heavy: numpy (pipelines imports it)
    from tuneyard.workloads.pipelines import kind

    searched = {p.name for p in space.params}
    if "batch_size" in searched and kind(dataset.x_train):
        raise DataError(f"workload {workload}: batch_size is searched but x_train is a "
                        f"{kind(dataset.x_train)}, which brings its own batches; remove "
                        "batch_size from the space's hyperparameters (the pipeline's .batch() "
                        "sets it)")
