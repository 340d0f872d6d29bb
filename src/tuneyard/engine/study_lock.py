"""One runner at a time on a study whose backend keeps its own state (grid, Keras Tuner).

Two `tune run` processes on one grid or Keras Tuner study would both walk the
same points and both write the oracle's files; the second is refused. TPE asks
Optuna's storage for each trial and may run beside another runner. The store alone
cannot tell a busy study, though every trial is in it from its ask: while the data
loads, and between one trial's tell and the next ask, a live runner has no RUNNING trial.

The lock is filelock's: an OS lock on `.lock`, which vanishes with its process
however that process ends (a PID file would outlive a killed runner), on every
platform. The holder's pid sits beside it in `.lock.pid`, to name it when refusing.
"""

from __future__ import annotations

import os
from pathlib import Path

from filelock import FileLock, Timeout

from tuneyard.errors import TuneyardError


class StudyLock:
    """One runner at a time on a study whose backend keeps its own state (grid, Keras Tuner)."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / ".lock"
        self.pid_path = Path(folder) / ".lock.pid"
        self.lock: FileLock | None = None

    def acquire(self) -> None:
        """Take the lock or raise TuneyardError naming the process that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.path, timeout=0, thread_local=False)
        try:
            lock.acquire()
        except Timeout:
            raise TuneyardError(
                f"study '{self.path.parent.name}' is being run by another tune process "
                f"(pid {self._holder()}); wait for it to finish or stop it") from None
        self.pid_path.write_text(str(os.getpid()))
        self.lock = lock

    def _holder(self) -> str:
        try:
            return self.pid_path.read_text().strip() or "unknown"
        except OSError:
            return "unknown"

    def keep(self) -> None:
        """Take the lock again if --fresh deleted the study folder under it."""
        if self.lock is not None and not self.path.exists():
            self.release()
            self.acquire()

    def release(self) -> None:
        """Let the next runner in."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None
