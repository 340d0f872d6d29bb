"""Per-epoch reports from a running trial, and the sweep's wall-clock budget.

An `EpochHook` rides in a trial's callback list: the trainer turns it into a Keras
callback (training.py), a worker process turns it into a message to the parent
(worker_process.py), a stand-in trainer calls it directly. No Keras here.
"""

from __future__ import annotations

import math
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from tuneyard.errors import TuneyardError


@dataclass
class EpochHook:
    """`report(epoch, epochs, logs)` after each epoch of a trial (epoch counts from 1)."""

    report: Callable[[int, int, dict], None]

    def __call__(self, epoch: int, epochs: int, logs: dict | None) -> None:
        self.report(epoch, epochs, finite_numbers(logs))


def finite_numbers(logs: dict | None) -> dict:
    """The logs' numbers as floats (what crosses a pipe and a progress line)."""
    out = {}
    for key, value in (logs or {}).items():
        try:
            out[str(key)] = float(value)
        except (TypeError, ValueError):
            continue
    return out


_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?")


def parse_duration(text: str | float | int, flag: str = "--timeout") -> float:
    """Seconds in '2h', '90m', '3600s', '1h30m' or a plain number of seconds (`flag`: the
    option named when `text` is none of these)."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        value = str(text).strip().lower()
        match = _DURATION.fullmatch(value)
        if value and match and any(match.groups()):
            h, m, s = (float(g or 0) for g in match.groups())
            seconds = h * 3600 + m * 60 + s
        else:
            try:
                seconds = float(value)
            except ValueError:
                seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise TuneyardError(f"{flag} must be a positive duration such as 2h, 90m, 3600s or "
                            f"1h30m, got {text!r}")
    return seconds


class TimeBudgetSpent(BaseException):
    """Running trials went past the time budget and its grace: they are cut (not a failure)."""

    def __init__(self, message: str = "the time budget ran out while trials were running"):
        super().__init__(message)


class TimeBudget:
    """A sweep's wall-clock budget: whether a trial of an estimated length still fits."""

    def __init__(self, seconds: float, grace: float):
        self.seconds, self.grace = seconds, grace
        self.started = time.monotonic()
        self.deadline = self.started + seconds
        self.cut_at = self.deadline + grace
        self.ended = False  # it refused a trial: the time budget ended the sweep

    def left(self) -> float:
        """Seconds left before the deadline (0 past it)."""
        return max(0.0, self.deadline - time.monotonic())

    def allows(self, estimate: float | None, running: int) -> bool:
        """Whether a trial expected to take `estimate` seconds may start now.

        With no estimate yet (no trial of the study finished), one trial starts.
        """
        now = time.monotonic()
        if now >= self.deadline or (estimate is not None and now + estimate > self.deadline):
            self.ended = True
            return False
        return estimate is not None or running == 0


def seconds_per_epoch(rows: list[dict]) -> float | None:
    """Median seconds per trained epoch over finished trials that trained any."""
    rates = [float(r["seconds"]) / int(r["epochs"]) for r in rows
             if r["status"] != "RUNNING" and r.get("seconds") and int(r.get("epochs") or 0) > 0]
    return statistics.median(rates) if rates else None


def default_grace(seconds: float) -> float:
    """How long past the deadline running trials may go before they are cut."""
    return min(600.0, max(30.0, 0.1 * seconds))
