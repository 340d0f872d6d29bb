"""A trial's `model.fit`, run on a fresh thread while the caller's thread waits for it.

TensorFlow records the Python stack for every op it creates, and a trial's fit traces its
new model's functions again (some 2,000 ops for an MNIST MLP). Its cost grows with the
depth of the stack `fit` is called from: under a sweep (and deeper under the `tune`
command, below typer's frames) it is tens of milliseconds of CPU a fit more than from a
script's top level. A fresh thread's stack is a few frames deep, wherever the sweep is.
Measured on 2 cores, the same 4 fits of an MNIST MLP (1,000 samples) in one process, 6 rounds:
called 20 frames deep they took 105 ms of CPU a fit more than from the top, and on a fresh
thread 18 ms less (medians).

Nothing else moves: the model is built, and its results read, on the caller's thread
(Keras' thread-local state, the seed and the dtype policy, is set there and read at the
build). What stops a trial stops its fit: an exception raised in the waiting thread
(Ctrl-C, SIGTERM, a time limit's alarm or its exception raised into a thread) is raised in
the fit's thread too, at its next Python instruction, and the caller waits for the fit to
end (a batch in TensorFlow's C code ends first) before raising it in turn. A second one
while it waits is raised at once, and the fit's thread, a daemon, is left to end with
the process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from tuneyard.engine.deadline import raise_in_thread, woken_by_raise

# How long the waiting thread blocks at a time, in case the fit's thread ends without
# saying so. Each wake takes the GIL from the fit: at 20 a second (0.05 s) they cost a fit
# of an MNIST MLP about 18 ms in 5 s (2026-12-06; at 1,000 a second, 880 ms). A signal
# ends the main thread's wait, and an exception raised into another thread wakes it
# (deadline.woken_by_raise), so neither waits for this.
WAIT_SECONDS = 1.0


def fit_on_fresh_thread(fit: Callable[..., Any], **arguments: Any) -> Any:
    """`fit(**arguments)` on a new thread; its return value, or its exception raised here."""
    outcome: dict[str, Any] = {}
    # Waited on, not the thread: a join interrupted by an exception marks a running thread
    # as ended in Python 3.11 (threading's _wait_for_tstate_lock releases its lock).
    ended, wake = threading.Event(), threading.Event()

    def run() -> None:
        try:
            outcome["value"] = fit(**arguments)
        except BaseException as exc:  # handed to the waiting thread whole
            outcome["error"] = exc
        finally:
            ended.set()
            wake.set()

    worker = threading.Thread(target=run, name="tuneyard-fit", daemon=True)
    worker.start()
    try:
        with woken_by_raise(wake.set):
            _wait(ended, wake, worker)
    except BaseException as stop:
        _raise_in(worker, ended, type(stop))
        _wait(ended, wake, worker)  # the fit ends within a batch; a second Ctrl-C ends the wait
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _wait(ended: threading.Event, wake: threading.Event, worker: threading.Thread) -> None:
    """Until the fit has ended, or its thread (an exception raised into it after its fit
    returned, before it said so). `wake` ends each wait early: the fit's end, or an
    exception raised into this thread."""
    while not ended.is_set() and worker.is_alive():
        wake.wait(WAIT_SECONDS)
        wake.clear()


def _raise_in(worker: threading.Thread, ended: threading.Event,
              kind: type[BaseException]) -> None:
    """Raise `kind` in `worker` at its next Python instruction, unless its fit has ended."""
    if worker.ident is not None and not ended.is_set():
        raise_in_thread(worker.ident, kind)
