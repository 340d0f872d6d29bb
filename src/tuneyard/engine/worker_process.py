"""What runs inside a worker process of `--workers N` (the parent's side is executors.py).

A worker is pinned to its GPU, if it was given one (devices.py: CUDA_VISIBLE_DEVICES and
memory growth, set first, before the Keras backend loads), divides the machine's cores with
its siblings (the Keras backend's threads are set before it starts), loads the dataset
once, ignores Ctrl-C (the parent decides), runs the trials it is sent and sends back their
results. When pruning, it reports each epoch to the Optuna trial itself, through the same
storage URL.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from tuneyard import quiet_import
from tuneyard.engine.devices import label, pin
from tuneyard.engine.epochs import EpochHook
from tuneyard.engine.heap import own_this_process
from tuneyard.engine.pruning import pruning_callback
from tuneyard.engine.trainer_factory import make_trainer
from tuneyard.errors import TuneyardError
from tuneyard.keras_backend import check_installed
from tuneyard.records.trial import failed
from tuneyard.space.file import load_space
from tuneyard.store.optuna_store import open_storage


@dataclass
class WorkerSpec:
    """What a worker process needs: picklable, no live objects."""

    options: Any  # engine.options.SweepOptions
    threads: int
    storage_url: str
    study_name: str
    metric: str
    pruner: Any = None  # an Optuna pruner when trials are pruned, else None
    trainer: Any = None  # a picklable stand-in for the real trainer (tests' cheap objective)


def limit_threads(threads: int) -> None:
    """Give this worker `threads` cores, before the Keras backend starts its thread pools.

    N workers x `threads` never exceed the cores: TensorFlow's and PyTorch's pools are set
    here. JAX has no such setting: XLA sizes its CPU pool from the cores, and the workers
    share them through the OS (README, Keras backends).
    """
    os.environ.update(TF_NUM_INTRAOP_THREADS=str(threads), TF_NUM_INTEROP_THREADS="1",
                      OMP_NUM_THREADS=str(threads))
    check_installed()  # before Keras is imported: a missing backend library in one line
    # heavy: keras (it reads KERAS_BACKEND and imports that backend, not the others)
    import keras

    backend = keras.config.backend()
    if backend == "tensorflow":
        # heavy: tensorflow (keras has imported it; this names it)
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    elif backend == "torch":
        # heavy: torch (keras has imported it; this names it)
        import torch

        torch.set_num_threads(threads)


def worker_main(conn: Any, spec: WorkerSpec, device: str | None = None) -> None:
    """A worker process: build the trainer once, then run trials until told to stop.

    `device`: the GPU this worker trains on (None: no GPU given, the CPU as always).
    """
    pin(device)  # first: nothing may load the Keras backend before its GPU is set
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    quiet_import.install()  # a process of tuneyard's own, whoever started it: TensorFlow loads quietly
    own_this_process()  # ... and its trials' garbage collections skip the libraries (engine/heap.py)
    _exit_with_parent()
    try:
        trainer = spec.trainer or _real_trainer(spec)
    except Exception as exc:  # reported to the parent, which shows it as one line
        user = isinstance(exc, TuneyardError)
        _send(conn, ("error", str(exc) if user else f"{type(exc).__name__}: {exc}", user))
        return
    _send(conn, ("ready", os.getpid()))
    study = None
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        proposal, trial_id = task
        try:
            # Each epoch goes to the parent, which shows it; the parent alone writes the store.
            callbacks: list = [EpochHook(lambda epoch, epochs, logs: _send(conn, ("epoch", epoch, epochs,
                                                                                   logs)))]
            if trial_id is not None and spec.pruner is not None:
                study = study or _load_study(spec)
                callbacks.append(_pruning(study, trial_id, spec.metric))
            result = trainer.run(proposal, callbacks)
        except TuneyardError as exc:  # the data cannot train (labels past the model): stop the sweep
            _send(conn, ("error", str(exc), True))
            return
        except Exception as exc:  # the trainer catches training errors; this is the rest
            result = failed(f"{type(exc).__name__}: {exc}"[:500])
        result.worker = f"{socket.gethostname()}:{os.getpid()}"
        result.device = label(device)
        _send(conn, ("result", result))


def _exit_with_parent() -> None:
    """End this process soon after its parent dies (kill -9): nobody would take its result,
    and a trial left training would hold the cores and memory of the next run."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="tuneyard-parent-watch").start()


def _send(conn: Any, message: tuple) -> None:
    """Send to the parent; if the parent is gone (killed), end this process quietly.

    Nobody is left to record what this worker would send, and the next run records
    its trial as interrupted; a BrokenPipeError traceback would only alarm the user.
    """
    try:
        conn.send(message)
    except (BrokenPipeError, ConnectionResetError, EOFError, OSError):
        os._exit(0)


def _real_trainer(spec: WorkerSpec) -> Any:
    limit_threads(spec.threads)
    space = spec.options.space
    return make_trainer(space if not isinstance(space, str) else load_space(space), spec.options)


def _load_study(spec: WorkerSpec) -> Any:
    # heavy: optuna
    import optuna

    return optuna.load_study(study_name=spec.study_name, storage=open_storage(spec.storage_url),
                             pruner=spec.pruner)


def _pruning(study: Any, trial_id: int, metric: str) -> Any:
    # heavy: optuna
    import optuna

    return pruning_callback(optuna.trial.Trial(study, trial_id), metric)
