"""Opening a shared study: many workers, many machines, one study in a server storage.

`tune run --storage postgresql://...` with grid, tpe or random creates the study (an
atomic create: the unique study name decides who is first) and records its config
and budget (a shared grid queues nothing: each new trial's number picks its point).
`tune worker` joins by name. Opening returns the study's budget, which goes into the
session (session.py) that every worker's one sweep loop (sweep.py) runs on, with
`SharedClaims` (claims.py): no server of our own, the database is the coordinator.
"""

from __future__ import annotations

import time
from typing import Any

from tuneyard.backends import SHARED_BACKENDS
from tuneyard.engine.claims import POLL_SECONDS
from tuneyard.errors import StoreError
from tuneyard.records.attributes import CONFIG_ATTR
from tuneyard.space.core import Space
from tuneyard.store.optuna_store import Store, is_server_storage, study_names
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


def open_shared(store: Store, space: Space, config: dict, *, budget: int, asked: int | None,
                fresh: bool, sampler: Any, pruner: Any, events: Any) -> int:
    """Create the study, or join it once its creator has recorded it; returns its budget.

    The creator records the config and its `budget`; a joiner takes the stored budget
    unless it was `asked` for another (then the study's budget changes for everyone).
    """
    if fresh and store.exists():
        store.delete()
    if store.create(space, {**config, "budget": budget}, sampler, pruner):
        events.message(f"created shared study {store.name} ({budget} trials)")
    else:
        budget = _join(store, sampler, pruner, budget, asked, events)
    events.message(f"start more workers elsewhere with: {worker_command(store.name, store.url)}")
    return budget


def _join(store: Store, sampler: Any, pruner: Any, budget: int, asked: int | None,
          events: Any) -> int:
    """Open the existing study; its budget, which `asked` (--trials) changes for every runner."""
    config = wait_for_config(store, time.monotonic() + JOIN_WAIT_SECONDS)
    store.load(sampler, pruner)
    stored = config.get("budget", budget)
    if asked and asked != stored:
        store.set_budget(asked)
        events.message(f"budget of study {store.name} changed from {stored} to {asked} trials")
        return asked
    return stored


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
