"""Stopping, at a moment in time, a trial that runs in this process.

A trial in a worker process that runs past its limit is killed (executors.py). One
that runs here cannot be: at its deadline an exception is raised in the thread that
runs it, wherever it is (a build function that never returns included). In the main
thread a SIGALRM raises it, which also ends a sleep or a blocking read; in another
thread (`tuneyard.search` called from a thread) Python's `PyThreadState_SetAsyncExc`
does, at the thread's next Python instruction (a call blocked inside C code ends first).
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import threading
import time
from collections.abc import Callable, Iterator


class TrialTimedOut(BaseException):
    """A trial ran past --trial-timeout: it is stopped and recorded FAIL; the sweep goes on.

    A BaseException, so that a user's `except Exception` in a build function cannot
    swallow it (as KeyboardInterrupt).
    """

    def __init__(self, message: str = "the trial ran past its time limit"):
        super().__init__(message)


def earliest(*moments: float | None) -> float | None:
    """The soonest of the monotonic times given (None: no deadline)."""
    known = [m for m in moments if m is not None]
    return min(known) if known else None


@contextlib.contextmanager
def stop_at(when: float | None, which: Callable[[], type[BaseException]]) -> Iterator[None]:
    """Within the block, raise `which()` in this thread at monotonic time `when` (None: never).

    `which` is asked at the deadline, so one deadline can stand for several limits.
    """
    if when is None:
        yield
        return
    delay = max(0.001, when - time.monotonic())
    in_main = threading.current_thread() is threading.main_thread()
    arm = _alarm if in_main and hasattr(signal, "setitimer") else _async_raise
    with arm(delay, which):
        yield


@contextlib.contextmanager
def _alarm(delay: float, which: Callable[[], type[BaseException]]) -> Iterator[None]:
    armed = [True]

    def on_alarm(signum: int, frame: object) -> None:
        if armed[0]:  # the block may have ended between the alarm and this handler
            armed[0] = False
            raise which()()  # each kind says what passed in its own default message

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, delay)
    try:
        yield
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _async_raise(delay: float, which: Callable[[], type[BaseException]]) -> Iterator[None]:
    target = threading.get_ident()
    lock, armed = threading.Lock(), [True]

    def fire() -> None:
        with lock:  # never after the block ended: the exception would land elsewhere
            if armed[0]:
                armed[0] = False
                raise_in_thread(target, which())

    timer = threading.Timer(delay, fire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            armed[0] = False
        timer.cancel()


def raise_in_thread(ident: int, kind: type[BaseException]) -> None:
    """Raise `kind` in the thread `ident` at its next Python instruction (a call blocked in
    C code ends first; a wait registered with `woken_by_raise` is ended)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(kind))
    wake = _wakers.get(ident)
    if wake is not None:
        wake()


# Threads blocked in a wait that an exception raised into them must end: thread -> wake.
_wakers: dict[int, Callable[[], None]] = {}


@contextlib.contextmanager
def woken_by_raise(wake: Callable[[], None]) -> Iterator[None]:
    """Within the block, an exception raised into this thread (`raise_in_thread`) also calls
    `wake`, which ends the thread's wait: blocked in it, the thread runs no Python
    instruction, so the exception would wait for the wait's own end."""
    ident = threading.get_ident()
    _wakers[ident] = wake
    try:
        yield
    finally:
        _wakers.pop(ident, None)
