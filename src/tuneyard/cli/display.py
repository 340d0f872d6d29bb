"""Console output for the CLI: tables and the sweep progress bar (rich)."""

from __future__ import annotations

import math
import sys
import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tuneyard.engine.sweep import Events

# Wide tables stay readable when piped to a file or a CI log (rich would wrap at 80).
console = Console(width=None if sys.stdout.isatty() else 220)
errors = Console(stderr=True, width=None if sys.stderr.isatty() else 220)


def fmt(value: Any) -> str:
    """A cell: 4 significant digits for floats, blank for missing values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return "" if text in ("<NA>", "nan", "None") else text


def frame_table(frame: Any, title: str | None = None, top: int | None = None) -> Table:
    """A rich Table of a DataFrame (the first `top` rows); long error text is cut."""
    table = Table(title=title, show_lines=False, header_style="bold")
    columns = [c for c in frame.columns if c != "error" or frame[c].notna().any()]
    for column in columns:
        table.add_column(str(column), overflow="fold", max_width=48 if column == "error" else None)
    rows = frame.head(top) if top else frame
    for _, row in rows.iterrows():
        table.add_row(*(fmt(row[c]) for c in columns))
    return table


class ProgressEvents(Events):
    """Draws one progress bar over trials: done/total, best so far, elapsed, time left."""

    def __init__(self, metric: str):
        self.metric = metric
        self.started = time.monotonic()
        self.first_done: int | None = None
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("best {task.fields[best]}"), TextColumn("last {task.fields[last]}"),
            TimeElapsedColumn(), TextColumn("left {task.fields[left]}"), console=console,
        )
        self.task = None

    def message(self, text: str) -> None:
        console.print(text)

    def start(self, done: int, budget: int) -> None:
        """Show the bar with the trials already done (resume)."""
        self.first_done = done
        self.progress.start()
        self.task = self.progress.add_task("trials", total=budget, completed=done,
                                           best="-", last="-", left="?")

    def trial_done(self, row: dict, done: int, budget: int, best: float | None) -> None:
        if self.task is None:
            self.start(done - 1, budget)
        ran = done - (self.first_done or 0)
        per_trial = (time.monotonic() - self.started) / max(ran, 1)
        last = fmt(row["value"]) if row["status"] == "COMPLETE" else row["status"].lower()
        self.progress.update(self.task, completed=done, best=fmt(best) or "-", last=last,
                             left=_duration(per_trial * max(budget - done, 0)))

    def stop(self) -> None:
        """Remove the live display (leaves the final bar on screen)."""
        if self.task is not None:
            self.progress.stop()


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"
