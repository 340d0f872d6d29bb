"""Opening a shared study: many workers, many machines, one study in a server storage.

`tune run --storage postgresql://...` with grid, tpe or random creates the study (an
atomic create: the unique study name decides who is first) and records its config
and budget (a shared grid queues nothing: each new trial's number picks its point).
`tune worker` joins by name. Once
open, every worker runs the one sweep loop (sweep.py) with `SharedClaims`
(claims.py): no server of our own, the database is the coordinator.
"""

from __future__ import annotations

import time
from typing import Any

from tuneyard.backends import SHARED_BACKENDS
from tuneyard.engine.claims import POLL_SECONDS
from tuneyard.errors import StoreError
from tuneyard.store.optuna_store import (
    CONFIG_ATTR,
    Store,
    is_server_storage,
    library_versions,
    set_metric_name,
    study_names,
)
from tuneyard.store.urls import has_secret, mask_secrets

JOIN_WAIT_SECONDS = 60.0


def shared_mode(storage: str | None, backend: str, forced: bool = False) -> bool:
    """Whether a sweep shares its study with workers: an Optuna strategy on a server
    storage, or any storage when `forced` (tests cover shared mode on a SQLite file)."""
    return backend in SHARED_BACKENDS and (forced or is_server_storage(storage))


def worker_command(study: str, storage: str) -> str:
    """The command that starts one more worker on another machine, the password masked
    (then it says so: the worker needs the same URL as this run)."""
    command = f"tune worker --study {study} --storage {mask_secrets(storage)}"
    if has_secret(storage):
        command += " (password masked: pass the same --storage URL as this run)"
    return command


def open_shared(sweep: Any, sampler: Any, pruner: Any, events: Any) -> None:
    """Create the study, or join it once its creator has recorded it.

    The creator records the config and the budget; a joiner takes the stored budget
    unless it was given --trials (then the study's budget changes for everyone).
    """
    # heavy: optuna
    import optuna

    store = sweep.store
    if sweep.options.fresh and store.exists():
        store.delete()
    with store.guard():
        try:
            store.study = optuna.create_study(
                storage=store.storage, study_name=sweep.study_name, direction=sweep.space.direction,
                sampler=sampler, pruner=pruner)
        except optuna.exceptions.DuplicatedStudyError:
            _join(sweep, sampler, pruner, events)
        else:
            set_metric_name(store.study, sweep.space.metric)
            config = {**sweep.config(), "budget": sweep.budget, "versions": library_versions()}
            store.study.set_user_attr(CONFIG_ATTR, config)
            events.message(f"created shared study {sweep.study_name} ({sweep.budget} trials)")
    events.message(f"start more workers elsewhere with: {worker_command(sweep.study_name, store.url)}")


def _join(sweep: Any, sampler: Any, pruner: Any, events: Any) -> None:
    """Open the existing study; --trials changes its budget for every runner."""
    # heavy: optuna
    import optuna

    store = sweep.store
    config = wait_for_config(store, time.monotonic() + JOIN_WAIT_SECONDS)
    store.study = optuna.load_study(study_name=sweep.study_name, storage=store.storage,
                                    sampler=sampler, pruner=pruner)
    stored, asked = config.get("budget", sweep.budget), sweep.options.trials
    if asked and asked != stored:
        store.study.set_user_attr(CONFIG_ATTR, {**config, "budget": asked})
        events.message(f"budget of study {sweep.study_name} changed from {stored} to {asked} trials")
        return
    sweep.budget = stored


def wait_for_config(store: Store, deadline: float) -> dict:
    """The study's tuneyard config, once its creator has written it."""
    # heavy: optuna
    import optuna

    while True:
        if store.exists():
            config = optuna.load_study(study_name=store.name, storage=store.storage).user_attrs
            if CONFIG_ATTR in config:
                return config[CONFIG_ATTR]
        if time.monotonic() > deadline:
            names = ", ".join(study_names(store.storage)) or "none yet"
            raise StoreError(f"no tuneyard study '{store.name}' in {store.shown_url} after waiting; "
                             f"studies there: {names}")
        time.sleep(POLL_SECONDS)
