"""Console progress of a race: one bar over every epoch the race may spend, a line per study."""

from __future__ import annotations

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from tuneyard.cli.display import console, fmt
from tuneyard.engine.sweep import Events


class RaceEvents(Events):
    """Advances one bar by each trial's epochs; prints a line when a study is done."""

    def __init__(self, total_epochs: int):
        self.progress = Progress(
            TextColumn("[bold]race"), BarColumn(), TextColumn("{task.completed}/{task.total} epochs"),
            TextColumn("{task.fields[study]} best {task.fields[best]}"), TimeElapsedColumn(),
            console=console)
        self.task = self.progress.add_task("race", total=total_epochs, study="", best="-")
        self.started = False

    def message(self, text: str) -> None:
        if text.startswith("resuming"):
            console.print(text, highlight=False)

    def trial_done(self, row: dict, done: int, budget: int, best: float | None) -> None:
        if not self.started:
            self.progress.start()
            self.started = True
        self.progress.update(self.task, advance=int(row["epochs"] or 0), best=fmt(best) or "-")

    def study_done(self, run) -> None:
        """A study of the race finished (or was already complete)."""
        spent = sum(t["epochs"] for t in run.trials)
        values = [t["value"] for t in run.trials if t["status"] == "COMPLETE"]
        self.progress.update(self.task, study=run.study)
        console.print(f"{run.study}: {len(run.trials)} trials, {spent} epochs, "
                      f"{len(values)} complete, {run.wall_s:.0f} s", highlight=False)

    def stop(self) -> None:
        """Remove the live display."""
        if self.started:
            self.progress.stop()
            self.started = False
