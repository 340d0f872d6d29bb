"""Every private Optuna name tuneyard uses, in one place (the store is the lowest folder
that uses Optuna; backends and the engine reach Optuna's internals only through here).

Each function says which private name it relies on and why no public API does the job;
tests/test_adapters.py pins the behaviour each one relies on, so an Optuna upgrade that
changes it fails there, by name, instead of somewhere in a sweep. pyproject bounds Optuna
to the versions those tests pass on.
"""

from __future__ import annotations

import datetime
from typing import Any


def storage_of(study: Any) -> Any:
    """The storage a study reads and writes through (`Study._storage`).

    Private because Optuna's Study exposes no storage: the trial-by-id calls tuneyard
    needs (read one trial by number, write a running trial's attributes, claim a WAITING
    trial, heartbeats) exist only on the storage. It is the study's own storage, not the
    one given to `create_study`: on an RDBStorage, Optuna wraps it in a cache that
    `study.get_trials` fills, and reads through that cache see what the study saw.
    """
    return study._storage


def study_id_of(study: Any) -> int:
    """The storage's id of a study (`Study._study_id`).

    The public `storage.get_study_id_from_name(study.study_name)` gives the same id at the
    cost of a database query, and the ledger needs it at every refresh.
    """
    return study._study_id


def trial_id_of(trial: Any) -> int:
    """The storage's id of a Trial or FrozenTrial (`_trial_id`).

    Every per-trial storage call takes this id, and neither Trial nor FrozenTrial has a
    public one; the public road, `storage.get_trial_id_from_study_id_trial_number`, is a
    query per call for an id the object already holds.
    """
    return trial._trial_id


def reported_steps(trial: Any) -> dict[int, float]:
    """The intermediate values a live Trial has reported in this process
    (`Trial._cached_frozen_trial`, which `Trial.report` updates).

    Read when the trial is told, to write only the epochs the pruning callback did not
    report. The public road, `storage.get_trial(id).intermediate_values`, is a query per
    trial. An empty dict if the attribute is gone: every epoch is then written again,
    which Optuna accepts (a step's value is replaced).
    """
    return dict(getattr(getattr(trial, "_cached_frozen_trial", None), "intermediate_values", {}))


def heartbeat_enabled(storage: Any) -> bool:
    """Whether a storage keeps heartbeats. Public calls only: what the private
    `optuna.storages._heartbeat.is_heartbeat_enabled` checks (a heartbeat storage whose
    interval is set), asked of the storage's public methods."""
    interval = getattr(storage, "get_heartbeat_interval", None)
    return callable(getattr(storage, "record_heartbeat", None)) and callable(interval) \
        and interval() is not None


def reseed(sampler: Any, state: int) -> int:
    """Seed a sampler's random state, and its start-up RandomSampler's, with `state`
    (`sampler._rng.rng` and `sampler._random_sampler._rng.rng`); returns how many were
    seeded (0 for a sampler without either).

    The public `reseed_rng()` draws a fresh seed from the OS: tuneyard needs a trial's
    draws to depend on the study seed and the trial number alone, so a resumed study does
    not replay its first points and runners sharing a study never propose the same one.
    """
    seeded = 0
    for owner in (sampler, getattr(sampler, "_random_sampler", None)):
        rng = getattr(owner, "_rng", None)
        if rng is not None:
            rng.rng.seed(state)
            seeded += 1
    return seeded


def _one_transaction(storage: Any) -> Any:
    """The RDBStorage under `storage` (itself, or the backend of Optuna's cache around it)
    if it has the private `*_without_commit` writers, else None."""
    rdb = getattr(storage, "_backend", storage)
    try:  # Optuna: a heavy library, imported when used
        from optuna.storages._rdb.storage import RDBStorage
    except ImportError:  # another Optuna layout
        return None
    needed = ("_set_trial_intermediate_value_without_commit", "_set_trial_attr_without_commit",
              "_set_trial_value_without_commit", "check_trial_is_updatable")
    return rdb if isinstance(rdb, RDBStorage) and all(hasattr(rdb, n) for n in needed) else None


def finish_trial(storage: Any, trial_id: int, attrs: dict, steps: dict[int, float], state: Any,
                 value: float | list[float] | None) -> None:
    """Finish a RUNNING trial: its user attributes, intermediate values, value, state and
    completion time, on an RDB storage in one transaction (`_CachedStorage._backend`,
    `optuna.storages._rdb.models`, `_create_scoped_session`, and RDBStorage's
    `_set_trial_attr_without_commit`, `_set_trial_intermediate_value_without_commit` and
    `_set_trial_value_without_commit`; `value` is one number or, for a study of several
    objectives, a list of them; the state and `datetime_complete` are set on the row
    as `set_trial_state_values` sets them).

    Raises UpdateFinishedTrialError, writing nothing, if the trial is finished already
    (another worker failed it meanwhile), as `Study.tell` does. The public calls commit
    once per attribute, per epoch and for the state: milliseconds on every trial, and a
    crash between them leaves half a result. Elsewhere (or if Optuna moved these), those
    public calls, one commit each. Checking the value and calling the sampler's
    `after_trial` (Study.tell's other work) is the caller's.
    """
    rdb = _one_transaction(storage)
    # One value, or a study of several objectives' list of them.
    values = None if value is None else list(value) if isinstance(value, list | tuple) else [value]
    if rdb is None:
        for key, attr in attrs.items():
            storage.set_trial_user_attr(trial_id, key, attr)
        for step, step_value in steps.items():
            storage.set_trial_intermediate_value(trial_id, step, step_value)
        storage.set_trial_state_values(trial_id, state, values)
        return
    # Optuna: a heavy library, imported when used.
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    with _create_scoped_session(rdb.scoped_session) as session:
        # Locked first (FOR UPDATE on a server; SQLite's writer lock comes with the first write),
        # so no other worker finishes it between the check and the commit.
        row = models.TrialModel.find_or_raise_by_id(trial_id, session, for_update=True)
        rdb.check_trial_is_updatable(trial_id, row.state)
        for key, attr in attrs.items():
            rdb._set_trial_attr_without_commit(session, models.TrialUserAttributeModel, trial_id, key, attr)
        for step, step_value in steps.items():
            rdb._set_trial_intermediate_value_without_commit(session, trial_id, step, step_value)
        for objective, objective_value in enumerate(values or []):
            rdb._set_trial_value_without_commit(session, row, objective, objective_value)
        row.state = state
        row.datetime_complete = datetime.datetime.now()
