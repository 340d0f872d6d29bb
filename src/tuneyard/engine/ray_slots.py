"""A slot of `--executor ray` as the driver sees it: its actor (started, placed, built,
ready; why one died), its trial, and the trial's files as they cross to and from its node.

An actor that trains for real is started in two calls the driver does not wait on: where
Ray placed it (its node), then its trainer built on that node's dataset (the node's
NodeData, started the first time a slot lands there). A stand-in trainer needs no data
(one call) unless it says it `wants_data` (tests: then it is handed the node's dataset).
The executor (ray_executor.py) waits on `pending` with the trials' calls.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tuneyard.atomic import write_with
from tuneyard.errors import TuneyardError
from tuneyard.records.trial import Proposal, TrialResult


class Actor:
    """One TrialSlot actor and the call that is starting it (`pending`, None once ready)."""

    def __init__(self, remote_slot: Any, resources: Any, spec: Any, holder_of: Callable[[str], Any]):
        self.handle = remote_slot.options(**resources.options(), scheduling_strategy="SPREAD",
                                          max_restarts=0).remote(spec)
        self.holder_of = holder_of
        self.trials = 0  # trials handed to it (it retires after --trials-per-process)
        self.ready = False
        self.where, self.device = "", ""  # "host:pid", and the device its trials record
        if spec.trainer is not None and not getattr(spec.trainer, "wants_data", False):
            self.stage, self.pending = "build", self.handle.build.remote(None)  # a stand-in: no data
        else:
            self.stage, self.pending = "node", self.handle.node.remote()

    def advance(self, value: Any) -> None:
        """The pending call returned `value`: build on the node's data, or be ready."""
        if self.stage == "node":
            holder = self.holder_of(value)
            self.stage, self.pending = "build", self.handle.build.remote(holder.dataset.remote())
            return
        self.where, self.device = value
        self.ready, self.pending = True, None

    def kill(self) -> None:
        """End the actor's process now (a trial it runs is lost)."""
        self.pending = None
        self.kill_handle(self.handle)

    @staticmethod
    def kill_handle(handle: Any) -> None:
        """ray.kill, quiet when the actor or Ray is already gone."""
        # heavy: ray
        import ray

        with contextlib.suppress(Exception):
            ray.kill(handle, no_restart=True)


class Slot:
    """One of --workers: its actor (None: none yet), the trial it runs, the call in flight."""

    def __init__(self, index: int):
        self.index = index
        self.actor: Actor | None = None
        self.successor: Actor | None = None  # started while `actor` runs its last trial
        self.task: tuple[Proposal, float] | None = None
        self.waiting: tuple | None = None  # a trial handed out before the actor was ready
        self.call: Any = None  # the step call in flight
        self.deadline: float | None = None
        self.epochs = 0  # epochs its trial has reported


def death_text(exc: BaseException) -> str:
    """Why an actor died, in one line: "ray node died (node 9722b0c4): ..." when its node went."""
    text = str(exc)
    node = re.search(r"node has died\. Node Id: (\w+)", text)
    details = [". ".join(line.strip().split(". ")[:2]).rstrip(".")  # Ray's advice after that
               for line in text.splitlines() if "node has died" not in line
               and any(word in line for word in ("because", "terminated", "killed", "exited", "OOM"))]
    head = f"ray node died (node {node.group(1)[:8]})" if node else "ray actor died"
    return f"{head}: {'; '.join(details)}" if details else head


def unwrap(exc: BaseException) -> str:
    """The one line of an error raised inside an actor (Ray wraps it in RayTaskError)."""
    cause = getattr(exc, "cause", None) or exc
    if isinstance(cause, TuneyardError):
        return str(cause)
    text = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {text}"


def files_in(proposal: Proposal) -> dict[str, bytes]:
    """The files a trial reads, as bytes: a Hyperband parent's checkpoint."""
    path = proposal.warm_start
    return {"warm_start": Path(path).read_bytes()} if path and Path(path).exists() else {}


def files_out(proposal: Proposal, result: TrialResult, files: dict[str, bytes]) -> None:
    """Write here, at the sweep's paths, the files the trial wrote on its node."""
    for field, data in files.items():
        path = getattr(proposal, field)
        try:
            write_with(path, lambda tmp, data=data: Path(tmp).write_bytes(data), suffix=".tmp.keras")
        except OSError as exc:  # tuneyard's bookkeeping, not the trial: its result stands
            result.warning = f"its model was not saved ({exc.strerror or exc}, writing {path})"
            if field == "save_best_to":
                result.saved_model = None
            continue
        if field == "save_best_to":
            result.saved_model = path


def judge(proposal: Proposal, value: float, step: int) -> bool:
    """Report a trial's objective at `step` to its Optuna trial; whether the pruner stops it.
    A trial the store has finished meanwhile (a shared study's stale one) goes on."""
    try:
        proposal.trial.report(value, step)
        return bool(proposal.trial.should_prune())
    except Exception:  # its end is recorded whatever happens here
        return False
