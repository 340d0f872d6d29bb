"""Every private Optuna name tuneyard uses, in one place (the store is the lowest folder
that uses Optuna; backends and the engine reach Optuna's internals only through here).

Each function says which private name it relies on and why no public API does the job;
tests/test_adapters.py pins the behaviour each one relies on, so an Optuna upgrade that
changes it fails there, by name, instead of somewhere in a sweep. pyproject bounds Optuna
to the versions those tests pass on.
"""

from __future__ import annotations

import copy
import datetime
import json
import time
from typing import Any

# (engine URL, study id, parameter, distribution as JSON) whose compatibility with the
# study's stored distribution this process has checked: create_running_trial checks each
# once, as Optuna's cached storage does for `suggest_*`.
_CHECKED_DISTRIBUTIONS: set[tuple] = set()


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


def frozen_of(trial: Any) -> Any:
    """A copy of a live Trial as it stands in this process: its params, distributions and
    user attributes as set so far (`Trial._cached_frozen_trial`, which `suggest_*`,
    `set_user_attr` and `report` update).

    The public road, `storage.get_trial(id)`, is a read of about 5 ms (SQLAlchemy's lazy
    loads) for what the Trial holds already; it is taken if the attribute is gone.
    """
    cached = getattr(trial, "_cached_frozen_trial", None)
    if cached is None:
        return storage_of(trial.study).get_trial(trial_id_of(trial))
    return copy.deepcopy(cached)


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
    if it has the private session, row models and writers that create_running_trial and
    finish_trial use, else None (they then take the public calls)."""
    rdb = getattr(storage, "_backend", storage)
    try:  # Optuna: a heavy library, imported when used
        from optuna.storages._rdb import models
        from optuna.storages._rdb.storage import RDBStorage, _create_scoped_session  # noqa: F401
    except ImportError:  # another Optuna layout
        return None
    needed = ("_set_trial_value_without_commit", "check_trial_is_updatable", "scoped_session")
    rows = ("TrialUserAttributeModel", "TrialIntermediateValueModel", "TrialParamModel")
    usable = (isinstance(rdb, RDBStorage) and all(hasattr(rdb, n) for n in needed)
              and all(hasattr(models, n) for n in rows)
              and hasattr(models.TrialModel, "count_past_trials"))
    return rdb if usable else None


def create_running_trial(storage: Any, study_id: int, params: dict, distributions: dict,
                         user_attrs: dict) -> int:
    """Insert a RUNNING trial with its params and user attributes; its trial id.

    What `storage.create_new_trial(study_id, template_trial)` does, on an RDB storage in
    one transaction of a few statements (`_CachedStorage._backend`,
    `optuna.storages._rdb.models`, `_create_scoped_session`,
    `TrialModel.count_past_trials`): Optuna's own runs two queries per parameter and
    per attribute, 14-17 ms of every grid and Keras Tuner trial (measured on a 9-parameter
    space). As Optuna does, the study's row is locked first (the trial's number counts the
    trials before it), a parameter whose distribution differs from the study's stored one
    is refused (checked once per process for each, as its cache checks `suggest_*`), and a
    transaction that meets another writer is retried. The cache around the storage learns
    of the trial at its next read, as it learns of other workers' trials. Elsewhere, the
    public `create_new_trial` with a template trial.
    """
    # Optuna: a heavy library, imported when used.
    from optuna.trial import FrozenTrial, TrialState

    rdb = _one_transaction(storage)
    if rdb is None:
        template = FrozenTrial(
            number=-1, state=TrialState.RUNNING, value=None, values=None,
            datetime_start=datetime.datetime.now(), datetime_complete=None, params=params,
            distributions=distributions, user_attrs=user_attrs, system_attrs={},
            intermediate_values={}, trial_id=-1)
        return storage.create_new_trial(study_id, template_trial=template)
    import optuna

    for attempt in range(1, 6):  # Optuna's own: a deadlock on a server, a busy SQLite file
        try:
            return _insert_running_trial(rdb, study_id, params, distributions, user_attrs)
        except optuna.exceptions.StorageInternalError:
            if attempt == 5:
                raise
            time.sleep(attempt * 0.2)
    raise AssertionError("unreachable")


def _insert_running_trial(rdb: Any, study_id: int, params: dict, distributions: dict,
                          user_attrs: dict) -> int:
    """One try of create_running_trial's transaction."""
    # Optuna: a heavy library, imported when used.
    from optuna.distributions import distribution_to_json
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session
    from optuna.trial import TrialState

    with _create_scoped_session(rdb.scoped_session) as session:
        models.StudyModel.find_or_raise_by_id(study_id, session, for_update=True)
        as_json = {name: distribution_to_json(dist) for name, dist in distributions.items()}
        _check_distributions(rdb, session, study_id, distributions, as_json)
        trial = models.TrialModel(study_id=study_id, number=None, state=TrialState.RUNNING,
                                  datetime_start=datetime.datetime.now())
        session.add(trial)
        session.flush()  # its trial_id, for the rows below
        session.add_all([models.TrialParamModel(
            trial_id=trial.trial_id, param_name=name, distribution_json=as_json[name],
            param_value=dist.to_internal_repr(params[name])) for name, dist in distributions.items()])
        session.add_all([models.TrialUserAttributeModel(
            trial_id=trial.trial_id, key=key, value_json=json.dumps(value))
            for key, value in user_attrs.items()])
        trial.number = trial.count_past_trials(session)
        return trial.trial_id


def _check_distributions(rdb: Any, session: Any, study_id: int, distributions: dict,
                         as_json: dict) -> None:
    """Refuse a parameter whose distribution the study stored differently (a ValueError,
    as Optuna's `check_distribution_compatibility` raises)."""
    # Optuna: a heavy library, imported when used.
    from optuna.distributions import check_distribution_compatibility, json_to_distribution
    from optuna.storages._rdb import models

    for name, dist in distributions.items():
        key = (str(rdb.engine.url), study_id, name, as_json[name])
        if key in _CHECKED_DISTRIBUTIONS:
            continue
        stored = (session.query(models.TrialParamModel.distribution_json)
                  .join(models.TrialModel).filter(models.TrialModel.study_id == study_id)
                  .filter(models.TrialParamModel.param_name == name).first())
        if stored is not None:
            check_distribution_compatibility(json_to_distribution(stored[0]), dist)
        _CHECKED_DISTRIBUTIONS.add(key)


def finish_trial(storage: Any, running: Any, attrs: dict, steps: dict[int, float], state: Any,
                 value: float | list[float] | None) -> Any:
    """Finish a RUNNING trial (`running`: its FrozenTrial as read before): its user attributes,
    intermediate values, value, state and completion time; returns the trial as stored.

    On an RDB storage in one transaction (`_CachedStorage._backend`,
    `optuna.storages._rdb.models`' rows written directly, `_create_scoped_session`, and
    RDBStorage's `check_trial_is_updatable` and `_set_trial_value_without_commit`, which
    keeps Optuna's handling of infinite values; `value` is one number or, for a study of several
    objectives, a list of them; the state and `datetime_complete` are set on the row
    as `set_trial_state_values` sets them).

    Raises UpdateFinishedTrialError, writing nothing, if the trial is finished already
    (another worker failed it meanwhile), as `Study.tell` does. The public calls commit
    once per attribute, per epoch and for the state: milliseconds on every trial, and a
    crash between them leaves half a result. Elsewhere (or if Optuna moved these), those
    public calls, one commit each. Checking the value and calling the sampler's
    `after_trial` (Study.tell's other work) is the caller's. The trial returned is `running`
    with what was written, not read back: the read (`get_trial`, about 5 ms of SQLAlchemy
    lazy loads) would return the same; on the public calls it is read back.
    """
    trial_id = trial_id_of(running)
    rdb = _one_transaction(storage)
    # One value, or a study of several objectives' list of them.
    values = None if value is None else list(value) if isinstance(value, list | tuple) else [value]
    if rdb is None:
        for key, attr in attrs.items():
            storage.set_trial_user_attr(trial_id, key, attr)
        for step, step_value in steps.items():
            storage.set_trial_intermediate_value(trial_id, step, step_value)
        storage.set_trial_state_values(trial_id, state, values)
        return storage.get_trial(trial_id)
    # Optuna: a heavy library, imported when used.
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session

    with _create_scoped_session(rdb.scoped_session) as session:
        # Locked first (FOR UPDATE on a server; SQLite's writer lock comes with the first write),
        # so no other worker finishes it between the check and the commit.
        row = models.TrialModel.find_or_raise_by_id(trial_id, session, for_update=True)
        rdb.check_trial_is_updatable(trial_id, row.state)
        _write_rows(session, models.TrialUserAttributeModel, trial_id, "key",
                    {key: {"value_json": json.dumps(attr)} for key, attr in attrs.items()})
        stored = models.TrialIntermediateValueModel.intermediate_value_to_stored_repr
        _write_rows(session, models.TrialIntermediateValueModel, trial_id, "step",
                    {step: dict(zip(("intermediate_value", "intermediate_value_type"),
                                    stored(step_value), strict=True))
                     for step, step_value in steps.items()})
        for objective, objective_value in enumerate(values or []):
            rdb._set_trial_value_without_commit(session, row, objective, objective_value)
        row.state = state
        row.datetime_complete = completed = datetime.datetime.now()
    return _as_written(running, attrs, steps, state, values, completed)


def _as_written(running: Any, attrs: dict, steps: dict[int, float], state: Any,
                values: list[float] | None, completed: datetime.datetime) -> Any:
    """`running` with what finish_trial wrote, as `get_trial` would read it back: the
    attributes through JSON (a tuple comes back a list), the steps and values as floats."""
    # Optuna: a heavy library, imported when used.
    from optuna.trial import FrozenTrial

    return FrozenTrial(
        number=running.number, state=state, value=None,
        values=None if values is None else [float(v) for v in values],
        datetime_start=running.datetime_start, datetime_complete=completed,
        params=running.params, distributions=running.distributions,
        user_attrs={**running.user_attrs, **json.loads(json.dumps(attrs))},
        system_attrs=running.system_attrs,
        intermediate_values={**running.intermediate_values,
                             **{step: float(v) for step, v in steps.items()}},
        trial_id=trial_id_of(running))


def _write_rows(session: Any, model: Any, trial_id: int, key: str, rows: dict) -> None:
    """Write a trial's rows of one table, keyed by `key` (a user attribute's name, an
    epoch's step): one query for those already there (updated), one insert for the rest,
    where Optuna's `*_without_commit` writers run two or three statements per row."""
    if not rows:
        return
    column = getattr(model, key)
    there = {getattr(obj, key): obj for obj in session.query(model).filter(
        model.trial_id == trial_id, column.in_(list(rows)))}
    for name, fields in rows.items():
        if name in there:
            for field, value in fields.items():
                setattr(there[name], field, value)
        else:
            session.add(model(trial_id=trial_id, **{key: name}, **fields))
