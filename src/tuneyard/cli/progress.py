"""The sweep's console progress: a live bar and per-epoch lines on a terminal, plain lines elsewhere.

On a terminal the bar (trials done/budget, best so far, elapsed, time left, and with
--timeout the time budget counting down) shows from the start of the first trial, with
a transient line per running trial (epoch k/E, loss, objective). When stdout is not a
terminal (nohup, CI, a log file) there is no bar: one plain line per finished trial.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from tuneyard.cli.display import clip_error, console, fmt
from tuneyard.engine.sweep import Events


def duration(seconds: float) -> str:
    """H:MM:SS."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class RunningTrials:
    """The trials in flight, by the key the sweep gave them, with their latest epoch line."""

    def __init__(self):
        self.lines: dict[Any, str] = {}
        self.epochs: dict[Any, int] = {}  # epochs reported so far (repeats included)

    def start(self, key: Any, epochs: int) -> None:
        self.lines[key], self.epochs[key] = f"trial {key}: starting, {epochs} epochs", 0

    def epoch(self, key: Any, line: str) -> None:
        self.lines[key] = line
        self.epochs[key] = self.epochs.get(key, 0) + 1

    def end(self, number: int) -> int:
        """Forget the trial recorded as `number` (else the oldest); the epochs it reported."""
        key = number if number in self.lines else next(iter(self.lines), None)
        self.lines.pop(key, None)
        return self.epochs.pop(key, 0)

    def __rich__(self) -> Text:
        return Text("\n".join(self.lines.values()), style="dim")


def epoch_line(key: Any, epoch: int, epochs: int, logs: dict, metric: str) -> str:
    """`trial 3: epoch 4/10  loss 0.0213  val_mse 0.0198`."""
    parts = [f"trial {key}: epoch {epoch}/{epochs}"]
    parts += [f"{name} {fmt(logs[name])}" for name in dict.fromkeys(("loss", metric)) if name in logs]
    return "  ".join(parts)


class SweepProgress(Events):
    """What every progress display counts: trials done of the budget, the best so far, the
    running trials' latest epoch and the time left; a display draws it in `redraw`."""

    def __init__(self, metric: str, timeout: float | None = None):
        self.metric, self.timeout = metric, timeout
        self.started = time.monotonic()  # the trials' time, as --timeout counts it
        self.first_done: int | None = None  # trials done before this run (a resume)
        self.done, self.budget, self.best = 0, 0, None
        self.running = RunningTrials()

    def redraw(self, force: bool = False) -> None:
        """Show the counts now (`force`: even if they were shown a moment ago)."""

    def trial_started(self, key: Any, params: dict, epochs: int) -> None:
        self.running.start(key, epochs)
        self.redraw()

    def epoch_done(self, key: Any, epoch: int, epochs: int, logs: dict) -> None:
        self.running.epoch(key, epoch_line(key, epoch, epochs, logs, self.metric))
        self.redraw()

    def count_done(self, row: dict, done: int, budget: int, best: float | None) -> str:
        """Count a finished trial; its value as shown, or its status when it has none."""
        self.running.end(row["trial"])
        self.done, self.budget, self.best = done, budget, best
        return fmt(row["value"]) if row["status"] == "COMPLETE" else row["status"].lower()

    def estimate(self) -> tuple[float | None, float | None]:
        """Seconds left, from the pace of this run's trials, and with a time budget the
        budget's seconds left, which cap the estimate (None: no trial has ended, no budget)."""
        elapsed = time.monotonic() - self.started
        ran = self.done - (self.first_done or 0)
        estimate = elapsed / ran * max(self.budget - self.done, 0) if ran else None
        if not self.timeout:
            return estimate, None
        budget_left = max(0.0, self.timeout - elapsed)
        return (budget_left if estimate is None else min(estimate, budget_left)), budget_left


class ProgressEvents(SweepProgress):
    """Draws the sweep's progress; see the module docstring."""

    def __init__(self, metric: str, timeout: float | None = None):
        super().__init__(metric, timeout)
        self.live_view = console.is_terminal
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("best {task.fields[best]}"), TextColumn("last {task.fields[last]}"),
            TimeElapsedColumn(), TextColumn("{task.fields[left]}"), console=console,
        )
        self.task = None
        self.live: Live | None = None

    def message(self, text: str) -> None:
        console.print(text, markup=False, highlight=False, soft_wrap=True)

    def sweep_started(self, done: int, budget: int) -> None:
        self.start(done, budget)

    def start(self, done: int, budget: int) -> None:
        """Show the bar with the trials already done (resume)."""
        if self.task is not None:
            return
        self.first_done, self.done, self.budget = done, done, budget
        self.started = time.monotonic()  # the trials' time, as --timeout counts it
        self.task = self.progress.add_task("trials", total=budget, completed=done, best="-", last="-",
                                           left=self._left())
        if self.live_view:
            self.live = Live(Group(self.progress, self.running), console=console,
                             refresh_per_second=4, get_renderable=None)
            self.live.start()

    def trial_done(self, row: dict, done: int, budget: int, best: float | None) -> None:
        self.start(done - 1, budget)
        last = self.count_done(row, done, budget, best)
        self.progress.update(self.task, total=budget, completed=done, best=fmt(best) or "-", last=last)
        self.redraw()
        if not self.live_view:
            ok = row["status"] == "COMPLETE"
            what = f"{self.metric} {fmt(row['value'])}" if ok else f"{last}"
            if not ok and row.get("error"):
                # Long enough for what to do about the user's mistake and where it is.
                what += f" ({clip_error(str(row['error']), 240)})"
            self.message(f"trial {row['trial']} done: {what} (best {fmt(best) or '-'}), {done}/{budget} "
                         f"trials, {duration(time.monotonic() - self.started)} elapsed, {self._left()}")

    def _left(self) -> str:
        estimate, budget_left = self.estimate()
        if budget_left is not None:
            return f"~{duration(estimate)} left (time budget {duration(budget_left)} left)"
        return "time left ?" if estimate is None else f"~{duration(estimate)} left"

    def redraw(self, force: bool = False) -> None:
        if self.task is not None:
            self.progress.update(self.task, left=self._left())
        if self.live is not None:
            self.live.refresh()

    def stop(self) -> None:
        """Remove the per-trial lines; the final bar stays on screen."""
        if self.live is not None:
            self.running.lines.clear()
            self.live.stop()
            self.live = None
