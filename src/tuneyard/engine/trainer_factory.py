"""Building a sweep's trainer: the space's workload, its data, the Trainer (TensorFlow).

Used by the runner in its own process and by worker processes, which build their own.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from tuneyard.errors import SpaceError, TuneyardError
from tuneyard.records.trial import Proposal, TrialResult
from tuneyard.space.data import load_space_data

# "module:attribute" of a stand-in trainer (tuneyard.testing's Trainer protocol) that every
# `tune run` and `tune worker` of this environment uses instead of Keras: for tests of what
# happens around training (signals, kills, locks, full disks) that need a real `tune`
# process but not a real model, so no process of theirs imports TensorFlow.
STAND_IN_VARIABLE = "TUNEYARD_STAND_IN_TRAINER"


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


def stand_in_trainer() -> Any:
    """The stand-in trainer $TUNEYARD_STAND_IN_TRAINER names ("module:attribute", a trainer or
    a class or function that makes one), or None when the variable is not set."""
    named = os.environ.get(STAND_IN_VARIABLE)
    if not named:
        return None
    module, _, attribute = named.partition(":")
    try:
        found = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError, ValueError) as exc:
        raise TuneyardError(f"${STAND_IN_VARIABLE}={named}: cannot import it ({exc}); name a "
                            "stand-in trainer as module:attribute, or unset the variable") from None
    return found() if isinstance(found, type) or not hasattr(found, "run") else found
