"""Ctrl-C held back while the runner does its bookkeeping.

A KeyboardInterrupt that lands inside `backend.ask()` after Optuna created the trial,
or between writing a trial and rewriting the CSV, would leave a RUNNING trial nobody
records, or a CSV behind the store. These steps take milliseconds (a Gaussian-process
proposal, seconds), so Ctrl-C waits for them and is raised right after; training and
waiting for workers stay interruptible at once.

An interrupt is also remembered: Python swallows a KeyboardInterrupt raised inside a
finalizer (a weakref callback during training, say), so `interrupts_watched` notes
every SIGINT and `raise_if_interrupted` raises it again at the next check.

SIGTERM (`kill`, a scheduler ending a job, a container stopping) is treated as Ctrl-C,
as `Terminated`: the running trials are recorded as interrupted and run again on resume,
where a bare SIGTERM would end the process with its trial left RUNNING.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from tuneyard.engine.epochs import TimeBudgetSpent

_requested = threading.Event()
_kind: list[type[KeyboardInterrupt]] = [KeyboardInterrupt]  # what the remembered signal raises
_cut_at: list[float] = []  # monotonic time past which a running trial is cut (--timeout)


class Terminated(KeyboardInterrupt):
    """SIGTERM ended the sweep; handled as Ctrl-C (trials recorded as interrupted)."""


def _raised_by(signum: int) -> type[KeyboardInterrupt]:
    return Terminated if signum == signal.SIGTERM else KeyboardInterrupt


def _interrupt(signum: int, frame: object) -> None:
    _requested.set()
    _kind[0] = _raised_by(signum)
    raise _kind[0]


def _watched_signals() -> list[int]:
    # SIGTERM only where nobody else handles it (an embedding program may have its own).
    terms = [signal.SIGTERM] if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, _interrupt) else []
    return [signal.SIGINT, *terms]


def _can_handle() -> bool:
    # Only the main thread gets signals; an ignored SIGINT (worker processes) stays ignored.
    return (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN)


@contextlib.contextmanager
def interrupts_watched() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt as usual and is remembered for the block."""
    if not _can_handle():
        yield
        return
    _requested.clear()
    previous = {signum: signal.signal(signum, _interrupt) for signum in _watched_signals()}
    previous_hook = sys.unraisablehook

    def quiet_about_interrupts(unraisable: Any) -> None:
        # Python would print the swallowed KeyboardInterrupt as a traceback; it is
        # raised again at the next check, so it is not worth a word here.
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            previous_hook(unraisable)

    sys.unraisablehook = quiet_about_interrupts
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        sys.unraisablehook = previous_hook
        _requested.clear()


def raise_if_interrupted() -> None:
    """Raise KeyboardInterrupt if a SIGINT came in the watched block (one may be swallowed),
    TimeBudgetSpent past the time budget's cut (a trial then stops within a batch)."""
    if _requested.is_set():
        raise _kind[0]
    if _cut_at and time.monotonic() >= _cut_at[0]:
        raise TimeBudgetSpent()


@contextlib.contextmanager
def cut_at(when: float | None) -> Iterator[None]:
    """Within the block, `raise_if_interrupted` cuts at monotonic time `when` (None: never)."""
    if when is None:
        yield
        return
    _cut_at[:] = [when]
    try:
        yield
    finally:
        _cut_at.clear()


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Run the block to its end even if SIGINT arrives; then raise KeyboardInterrupt."""
    if not _can_handle():
        yield
        return
    # SIGTERM is deferred too where it is ours (interrupts_watched installed it).
    signums = [signal.SIGINT] + [s for s in (signal.SIGTERM,) if signal.getsignal(s) is _interrupt]
    previous = {signum: signal.getsignal(signum) for signum in signums}
    received: list[int] = []
    for signum in signums:
        signal.signal(signum, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if received:
        _requested.set()
        _kind[0] = _raised_by(received[-1])
        raise _kind[0]
