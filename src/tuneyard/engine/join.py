"""`tune worker` joins a shared study: wait for it, read its config, get a Sweep for it.

The Sweep it returns opens the study as any runner does (shared.py joins it) and runs
the one sweep loop (sweep.py) until the study's budget is done.
"""

from __future__ import annotations

import os
import time
from typing import Any

from tuneyard.backends import SHARED_BACKENDS
from tuneyard.engine.options import SweepOptions
from tuneyard.engine.shared import wait_for_config
from tuneyard.engine.sweep import Sweep
from tuneyard.errors import StoreError
from tuneyard.space.diff import summary
from tuneyard.store.optuna_store import Store, is_server_storage
from tuneyard.store.paths import study_dir
from tuneyard.store.study_changes import changed_fields
from tuneyard.store.urls import mask_secrets


def join(
    storage: str,
    study: str,
    *,
    trials: int | None = None,
    data_dir: str | None = None,
    space: str | None = None,
    wait: float = 60.0,
    verbose: bool = False,
    trial_timeout: Any = None,
    tensorboard: str | None = None,
    mlflow: str | None = None,
) -> Any:
    """`tune worker`: wait for the study, load its space; a Sweep ready to run."""
    if not is_server_storage(storage):
        raise StoreError(
            f"tune worker needs a server storage (postgresql://...), not {mask_secrets(storage)}; "
            "with SQLite run one `tune run` instead"
        )
    study_dir(study)  # a name that is a file of the results folder: refused before any wait
    deadline = time.monotonic() + wait
    store = Store(storage, study)
    config = wait_for_config(store, deadline)
    store.close()  # the Sweep opens its own: one worker, one set of connections
    if config.get("backend") not in SHARED_BACKENDS:
        raise StoreError(
            f"study '{study}' uses backend {config.get('backend')}, whose state stays "
            f"on the machine that runs it; workers can join {', '.join(SHARED_BACKENDS)}"
        )
    options = SweepOptions(
        space=space or _stored_space(config),
        backend=config["backend"],
        trials=trials or config.get("budget"),
        epochs=config["epochs"],
        subset=config["subset"],
        seed=config["seed"],
        storage=storage,
        study=study,
        data_dir=data_dir,
        verbose=verbose,
        prune=config["prune"],
        # The study's own limit unless this worker is given one.
        trial_timeout=trial_timeout or config.get("trial_timeout"),
        precision=config.get("precision"),  # what `tune run --precision` gave the study
        tensorboard=tensorboard,  # this worker's trials: DIR/<study>/trial-N, N its own
        mlflow=mlflow,  # child runs of the study's parent run (stored on the study)
    )
    sweep = Sweep(options)
    if sweep.space.fingerprint() != config["fingerprint"]:
        # Said as study_changes says it: the study's values -> this machine's.
        lines = changed_fields(config, sweep.config()) or []
        how = f" ({summary(lines)})" if lines else ""
        raise StoreError(
            f"space '{sweep.space.name}' here ({sweep.space.path}) differs from the one "
            f"study '{study}' was made with{how}; copy that space file to this machine"
        )
    return sweep


def _stored_space(config: dict) -> str:
    """The study's space file when this machine has it at the same path, else its name."""
    path = config.get("space_file")
    return path if path and os.path.isfile(path) else config["space"]
