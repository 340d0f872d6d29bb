"""How a sweep claims the trials of its study: alone on this machine, or shared by workers.

There is one sweep loop (sweep.py) for every mode; what differs between modes is here.

- `LocalClaims`: the runners of the study all run on this machine (the SQLite store, or a
  Keras Tuner backend, whose state stays here). A trial left RUNNING by a process that is
  gone is found by its pid when the next runner opens the study (ledger.py).
- `SharedClaims`: `tune worker`s on any number of machines share the study through a
  server storage (or, in tests, a SQLite file). While a trial is in flight a heartbeat
  says its worker lives; before each ask a worker fails the trials whose heartbeat
  stopped, and the storage queues them again; a worker with nothing left to claim waits
  while others still run (a dead worker's trial comes back); a trial cut off by Ctrl-C
  is queued again for the others.
"""

from __future__ import annotations

import time
from typing import Any

from tuneyard.engine.heartbeat import Heartbeat, fail_stale, retry_later
from tuneyard.records.trial import Proposal
from tuneyard.store.optuna_adapter import storage_of, trial_id_of

POLL_SECONDS = 1.0
# A heartbeat goes stale only after a grace of seconds (3 x the heartbeat), so looking for
# stale trials more often than this adds a query to every ask and finds nothing sooner.
STALE_CHECK_SECONDS = 1.0


class LocalClaims:
    """The study's runners are all on this machine: nothing to beat, nothing to wait for."""

    shared = False

    def __init__(self, store: Any):
        self.store = store

    def before_ask(self) -> None:
        """Called before the backend is asked for a trial."""

    def started(self, proposal: Proposal) -> None:
        """A trial was handed to the executor."""

    def ended(self, proposal: Proposal) -> None:
        """A trial came back (or was cut off) and is about to be recorded."""

    def abandoned(self, frozen: Any) -> None:
        """A trial was recorded as interrupted (Ctrl-C, a fault)."""

    def wait_for_others(self, ledger: Any, events: Any) -> bool:
        """Whether to wait and look again, though this runner has nothing to run now."""
        return False

    def close(self) -> None:
        """Stop whatever `started` left running."""


class SharedClaims(LocalClaims):
    """Many workers on one study: heartbeats, stale trials failed and queued again, waiting."""

    shared = True

    def __init__(self, store: Any):
        super().__init__(store)
        self.beats: dict[int, Heartbeat] = {}
        self.said_waiting = False
        self.stale_checked_at = float("-inf")

    def before_ask(self) -> None:
        if time.monotonic() - self.stale_checked_at < STALE_CHECK_SECONDS:
            return
        fail_stale(self.store.study)  # queues a dead worker's trial again, for us or another
        self.stale_checked_at = time.monotonic()

    def started(self, proposal: Proposal) -> None:
        if proposal.trial is not None:
            beat = Heartbeat(storage_of(self.store.study), trial_id_of(proposal.trial))
            self.beats[id(proposal)] = beat.__enter__()

    def ended(self, proposal: Proposal) -> None:
        beat = self.beats.pop(id(proposal), None)
        if beat is not None:
            beat.__exit__()

    def abandoned(self, frozen: Any) -> None:
        retry_later(self.store.study, frozen)

    def wait_for_others(self, ledger: Any, events: Any) -> bool:
        self.before_ask()  # a trial whose worker died is failed and queued again here
        ledger.refresh()
        if ledger.waiting:  # a trial queued again (a dead worker's, or one cut off): run it
            return True
        running = ledger.running_elsewhere(set())
        if not running:
            return False
        if not self.said_waiting:
            events.message(f"waiting for {running} trials running on other workers")
            self.said_waiting = True
        time.sleep(POLL_SECONDS)
        return True

    def close(self) -> None:
        for beat in self.beats.values():
            beat.__exit__()
        self.beats = {}
