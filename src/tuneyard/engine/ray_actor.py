"""What runs inside Ray for `--executor ray` (the driver's side is ray_executor.py).

`TrialSlot` is one slot's long-lived actor: it is given its GPU by Ray (which sets
CUDA_VISIBLE_DEVICES for the actor's process), builds its trainer once, then runs the
trials it is handed one at a time, on a thread of its own, while `step` hands the driver
what the trial says: each epoch as it ends, the objective of each epoch when the driver
prunes (the trial waits for the driver's answer: the driver alone reaches the store), and
the result with the files the trial wrote. Files cross as bytes both ways (a Hyperband
parent's checkpoint in, its own checkpoint and the kept best model out): a node of a
cluster does not see the driver's disk.

`NodeData` loads the dataset once per node and puts it in Ray's object store, where every
slot on that node reads the arrays without a copy.

Nothing here imports Ray at module level: the classes become actors in ray_executor.py.
"""

from __future__ import annotations

import os
import queue
import shutil
import socket
import tempfile
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tuneyard import quiet_import
from tuneyard.engine.devices import label
from tuneyard.engine.epochs import EpochHook
from tuneyard.engine.pruning import pruning_callback
from tuneyard.engine.worker_process import limit_threads
from tuneyard.errors import TuneyardError
from tuneyard.records.trial import Proposal, failed
from tuneyard.space.data import load_space_data
from tuneyard.space.file import load_space, space_folder

# Where a trial's files go on the actor's node, by the Proposal field that names them; each
# keeps its suffixes (`.ckpt`, `.keras`, an earlier tuneyard's `.weights.h5`): they say how
# it loads.
_FILE_NAMES = {"warm_start": "parent", "save_to": "checkpoint", "save_best_to": "best"}


@dataclass
class RaySpec:
    """What a slot needs: picklable, no live objects."""

    options: Any  # engine.options.SweepOptions
    threads: int  # the cores a trial may use (TensorFlow's and PyTorch's thread pools)
    metric: str
    prune: bool = False  # whether the driver judges each epoch (the trial then waits for it)
    trainer: Any = None  # a picklable stand-in for the real trainer (tests, benchmarks)


def space_of(spec: RaySpec) -> Any:
    """The sweep's Space, however the options named it."""
    space = spec.options.space
    return load_space(space) if isinstance(space, str) else space


class NodeData:
    """The dataset of one node, loaded once and put in the object store for its slots."""

    def __init__(self, spec: RaySpec):
        self.spec = spec
        self.ref: list | None = None

    def dataset(self) -> list | None:
        """[a reference to the dataset] (a list: Ray hands it over unresolved), or None when
        the dataset cannot go into the object store (a tf.data pipeline): then each slot
        loads its own."""
        # heavy: ray
        import ray

        if self.ref is None:
            options = self.spec.options
            # The slots import the Keras backend; this process only loads (no TensorFlow for it).
            _, data = load_space_data(space_of(self.spec), data_dir=options.data_dir,
                                      subset=options.subset, seed=options.seed, check_backend=False)
            try:
                self.ref = [ray.put(data)]
            except Exception:  # not picklable: the slots load it themselves
                self.ref = []
        return self.ref or None


class TrialSlot:
    """One slot's actor; see the module docstring."""

    def __init__(self, spec: RaySpec):
        self.spec = spec
        self.device = _assigned_gpu()
        if self.device is not None:  # the pool's worker does the same (devices.pin)
            os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
            os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
        quiet_import.install()  # TensorFlow loads quietly in a process of tuneyard's own
        self.trainer: Any = None
        self.outbox: queue.Queue = queue.Queue()  # the trial's messages, for `step`
        self.answers: queue.Queue = queue.Queue()  # the driver's prune / go on
        self.where = f"{socket.gethostname()}:{os.getpid()}"

    def node(self) -> str:
        """The Ray node this actor runs on (its dataset comes from that node's NodeData)."""
        # heavy: ray
        import ray

        return ray.get_runtime_context().get_node_id()

    def build(self, data: list | None) -> tuple[str, str]:
        """Build the trainer once, on the node's dataset (`data`: [its reference] or None);
        returns where it runs ("host:pid") and the device its trials record."""
        # heavy: numpy, ray
        import ray

        if self.spec.trainer is not None:  # a stand-in; one that asks for the data gets it here
            self.trainer = self.spec.trainer
            if data:
                self.trainer.dataset = ray.get(data[0])
            return self.where, label(self.device)

        from tuneyard.engine.training import Trainer
        from tuneyard.workloads import get_workload

        limit_threads(self.spec.threads)
        options, space = self.spec.options, space_of(self.spec)
        if data:
            workload, dataset = get_workload(space.workload, space_folder(space)), ray.get(data[0])
        else:
            workload, dataset = load_space_data(space, data_dir=options.data_dir,
                                                subset=options.subset, seed=options.seed)
        self.trainer = Trainer(space, workload, dataset, seed=options.seed, verbose=options.verbose)
        return self.where, label(self.device)

    def step(self, task: tuple | None = None, answer: bool | None = None) -> list[tuple]:
        """Start a trial (`task`: the proposal and the files it reads) or answer the one
        waiting (`answer`: prune it?); then the trial's messages once there is one."""
        if task is not None:
            threading.Thread(target=self._run, args=task, daemon=True, name="tuneyard-trial").start()
        if answer is not None:
            self.answers.put(answer)
        messages = [self.outbox.get()]
        while not self.outbox.empty():
            messages.append(self.outbox.get_nowait())
        return messages

    def _run(self, proposal: Proposal, files: dict[str, bytes]) -> None:
        """The trial's thread: whatever happens, its last message is a result or an error
        (`step` waits for one)."""
        folder = Path(tempfile.mkdtemp(prefix="tuneyard-trial-"))
        try:
            self.outbox.put(self._trial(proposal, files, folder))
        except TuneyardError as exc:  # the data cannot train (labels past the model): stop the sweep
            self.outbox.put(("error", str(exc)))
        except Exception as exc:  # the trainer catches training errors; this is the rest
            result = failed(f"{type(exc).__name__}: {exc}"[:500])
            result.worker, result.device = self.where, label(self.device)
            self.outbox.put(("result", result, {}))
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _trial(self, proposal: Proposal, files: dict[str, bytes], folder: Path) -> tuple:
        local = _local_paths(proposal, files, folder)
        callbacks: list = [EpochHook(lambda epoch, epochs, logs: self.outbox.put(("epoch", epoch, epochs,
                                                                                  logs)))]
        if self.spec.prune:
            callbacks.append(pruning_callback(_DriverTrial(self), self.spec.metric))
        result = self.trainer.run(local, callbacks)
        result.worker, result.device = self.where, label(self.device)
        return "result", result, _written(local, result)


class _DriverTrial:
    """What the pruning callback reports to, in place of an Optuna trial: the objective goes
    to the driver, which reports it to the study and answers whether to stop."""

    def __init__(self, slot: TrialSlot):
        self.slot = slot
        self.last: tuple[float, int] | None = None

    def report(self, value: float, step: int) -> None:
        self.last = (value, step)

    def should_prune(self) -> bool:
        value, step = self.last
        self.slot.outbox.put(("report", value, step))
        return bool(self.slot.answers.get())


def _assigned_gpu() -> str | None:
    """The GPU Ray gave this actor (CUDA_VISIBLE_DEVICES's entry), None for none."""
    # heavy: ray
    import ray

    ids = ray.get_gpu_ids()
    return ",".join(str(i) for i in ids) if ids else None


def _local_paths(proposal: Proposal, files: dict[str, bytes], folder: Path) -> Proposal:
    """The proposal with its files on this node: the ones it reads written from the bytes
    sent, the ones it writes pointed into `folder`."""
    changes = {}
    for field, name in _FILE_NAMES.items():
        if path := getattr(proposal, field):
            changes[field] = str(folder / (name + "".join(Path(path).suffixes)))
    for field, data in files.items():
        Path(changes[field]).write_bytes(data)
    return replace(proposal, **changes)


def _written(local: Proposal, result: Any) -> dict[str, bytes]:
    """The bytes of the files the trial wrote, by field (the driver writes them at its paths)."""
    out = {}
    if local.save_to and Path(local.save_to).exists():
        out["save_to"] = Path(local.save_to).read_bytes()
    if result.saved_model and Path(result.saved_model).exists():
        out["save_best_to"] = Path(result.saved_model).read_bytes()
    return out
