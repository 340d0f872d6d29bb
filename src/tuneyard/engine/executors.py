"""The executor of N local worker processes (in this process: in_process.py).

The parent stays the one writer of the store (DESIGN.md: SQLite locking): it
asks the backend, hands each proposal to an idle worker and records what comes
back, and replaces a worker that dies. Workers are "spawn" processes
(worker_process.py); this side never imports TensorFlow.

A process keeps some of what its trials leave behind (TensorFlow's traced graphs
are let go by the trainer, gradient_registry.py; not what other libraries or a
user's model keep), so a worker that has run `trials_per_process` trials is retired
and a fresh one takes its place.
The fresh one is started when the old one is handed its last trial: it imports
TensorFlow and loads the data while that trial trains, so no trial waits for it.

Each slot keeps one device for the sweep (devices.py): its successors and replacements
train on the GPU of the process they replace, so running trials never share a GPU beyond
--trials-per-gpu (a successor starting up sits beside its predecessor's last trial).
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from tuneyard.atomic import write_json
from tuneyard.engine.deadline import earliest
from tuneyard.engine.devices import label
from tuneyard.engine.epochs import TimeBudgetSpent
from tuneyard.engine.in_process import timed_out
from tuneyard.engine.worker_process import WorkerSpec, worker_main
from tuneyard.errors import TuneyardError
from tuneyard.records.trial import Proposal, TrialResult, failed
from tuneyard.store.optuna_adapter import trial_id_of

MAX_RESTARTS = 50  # replacement workers per sweep before giving up on the pool
# A trial handed to a process still starting (importing TensorFlow, loading the data) gets
# its --trial-timeout from the moment the process is ready; until then this long more, so a
# process that hangs while starting is still killed.
STARTUP_SECONDS = 120.0


class _Vacant:
    """A slot whose process retired when no trial was left: a process starts only if one comes."""

    task = None
    pid = None

    def __init__(self, index: int):
        self.index = index


class _Worker:
    def __init__(self, ctx: Any, spec: WorkerSpec, index: int, device: str | None = None):
        self.index, self.device = index, device
        self.trials = 0  # trials handed to this process
        self.epochs_reported = 0  # epochs its current trial has reported
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=worker_main, args=(child, spec, device), daemon=True,
                                   name=f"tuneyard-worker-{index}")
        self.process.start()
        child.close()
        self.pid = self.process.pid
        self.task: tuple[Proposal, float] | None = None
        self.deadline: float | None = None  # monotonic time its trial must end by (--trial-timeout)
        self.error: str | None = None
        self.user_error = False
        self.ready = False  # it has built its trainer (TensorFlow imported, data loaded)

    def receive(self) -> tuple | None:
        """The next message, or None when the process is gone."""
        try:
            message = self.conn.recv()
        except (EOFError, OSError):
            return None
        if message[0] == "error":
            self.error, self.user_error = message[1], message[2]
        if message[0] == "ready":
            self.ready = True
        return message


class WorkerPool:
    """N worker processes, each running one trial at a time; see the module docstring."""

    def __init__(self, spec: WorkerSpec, size: int, folder: Path, trials_per_process: int = 0,
                 trial_timeout: float | None = None, devices: list[str | None] | None = None):
        # The GPU of each slot (devices.slot_devices; None: the CPU): a slot's successor and
        # a dead worker's replacement get the card of the process they replace.
        self.devices = devices or [None] * size
        self.trial_timeout = trial_timeout  # seconds a trial may run before its process is killed
        self.ctx = mp.get_context("spawn")
        self.spec, self.size, self.folder = spec, size, Path(folder)
        self.trials_per_process = trials_per_process  # 0: a worker runs until the sweep ends
        self.workers: list[_Worker] = []
        self.successors: dict[int, _Worker] = {}  # slot -> the fresh process taking it over
        self.retired: list[_Worker] = []
        self.restarts = 0
        self.started = 0  # processes started (tests: none for nothing)
        self.more = True  # whether the last trial handed out may be followed by another
        # Called with (proposal, epoch, epochs, logs) as a worker reports an epoch.
        self.on_epoch: Callable[[Proposal, int, int, dict], None] | None = None
        self.cut_at: float | None = None  # monotonic time past which running trials are cut

    @property
    def running(self) -> int:
        """Trials handed out and not yet returned."""
        return sum(w.task is not None for w in self.workers)

    def has_room(self) -> bool:
        """Whether a worker is idle."""
        return any(w.task is None for w in self.workers)

    def start(self) -> None:
        """Start the workers and wait until each has loaded the data."""
        self.workers = [self._new(i) for i in range(self.size)]
        for worker in self.workers:
            message = worker.receive()
            if message is None or message[0] != "ready":
                self.abandon()
                if worker.user_error:
                    raise TuneyardError(worker.error)
                raise TuneyardError(f"a worker process failed to start: "
                                    f"{worker.error or _death(worker.process.exitcode)}")
        self._write_pids()

    def submit(self, proposal: Proposal, more: bool = True) -> None:
        """Hand a trial to an idle worker (its live Optuna trial stays here).

        `more`: whether trials may follow this one; only then is a retiring
        worker's successor started early.
        """
        worker = next(w for w in self.workers if w.task is None)
        if isinstance(worker, _Vacant):  # a trial came after all: the slot gets a process
            worker = self.workers[worker.index] = self._fresh(worker.index)
        self.more = more
        trial_id = None if proposal.trial is None else trial_id_of(proposal.trial)
        worker.task = (proposal, time.perf_counter())
        worker.deadline = self._deadline(worker)
        worker.epochs_reported = 0
        worker.trials += 1
        if more and self._retiring(worker) and worker.index not in self.successors:
            self.successors[worker.index] = self._new(worker.index)
        try:
            worker.conn.send((dataclasses.replace(proposal, trial=None), trial_id))
        except OSError:
            pass  # the worker died: next_result sees its sentinel
        self._write_pids()

    def next_result(self) -> tuple[Proposal, TrialResult]:
        """Wait for the next trial to end: its result, or FAIL when its worker died.

        Epoch reports on the way go to `on_epoch`; past `cut_at`, TimeBudgetSpent; a trial
        past its deadline has its process killed and is returned FAIL.
        """
        while True:
            overdue = self._overdue()
            if overdue is not None:
                return self._stop(overdue)
            live = [w for w in self.workers if isinstance(w, _Worker)]
            deadlines = [w.deadline for w in live if w.task is not None]
            when = earliest(self.cut_at, *deadlines)
            timeout = None if when is None else max(0.0, when - time.monotonic())
            ready = wait([w.conn for w in live] + [w.process.sentinel for w in live], timeout=timeout)
            if not ready and self.cut_at is not None and time.monotonic() >= self.cut_at:
                raise TimeBudgetSpent()
            for index, worker in enumerate(self.workers):
                if isinstance(worker, _Vacant):
                    continue
                if worker.conn in ready or worker.conn.poll():
                    message = worker.receive()
                    if message and message[0] == "epoch":
                        worker.epochs_reported += 1  # what its trial has trained, should it die
                        if worker.task and self.on_epoch:
                            self.on_epoch(worker.task[0], *message[1:])
                        continue
                    if message and message[0] == "result" and worker.task:
                        proposal, worker.task = worker.task[0], None
                        if self._retiring(worker):
                            self._retire(index)
                        self._write_pids()
                        return proposal, message[1]
                    if message and message[0] == "ready":
                        worker.pid = message[1]
                        if worker.task is not None:  # its trial's time starts now
                            worker.deadline = self._deadline(worker)
                    if message and message[0] == "error" and worker.user_error:
                        raise TuneyardError(worker.error)  # the sweep records its trial as cut
                    if message is not None:
                        continue
                if worker.process.sentinel in ready or not worker.process.is_alive():
                    lost = self._replace(index)
                    if lost is not None:
                        return lost

    def _deadline(self, worker: _Worker) -> float | None:
        """When the trial of `worker` must end: --trial-timeout from now if the process is
        ready, else with STARTUP_SECONDS more (reset when it says it is ready)."""
        if not self.trial_timeout:
            return None
        return time.monotonic() + self.trial_timeout + (0.0 if worker.ready else STARTUP_SECONDS)

    def _overdue(self) -> int | None:
        """The slot of a worker whose trial ran past its deadline, if any."""
        now = time.monotonic()
        for index, worker in enumerate(self.workers):
            if worker.task is not None and worker.deadline is not None and now >= worker.deadline:
                return index
        return None

    def _stop(self, index: int) -> tuple[Proposal, TrialResult]:
        """Kill the process of a trial past --trial-timeout; the trial is recorded FAIL."""
        worker = self.workers[index]
        proposal, started = worker.task
        worker.task = None
        worker.process.kill()
        worker.process.join(timeout=5)
        vacant = not self.more and index not in self.successors
        self.workers[index] = _Vacant(index) if vacant else self._fresh(index)
        self._write_pids()
        return proposal, failed(timed_out(self.trial_timeout), time.perf_counter() - started,
                                epochs_run=worker.epochs_reported, device=label(worker.device))

    def _retiring(self, worker: _Worker) -> bool:
        return bool(self.trials_per_process) and worker.trials >= self.trials_per_process

    def _retire(self, index: int) -> None:
        """Let the worker in slot `index` exit and put its successor in its place."""
        old = self.workers[index]
        try:
            old.conn.send(None)
        except OSError:
            pass  # already gone
        self.retired.append(old)
        # No trial left: the slot stays empty rather than start a process for nothing.
        vacant = not self.more and index not in self.successors
        self.workers[index] = _Vacant(index) if vacant else self._fresh(index)
        self.retired = [w for w in self.retired if w.process.is_alive()]  # reaps the exited

    def _fresh(self, index: int) -> _Worker:
        """The process for slot `index`: its successor if one was started, else a new one."""
        return self.successors.pop(index, None) or self._new(index)

    def _new(self, index: int) -> _Worker:
        self.started += 1
        return _Worker(self.ctx, self.spec, index, self.devices[index])

    def _every_process(self) -> list[_Worker]:
        return [*(w for w in self.workers if isinstance(w, _Worker)), *self.successors.values(),
                *self.retired]

    def _replace(self, index: int) -> tuple[Proposal, TrialResult] | None:
        dead = self.workers[index]
        dead.process.join(timeout=1)
        self.restarts += 1
        if self.restarts > MAX_RESTARTS:
            raise TuneyardError(f"worker processes died {self.restarts} times; last: "
                                f"{dead.error or _death(dead.process.exitcode)}")
        self.workers[index] = self._fresh(index)
        self._write_pids()
        if dead.task is None:
            return None
        proposal, started = dead.task
        reason = _death(dead.process.exitcode) + (f": {dead.error}" if dead.error else "")
        # The epochs it reported before dying were trained: an epoch budget pays for them.
        return proposal, failed(reason, time.perf_counter() - started, epochs_run=dead.epochs_reported,
                                device=label(dead.device))

    def abandon(self) -> list[tuple[Proposal, float]]:
        """Stop every worker now; the trials they were running, with the seconds they ran."""
        tasks = [(w.task[0], time.perf_counter() - w.task[1]) for w in self.workers if w.task]
        everyone = self._every_process()
        for worker in everyone:
            worker.task = None
            if worker.process.is_alive():
                worker.process.kill()
        for worker in everyone:
            worker.process.join(timeout=5)
        self.workers, self.successors, self.retired = [], {}, []
        return tasks

    def close(self) -> None:
        """Let idle workers finish, stop the rest, forget the pid file."""
        idle = self._every_process()
        for worker in idle:
            try:
                worker.conn.send(None)
            except OSError:
                pass
        deadline = time.monotonic() + 5
        for worker in idle:
            worker.process.join(timeout=max(0.0, deadline - time.monotonic()))
        self.abandon()
        (self.folder / "workers.json").unlink(missing_ok=True)

    def _write_pids(self) -> None:
        # For people and tests: which process runs which trial.
        state = {"parent": os.getpid(), "workers": [
            {"pid": w.pid, "trial": w.task[0].key if w.task else None,
             "since": w.task[1] if w.task else None} for w in self.workers]}
        write_json(self.folder / "workers.json", state)


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"worker process died (signal {-exitcode})"
    return f"worker process exited with code {exitcode}"
