"""Ctrl-C held back while the runner does its bookkeeping.

A KeyboardInterrupt that lands inside `backend.ask()` after Optuna created the trial,
or between writing a trial and rewriting the CSV, would leave a RUNNING trial nobody
records, or a CSV behind the store. These steps take milliseconds (a Gaussian-process
proposal, seconds), so Ctrl-C waits for them and is raised right after; training and
waiting for workers stay interruptible at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Run the block to its end even if SIGINT arrives; then raise KeyboardInterrupt."""
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous is signal.SIG_IGN:
        yield  # only the main thread gets signals; an ignored SIGINT stays ignored
        return
    received: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt
