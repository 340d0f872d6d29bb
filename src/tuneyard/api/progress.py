"""A sweep's progress in a Jupyter notebook: one display, updated in place.

In a notebook (an IPython kernel) `tuneyard.search` shows one output per sweep: a bar
(trials done/budget, best so far, the last trial's value, elapsed and time left), a line
per running trial (epoch k/E, loss, objective) and the sweep's own notices, all redrawn
in place through an IPython display handle (`display(..., display_id=True)` and
`handle.update`). No ipywidgets is needed, so there is no "IProgress not found" warning,
and the saved notebook keeps the final state as HTML and text. Elsewhere (a terminal, a
log file) the CLI's progress (cli/progress.py) draws it.
"""

from __future__ import annotations

import html
import sys
import time
from typing import Any

from tuneyard.cli.display import fmt
from tuneyard.cli.progress import SweepProgress, duration

# Epochs can end hundreds of times a second with the stand-in trainer: redraw at most this
# often, and always when a trial ends or the sweep stops.
REDRAW_SECONDS = 0.25
NOTICES_SHOWN = 6


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (IPython with a kernel): asked without
    importing IPython when the program never did."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


class _View:
    """What the display shows, in the two forms a front end picks from."""

    def __init__(self, text: str, markup: str):
        self.text, self.markup = text, markup

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return self.markup


class NotebookProgress(SweepProgress):
    """The sweep's progress as one notebook display; see the module docstring."""

    def __init__(self, metric: str, timeout: float | None = None):
        super().__init__(metric, timeout)
        self.last = "-"
        self.notices: list[str] = []
        self.handle: Any = None
        self.drawn_at = 0.0

    def message(self, text: str) -> None:
        self.notices = [*self.notices, text][-NOTICES_SHOWN:]
        self.redraw(force=True)

    def sweep_started(self, done: int, budget: int) -> None:
        self.first_done, self.done, self.budget = done, done, budget
        self.started = time.monotonic()
        self.redraw(force=True)

    def trial_done(self, row: dict, done: int, budget: int, best: float | None) -> None:
        if self.first_done is None:
            self.first_done = done - 1
        self.last = self.count_done(row, done, budget, best)
        self.redraw(force=True)

    def stop(self) -> None:
        """The final state: the bar and the notices, no running trials."""
        self.running.lines.clear()
        if self.handle is not None:
            self.redraw(force=True)

    def _left(self) -> str:
        estimate, _ = self.estimate()
        return "time left ?" if estimate is None else f"~{duration(estimate)} left"

    def view(self) -> _View:
        """The display's content now."""
        head = (f"trials {self.done}/{self.budget}  best {fmt(self.best) or '-'}  last "
                f"{self.last}  {duration(time.monotonic() - self.started)} elapsed  {self._left()}")
        lines = [*self.running.lines.values(), *self.notices]
        bar = (f'<progress value="{self.done}" max="{max(self.budget, 1)}" '
               'style="width:16em;vertical-align:middle"></progress>')
        body = "".join(f"<div>{html.escape(line)}</div>" for line in lines)
        markup = (f'<div style="font-family:monospace">{bar} {html.escape(head)}'
                  f'<div style="opacity:0.7">{body}</div></div>')
        return _View("\n".join([head, *lines]), markup)

    def redraw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.drawn_at < REDRAW_SECONDS:
            return
        self.drawn_at = now
        # heavy: IPython (present: this runs in a kernel only)
        from IPython.display import display

        if self.handle is None:
            self.handle = display(self.view(), display_id=True)
        else:
            self.handle.update(self.view())
