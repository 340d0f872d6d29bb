"""The first heartbeat of a trial a worker has just created or claimed."""

from __future__ import annotations

from typing import Any

from tuneyard.store.optuna_adapter import heartbeat_enabled


def beat_once(storage: Any, trial_id: int) -> None:
    """Record one heartbeat for a trial that has just become RUNNING, if the storage keeps them.

    Called the moment a worker creates or claims a trial, as Optuna's optimize() does: a
    trial has no heartbeat until its first one, and `fail_stale_trials` never fails such a
    trial, so a worker killed before its trial starts training would otherwise leave it
    RUNNING for good, and the other workers waiting on it.
    """
    if heartbeat_enabled(storage):
        storage.record_heartbeat(trial_id)
