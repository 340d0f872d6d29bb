"""Console output for the CLI: the consoles and tables (rich); the sweep's progress is progress.py's."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from tuneyard.errors import TuneyardError
from tuneyard.space.core import MEASURES

# Wide tables stay readable when piped to a file or a CI log (rich would wrap at 80).
console = Console(width=None if sys.stdout.isatty() else 220)
errors = Console(stderr=True, width=None if sys.stderr.isatty() else 220)


def fmt(value: Any) -> str:
    """A cell: 4 significant digits for floats, blank for missing values."""
    # heavy: numpy
    from tuneyard.analysis.leaderboard import cell_text

    return cell_text(value)


def print_json(data: Any) -> None:
    """Machine-readable output: JSON alone on stdout (NaN as null)."""
    sys.stdout.write(json.dumps(data, indent=1, default=str, allow_nan=False) + "\n")
    sys.stdout.flush()


def frame_records(frame: Any) -> list[dict]:
    """A DataFrame's rows as JSON-ready dicts (missing values as None)."""
    return json.loads(frame.to_json(orient="records", date_format="iso"))


def frame_table(frame: Any, title: str | None = None, top: int | None = None,
                columns: list[str] | None = None, width: int | None = None) -> Table:
    """A rich Table of a DataFrame (the first `top` rows) that fits `width` (the console's).

    Columns go in by priority (rank, trial, objective, hyperparameters, status, then the
    rest) while they fit, or are the ones named in `columns`; a cell never wraps, so no
    number is broken across lines; the caption names the columns left out.
    """
    rows = frame.head(top) if top else frame
    present = [c for c in frame.columns if c != "error" or frame[c].notna().any()]
    cells = {c: [fmt(v) for v in rows[c]] for c in present}
    if "error" in cells:  # cut in the middle: the location at its end stays readable
        cells["error"] = [clip_error(text, ERROR_WIDTH) for text in cells["error"]]
    chosen = named_columns(columns, list(frame.columns)) if columns else \
        _fitting(cells, _priority(present), width or console.width)
    left_out = [c for c in present if c not in chosen]
    caption = (f"{len(left_out)} more columns: {', '.join(left_out)} (--columns picks them; the "
               "CSV has all)") if left_out and not columns else None
    table = Table(title=title, caption=caption, show_lines=False, header_style="bold")
    for column in chosen:
        table.add_column(str(column), no_wrap=True, overflow="ellipsis",
                         max_width=ERROR_WIDTH if column == "error" else None)
    for i in range(len(rows)):
        table.add_row(*(cells[c][i] if c in cells else fmt(rows[c].iloc[i]) for c in chosen))
    return table


ERROR_WIDTH = 48
_LOCATION = re.compile(r" \(at [^()]*:\d+\)$")


def clip_error(text: str, width: int) -> str:
    """An error in at most `width` characters, its message shortened and its location
    (`(at trainer.py:1122)`) kept whole: a cut location names the wrong line."""
    if len(text) <= width:
        return text
    found = _LOCATION.search(text)
    where = found.group(0) if found and len(found.group(0)) < width // 2 else ""
    return text[: width - len(where) - 1].rstrip() + "…" + where


def named_columns(columns: list[str], available: list[str]) -> list[str]:
    """`columns` as given (--columns), or TuneyardError naming the unknown ones."""
    unknown = [c for c in columns if c not in available]
    if unknown:
        raise TuneyardError(f"no column {', '.join(unknown)}; columns: {', '.join(map(str, available))}")
    return columns


def _priority(columns: list[str]) -> list[str]:
    """rank, (front,) trial, the objective, (the measures,) the hyperparameters, status, then
    the rest in order.

    The hyperparameters are the columns between `backend` and the first `val_` metric,
    the first of which is the objective (the leaderboard's column order). A study of several
    objectives has a `front` column, and its measures (params, ...) come next to the objective.
    """
    start = columns.index("backend") + 1 if "backend" in columns else 0
    metric = next((i for i in range(start, len(columns)) if str(columns[i]).startswith("val_")), None)
    params = columns[start:metric] if metric is not None else []
    measures = [m for m in MEASURES if m in columns[metric or start:]]
    first = ["rank", "front", "trial", *([columns[metric]] if metric is not None else []),
             *measures, *params, "status"]
    return [c for c in first if c in columns] + [c for c in columns if c not in first]


def _fitting(cells: dict[str, list[str]], order: list[str], width: int) -> list[str]:
    used, chosen = 1, []  # the table's left border
    for column in order:
        cell = max([len(str(column)), *(len(v) for v in cells[column])])
        need = min(cell, ERROR_WIDTH) + 3  # padding either side and a border
        if used + need <= width or not chosen:
            chosen.append(column)
            used += need
    return [c for c in cells if c in chosen]
