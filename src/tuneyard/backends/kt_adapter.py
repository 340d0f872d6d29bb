"""Every private Keras Tuner name tuneyard uses, in one place.

tuneyard drives Keras Tuner's oracles by ask/tell without a Tuner, so it does a few
things only a Tuner does (give the oracle its folder) or that Keras Tuner does not offer
(write its files atomically, requeue or adopt a trial on resume). Each function says which
private name it relies on and why no public API does the job; tests/test_adapters.py pins
the behaviour each one relies on, so a Keras Tuner upgrade that changes it fails there, by
name. pyproject bounds keras-tuner to the versions those tests pass on.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tuneyard.atomic import write_json


class AtomicFiles:
    """Mixed into a Keras Tuner oracle: its files are replaced whole, never half-written.

    Overrides the public `save` and the private `Oracle._save_trial` (which Keras Tuner
    calls whenever a trial changes), writing to the paths of the private
    `_get_oracle_fname` and `_get_trial_dir`: Keras Tuner writes its JSON in place, so a
    process killed mid-write leaves a file `reload` cannot read, and offers no hook for
    how a file is written.
    """

    def save(self):
        write_json(self._get_oracle_fname(), self.get_state())

    def _save_trial(self, trial):
        write_json(os.path.join(self._get_trial_dir(trial.trial_id), "trial.json"),
                   trial.get_state())


def set_project_dir(oracle: Any, folder: Path, project: str) -> None:
    """Give an oracle its folder, `<folder>/<project>` (`Oracle._set_project_dir`).

    A Tuner does this for its oracle; tuneyard runs the oracle without a Tuner, and the
    oracle's constructor takes no folder.
    """
    oracle._set_project_dir(str(folder), project)


def retry_queue(oracle: Any) -> list[str]:
    """The ids of the trials the oracle will hand out again before any new one
    (`Oracle._retry_queue`, the list `create_trial` pops from), as a copy.

    Keras Tuner fills it itself only on `reload` (with the trials it had running) and for
    an INVALID trial; no public call reads it.
    """
    return list(oracle._retry_queue)


def unqueue(oracle: Any, trial_id: str) -> None:
    """Take a trial out of the retry queue (`Oracle._retry_queue`): the store holds it as
    finished, so it is told, not run again. No public call does this."""
    if trial_id in oracle._retry_queue:
        oracle._retry_queue.remove(trial_id)


def requeue(oracle: Any, trial_id: str) -> None:
    """Queue a trial to run again with the same values (`Oracle._retry_queue`): a trial a
    killed process cut off. The public road, an INVALID status at `end_trial`, counts a
    run against `max_retries_per_trial` and prints; no public call queues a trial."""
    if trial_id not in oracle._retry_queue:
        oracle._retry_queue.append(trial_id)


def record_values(oracle: Any, trial: Any) -> None:
    """Note a trial's values as tried (`Oracle._record_values`), so the oracle never
    proposes them again: for trials adopted from the store into a fresh oracle, which
    Keras Tuner only ever creates itself (`create_trial` records them); no public call
    marks values as tried."""
    oracle._record_values(trial)


def brackets(oracle: Any) -> list[dict]:
    """A Hyperband oracle's brackets in flight, each {"bracket_num", "rounds": [[{"id",
    "past_id"}, ...], ...]}. Public: the "brackets" entry of `get_state()` (what
    Keras Tuner saves and reloads), not the private `_brackets` it is made from."""
    return oracle.get_state()["brackets"]
