"""One runner at a time on a study whose backend keeps its own state (grid, Keras Tuner).

Two `tune run` processes on one grid or Keras Tuner study would both walk the
same points and both write the oracle's files; the second is refused. TPE asks
Optuna's storage for each trial and may run beside another runner.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

from tuneyard.errors import TuneyardError


class StudyLock:
    """One runner at a time on a study whose backend keeps its own state (grid, Keras Tuner)."""

    def __init__(self, folder: Path):
        self.path = Path(folder) / ".lock"
        self.handle: Any = None

    def acquire(self) -> None:
        """Take the lock or raise TuneyardError naming the process that holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held until release()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise TuneyardError(
                f"study '{self.path.parent.name}' is being run by another tune process "
                f"(pid {holder}); wait for it to finish or stop it") from None
        handle.truncate(0)
        handle.write(str(os.getpid()))
        handle.flush()
        self.handle = handle

    def keep(self) -> None:
        """Take the lock again if --fresh deleted the study folder under it."""
        if self.handle is not None and not self.path.exists():
            self.release()
            self.acquire()

    def release(self) -> None:
        """Let the next runner in."""
        if self.handle is not None:
            self.handle.close()
            self.handle = None
