"""Trials of a shared study: heartbeats while one trains, and what spends the budget.

With ask/tell Optuna runs no heartbeat thread: a small daemon thread records one
while a trial trains, so a worker killed mid-trial stops beating and, after the
grace period, `fail_stale_trials` (run by any worker before it asks) marks the
trial FAIL and the storage's RetryHeartbeatStaleTrialCallback queues it again.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

from tuneyard.store.optuna_adapter import storage_of


class Heartbeat:
    """Records a heartbeat for one trial now, then every interval until the block ends."""

    def __init__(self, storage: Any, trial_id: int):
        self.storage, self.trial_id = storage, trial_id
        self.interval = storage.get_heartbeat_interval() or 60
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True, name="heartbeat")

    def __enter__(self) -> Heartbeat:
        self.storage.record_heartbeat(self.trial_id)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)

    def _beat(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                self.storage.record_heartbeat(self.trial_id)
            except Exception:  # a dropped connection: the next beat retries
                continue


def fail_stale(study: Any) -> None:
    """Fail the RUNNING trials whose worker stopped beating (they are queued again)."""
    # heavy: optuna
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def retry_later(study: Any, frozen: Any) -> None:
    """Queue a failed trial again as the storage's retry callback would (Ctrl-C)."""
    callback = storage_of(study).get_heartbeat_stale_trial_callback()
    if callback is not None:
        callback(study, frozen)
