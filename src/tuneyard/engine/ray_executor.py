"""The executor of `--executor ray`: a long-lived Ray actor per slot (ray_actor.py).

The driver keeps the sweep loop, the store and the CSV (one writer: the default SQLite file
works). Each of the --workers slots holds an actor declaring its CPU and, when the cluster
has GPUs, 1/--trials-per-gpu of one; it builds its trainer once, on its node's dataset. A
trial is one call that starts it, then one call per batch of its messages: epochs go to
`on_epoch`; with pruning the driver reports each objective to the Optuna trial here and
answers prune or go on (nodes cannot reach the driver's SQLite file); the result comes back
with the bytes of the files the trial wrote, written here at the sweep's paths. A trial
whose actor dies comes back FAIL as interrupted ("ray node died ..."), which the sweep
records and runs again; --trial-timeout kills the actor; Ctrl-C (`abandon`) kills them all.
An actor retires after --trials-per-process trials, its successor started during its last.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from tuneyard.engine.deadline import earliest
from tuneyard.engine.epochs import TimeBudgetSpent
from tuneyard.engine.executors import MAX_RESTARTS, STARTUP_SECONDS
from tuneyard.engine.in_process import timed_out
from tuneyard.engine.ray_actor import NodeData, RaySpec, TrialSlot
from tuneyard.engine.ray_cluster import RayCluster
from tuneyard.engine.ray_slots import Actor, Slot, death_text, files_in, files_out, judge, unwrap
from tuneyard.errors import TuneyardError
from tuneyard.records.attributes import INTERRUPTED
from tuneyard.records.trial import Proposal, TrialResult, failed

WAIT_SECONDS = 1.0


class RayExecutor:
    """--workers slots of Ray actors, each running one trial at a time; see the docstring."""

    def __init__(self, spec: RaySpec, size: int, cluster: RayCluster, trial_timeout: float | None = None,
                 trials_per_process: int = 0):
        self.spec, self.size, self.cluster = spec, size, cluster
        self.trial_timeout, self.trials_per_process = trial_timeout, trials_per_process
        self.slots = [Slot(i) for i in range(size)]
        self.holders: dict[str, Any] = {}  # node id -> its NodeData actor
        self.deaths = 0
        self.last_death = ""
        self.on_epoch: Callable[[Proposal, int, int, dict], None] | None = None
        self.cut_at: float | None = None

    @property
    def running(self) -> int:
        """Trials handed out and not yet returned."""
        return sum(s.task is not None for s in self.slots)

    def has_room(self) -> bool:
        """Whether a slot is idle."""
        return any(s.task is None for s in self.slots)

    def start(self) -> None:
        """Reach Ray, start an actor per slot and wait until each has built its trainer."""
        # heavy: ray
        import ray

        self.cluster.connect()
        try:
            self.resources = self.cluster.resources()
            self.remote_slot, self.remote_data = ray.remote(TrialSlot), ray.remote(NodeData)
            for slot in self.slots:
                slot.actor = self._launch()
            while not all(s.actor and s.actor.ready for s in self.slots):
                self._wait(None)
                if any(s.actor is None for s in self.slots):
                    raise TuneyardError(f"a Ray actor died as it started: {self.last_death}")
        except BaseException:
            self.close()
            raise

    def _launch(self) -> Actor:
        return Actor(self.remote_slot, self.resources, self.spec, self._holder)

    def _holder(self, node: str) -> Any:
        """The NodeData actor of `node`, started on that node the first time it is needed."""
        if node not in self.holders:
            # heavy: ray
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            self.holders[node] = self.remote_data.options(
                num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False),
            ).remote(self.spec)
        return self.holders[node]

    def submit(self, proposal: Proposal, more: bool = True) -> None:
        """Hand a trial to an idle slot (its live Optuna trial stays here)."""
        slot = next(s for s in self.slots if s.task is None)
        if slot.actor is None:
            slot.actor = slot.successor or self._launch()
            slot.successor = None
        slot.actor.trials += 1
        slot.task, slot.epochs = (proposal, time.perf_counter()), 0
        slot.deadline = self._deadline(slot)
        task = (replace(proposal, trial=None), files_in(proposal))
        if slot.actor.ready:
            slot.call = slot.actor.handle.step.remote(task=task)
        else:
            slot.waiting = task
        if more and self._retiring(slot.actor) and slot.successor is None:
            slot.successor = self._launch()

    def next_result(self) -> tuple[Proposal, TrialResult]:
        """Wait for the next trial to end: its result, or FAIL when its actor died or it ran
        past --trial-timeout; epochs on the way go to `on_epoch`; past `cut_at`, TimeBudgetSpent."""
        while True:
            overdue = next((s for s in self.slots if s.task and s.deadline
                            and time.monotonic() >= s.deadline), None)
            if overdue is not None:
                return self._stop(overdue)
            when = earliest(self.cut_at, *(s.deadline for s in self.slots if s.task))
            ended = self._wait(None if when is None else max(0.0, when - time.monotonic()))
            if ended is not None:
                return ended
            if self.cut_at is not None and time.monotonic() >= self.cut_at:
                raise TimeBudgetSpent()

    def _wait(self, timeout: float | None) -> tuple[Proposal, TrialResult] | None:
        """Wait for one call to return (or `timeout`) and act on it: an actor placed or
        built, a trial's messages; a trial's end or its actor's death is returned."""
        # heavy: ray
        import ray

        calls = {s.call: s for s in self.slots if s.call is not None}
        starting = {a.pending: a for s in self.slots for a in (s.actor, s.successor)
                    if a is not None and a.pending is not None}
        if not calls and not starting:
            return None
        # Back here every second at least: Ctrl-C is raised in Python code, not inside Ray's wait.
        timeout = WAIT_SECONDS if timeout is None else min(timeout, WAIT_SECONDS)
        done, _ = ray.wait([*calls, *starting], num_returns=1, timeout=timeout)
        for ref in done:
            if ref in starting:
                ended = self._started(starting[ref], ref)
                if ended is not None:
                    return ended
                continue
            slot = calls[ref]
            slot.call = None
            try:
                messages = ray.get(ref)
            except ray.exceptions.RayActorError as exc:
                return self._lost(slot, exc)
            except ray.exceptions.RayError as exc:  # its messages could not come back (pickling)
                return self._broken(slot, exc)
            ended = self._read(slot, messages)
            if ended is not None:
                return ended
        return None

    def _started(self, actor: Actor, ref: Any) -> tuple[Proposal, TrialResult] | None:
        """An actor was placed on its node or has built its trainer: its next step. One that
        died starting leaves its slot empty; a trial waiting for it comes back lost."""
        # heavy: ray
        import ray

        slot = next(s for s in self.slots if actor in (s.actor, s.successor))
        try:
            actor.advance(ray.get(ref))
        except ray.exceptions.RayActorError as exc:
            if slot.successor is actor:
                slot.successor = None
                self.last_death = death_text(exc)
                return None
            return self._lost(slot, exc)
        except Exception as exc:  # the trainer cannot be built: the user's data or space
            cause = getattr(exc, "cause", None)
            raise TuneyardError(unwrap(exc) if isinstance(cause, TuneyardError) else
                                f"a Ray actor could not build its trainer: {unwrap(exc)}") from None
        if actor.ready and slot.actor is actor and slot.waiting is not None:
            slot.call, slot.waiting = actor.handle.step.remote(task=slot.waiting), None
            slot.deadline = self._deadline(slot)  # its time starts now
        return None

    def _read(self, slot: Slot, messages: list[tuple]) -> tuple[Proposal, TrialResult] | None:
        proposal, answer = slot.task[0], None
        for message in messages:
            kind = message[0]
            if kind == "epoch":
                slot.epochs += 1
                if self.on_epoch:
                    self.on_epoch(proposal, *message[1:])
            elif kind == "report":  # the driver judges: the nodes cannot reach the store
                answer = judge(proposal, message[1], message[2])
            elif kind == "error":
                raise TuneyardError(message[1])  # the sweep records its trial as cut
            elif kind == "result":
                result = message[1]
                files_out(proposal, result, message[2])
                slot.task = None
                if self._retiring(slot.actor):
                    self._end(slot.actor)
                    slot.actor, slot.successor = slot.successor, None
                self._take_waiting(slot)
                return proposal, result
        slot.call = slot.actor.handle.step.remote(answer=answer)
        return None

    def _take_waiting(self, slot: Slot) -> None:
        """Give a free, ready actor the trial waiting longest for an actor that Ray has not
        placed (a cluster that lost a node may have no room for it)."""
        if slot.actor is None or not slot.actor.ready:
            return
        other = next((s for s in self.slots if s.waiting is not None
                      and not (s.actor and s.actor.ready)), None)
        if other is None:
            return
        slot.task, slot.epochs = other.task, 0
        slot.call = slot.actor.handle.step.remote(task=other.waiting)
        other.task = other.waiting = None
        slot.deadline = self._deadline(slot)

    def _lost(self, slot: Slot, exc: BaseException) -> tuple[Proposal, TrialResult] | None:
        """A slot's actor died: its trial comes back as interrupted (it runs again)."""
        self.deaths += 1
        reason = self.last_death = death_text(exc)
        slot.actor.kill()  # unreachable, maybe not dead: its trial must not go on
        if self.deaths > MAX_RESTARTS:
            raise TuneyardError(f"Ray actors died {self.deaths} times; last: {reason}")
        device = slot.actor.device
        slot.actor, slot.successor = slot.successor, None
        if slot.task is None:
            return None
        (proposal, started), slot.task, slot.waiting = slot.task, None, None
        return proposal, failed(f"{INTERRUPTED}: {reason}; it runs again"[:500],
                                time.perf_counter() - started, epochs_run=slot.epochs, device=device)

    def _broken(self, slot: Slot, exc: BaseException) -> tuple[Proposal, TrialResult]:
        """A trial's call failed in Ray itself: FAIL with the reason; its actor is replaced."""
        (proposal, started), device = slot.task, slot.actor.device
        self._end(slot.actor)
        slot.task, slot.actor, slot.successor = None, slot.successor, None
        return proposal, failed(f"Ray: {unwrap(exc)}"[:500], time.perf_counter() - started,
                                epochs_run=slot.epochs, device=device)

    def _stop(self, slot: Slot) -> tuple[Proposal, TrialResult]:
        """Kill the actor of a trial past --trial-timeout; the trial is recorded FAIL."""
        (proposal, started), device = slot.task, slot.actor.device
        self._end(slot.actor)
        slot.task, slot.call, slot.waiting = None, None, None
        slot.actor, slot.successor = slot.successor, None
        return proposal, failed(timed_out(self.trial_timeout), time.perf_counter() - started,
                                epochs_run=slot.epochs, device=device)

    def _deadline(self, slot: Slot) -> float | None:
        if not self.trial_timeout:
            return None
        ready = slot.actor is not None and slot.actor.ready
        return time.monotonic() + self.trial_timeout + (0.0 if ready else STARTUP_SECONDS)

    def _retiring(self, actor: Actor | None) -> bool:
        return bool(actor and self.trials_per_process and actor.trials >= self.trials_per_process)

    def _end(self, actor: Actor | None) -> None:
        if actor is not None:
            actor.kill()

    def abandon(self) -> list[tuple[Proposal, float]]:
        """Kill every actor now; the trials they were running, with the seconds they ran."""
        tasks = [(s.task[0], time.perf_counter() - s.task[1]) for s in self.slots if s.task]
        for slot in self.slots:
            self._end(slot.actor)
            self._end(slot.successor)
            slot.actor = slot.successor = slot.task = slot.call = slot.waiting = None
        return tasks

    def close(self) -> None:
        """End the actors and the nodes' datasets; shut down the Ray this run started."""
        self.abandon()
        for holder in self.holders.values():
            Actor.kill_handle(holder)
        self.holders = {}
        self.cluster.close()
