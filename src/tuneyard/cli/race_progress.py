"""Console progress of a race: one bar over every epoch the race may spend, moved as each trial
starts and as each epoch ends; a line per study."""

from __future__ import annotations

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from tuneyard.cli.display import console, fmt
from tuneyard.cli.progress import RunningTrials
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
        self.running = RunningTrials()

    def _show(self) -> None:
        if not self.started and console.is_terminal:
            self.progress.start()
            self.started = True

    def trial_started(self, key, params, epochs) -> None:
        self._show()
        self.running.start(key, epochs)
        self.progress.update(self.task, study=f"trial {key} started")

    def epoch_done(self, key, epoch, epochs, logs) -> None:
        self.running.epoch(key, "")
        self.progress.update(self.task, advance=1, study=f"trial {key} epoch {epoch}/{epochs}")

    def message(self, text: str) -> None:
        if text.startswith("resuming"):
            console.print(text, highlight=False)

    def trial_done(self, row: dict, done: int, budget: int, best: float | None) -> None:
        self._show()
        shown = self.running.end(row["trial"])  # epochs the bar already moved for this trial
        self.progress.update(self.task, advance=int(row["epochs"] or 0) - shown, best=fmt(best) or "-")

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
