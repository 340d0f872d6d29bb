"""Building a sweep's trainer: the space's workload, its data, the Trainer (TensorFlow).

Used by the runner in its own process and by worker processes, which build their own.
"""

from __future__ import annotations

from typing import Any

from tuneyard.errors import SpaceError
from tuneyard.records.trial import Proposal, TrialResult
from tuneyard.space.data import load_space_data


def check_params_read(space: Any, proposal: Proposal, result: TrialResult) -> None:
    """A workload that declares nothing is watched: hyperparameters it never read are refused."""
    # heavy: numpy
    from tuneyard.workloads import TRAINER_PARAMS

    if result.params_read is None or result.status != "COMPLETE":
        return
    unread = sorted(set(proposal.params) - set(result.params_read) - TRAINER_PARAMS)
    if unread:
        raise SpaceError(f"the build function never read {', '.join(unread)} (space "
                         f"{space.name}): remove them from the space, or read them in the build "
                         "function (trial results so far are kept)")


def make_trainer(space: Any, options: Any) -> Any:
    """Load the dataset and build the Trainer (imports TensorFlow)."""
    # heavy: numpy
    from tuneyard.engine.training import Trainer

    workload, dataset = load_space_data(space, data_dir=options.data_dir, subset=options.subset,
                                        seed=options.seed)
    return Trainer(space, workload, dataset, seed=options.seed, verbose=options.verbose,
                   precision=options.precision)
