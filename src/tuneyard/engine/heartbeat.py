"""Trials of a shared study: heartbeats while one trains, and what spends the budget.

With ask/tell Optuna runs no heartbeat thread: a small daemon thread records one
while a trial trains, so a worker killed mid-trial stops beating and, after the
grace period, `fail_stale_trials` (run by any worker before it asks) marks the
trial FAIL and the storage's RetryHeartbeatStaleTrialCallback queues it again.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass, field
from typing import Any

# A trial told FAIL because other workers had already taken the whole budget.
SURPLUS = "surplus"


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


def beat_once(storage: Any, trial_id: int) -> None:
    """Record one heartbeat for a trial that has just become RUNNING, if the storage keeps them.

    Called the moment a worker creates or claims a trial, as Optuna's optimize() does: a
    trial has no heartbeat until its first one, and `fail_stale_trials` never fails such a
    trial, so a worker killed before its trial starts training would otherwise leave it
    RUNNING for good, and the other workers waiting on it.
    """
    from optuna.storages._heartbeat import is_heartbeat_enabled

    if is_heartbeat_enabled(storage):
        storage.record_heartbeat(trial_id)


def fail_stale(study: Any) -> None:
    """Fail the RUNNING trials whose worker stopped beating (they are queued again)."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def retry_later(study: Any, frozen: Any) -> None:
    """Queue a failed trial again as the storage's retry callback would (Ctrl-C)."""
    callback = study._storage.get_heartbeat_stale_trial_callback()
    if callback is not None:
        callback(study, frozen)


@dataclass
class Tally:
    """The study's trials sorted by what they mean for the budget.

    `claimed` are the trials that spend the budget, finished or not: all but a FAIL
    that was queued again (its retry takes its place) and surplus trials.
    """

    claimed: list = field(default_factory=list)
    finished: int = 0
    waiting: int = 0
    running: int = 0

    @classmethod
    def of(cls, trials: list) -> Tally:
        """Count `trials` (FrozenTrials of one study)."""
        retried = {n for t in trials for n in t.system_attrs.get("retry_history", [])}
        out = cls()
        for t in trials:
            state = t.state.name
            if state == "FAIL" and (t.number in retried or t.user_attrs.get(SURPLUS)):
                continue
            out.claimed.append(t.number)
            out.waiting += state == "WAITING"
            out.running += state == "RUNNING"
            out.finished += state in ("COMPLETE", "PRUNED", "FAIL")
        return out

    def within_budget(self, number: int, budget: int) -> bool:
        """Whether trial `number` is one of the first `budget` claimed trials."""
        return number in sorted(self.claimed)[:budget]
