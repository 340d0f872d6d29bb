"""The report's index.html: one self-contained page (figures embedded, no server, no internet)."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from tuneyard.analysis.leaderboard import cell_text
from tuneyard.analysis.trial_diagnosis import format_numbers

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1300px; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: right; }
th { background: #f3f3f3; } td.text, th.text { text-align: left; }
tr:nth-child(even) td { background: #fafafa; }
.scroll { overflow-x: auto; } figure { margin: 1em 0; } img { max-width: 100%; }
figcaption { color: #555; font-size: 0.9em; } .note { color: #8a5a00; }
.meta { color: #555; }
"""


def cell(value: Any) -> str:
    """A table cell: 4 significant digits for floats, blank for missing values."""
    return html.escape(cell_text(value))


def table(headers: list[str], rows: list[list[Any]], text_columns: tuple = ()) -> str:
    """An HTML table; columns named in text_columns are left-aligned."""
    def cls(name: str) -> str:
        return ' class="text"' if name in text_columns else ""

    head = "".join(f"<th{cls(h)}>{html.escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td{cls(h)}>{cell(v)}</td>" for h, v in zip(headers, row, strict=True))
        + "</tr>" for row in rows)
    return f'<div class="scroll"><table><tr>{head}</tr>{body}</table></div>'


def frame_table(frame: Any) -> str:
    """The leaderboard DataFrame as an HTML table (empty error column dropped)."""
    columns = [c for c in frame.columns if c != "error" or frame[c].notna().any()]
    rows = [[row[c] for c in columns] for _, row in frame.iterrows()]
    text = ("backend", "status", "diagnosis", "error", "optimizer")
    return table([str(c) for c in columns], rows, text_columns=text)


def figure_html(path: Path, title: str, caption: str) -> str:
    """A figure embedded as a base64 PNG."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure id="{path.stem}"><h3>{html.escape(title)}</h3>'
            f'<img alt="{html.escape(title)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def diagnosis_html(records: list[dict]) -> str:
    """One row per trial: label, numbers, reason and suggestion."""
    rows = [[r["trial"], r["status"], r["diagnosis"].label, format_numbers(r["diagnosis"]),
             r["diagnosis"].reason, r["diagnosis"].suggestion] for r in records]
    headers = ["trial", "status", "label", "numbers", "what the curves show", "suggestion"]
    return table(headers, rows, text_columns=tuple(headers[1:]))


def evaluation_html(evaluation: dict | None, lines: list[str]) -> str:
    """The test-set scores of the best trial."""
    if not evaluation:
        return ('<p class="note">No test-set evaluation yet: run <code>tune evaluate STUDY</code> '
                "or <code>tune report STUDY --evaluate</code>.</p>")
    out = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    params = ", ".join(f"{k}={cell(v)}" for k, v in evaluation["params"].items())
    out += f'<p class="meta">params: {params}</p>'
    if evaluation.get("task") == "classification":
        rows = [[c["class"], c["precision"], c["recall"], c["support"]]
                for c in evaluation["per_class"]]
        out += table(["class", "precision", "recall", "support"], rows, ("class",))
    return out


def header_keys(config: dict) -> tuple[str, ...]:
    """The settings the header names: what the trials actually ran with."""
    if config.get("backend") != "hyperband":
        return ("space", "backend", "workload", "seed", "epochs", "subset")
    # Hyperband sets each trial's epochs up to max_epochs; --epochs is not what ran
    # (a study made before max_epochs was stored names neither).
    return ("space", "backend", "workload", "seed", "max_epochs", "factor", "subset")


def render(study: str, config: dict, frame: Any, figures: list[tuple[Path, str, str]],
           notes: list[str], diagnoses: list[dict], evaluation: dict | None,
           evaluation_lines: list[str]) -> str:
    """The whole page."""
    metric, direction = config.get("metric", "value"), config.get("direction", "")
    meta = ", ".join(f"{k} {cell(config.get(k))}" for k in header_keys(config)
                     if config.get(k) is not None)
    done = int((frame["status"] == "COMPLETE").sum()) if len(frame) else 0
    parts = [
        f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>tuneyard report: {html.escape(study)}</title><style>{STYLE}</style></head><body>",
        f"<h1>Study {html.escape(study)}</h1>",
        f'<p class="meta">{meta}; objective {html.escape(metric)} ({html.escape(direction)}); '
        f"{len(frame)} trials, {done} completed.</p>",
        "<h2>Leaderboard</h2>", frame_table(frame),
        "<h2>Test-set evaluation of the best trial</h2>", evaluation_html(evaluation,
                                                                         evaluation_lines),
        "<h2>Figures</h2>",
        *(f'<p class="note">{html.escape(n)}</p>' for n in notes),
        *(figure_html(path, title, caption) for path, title, caption in figures),
        "<h2>Curve diagnosis</h2>",
        '<p class="meta">One label per trial, judged once when it was recorded, on the curves of '
        f"the objective ({html.escape(metric)} and its training counterpart; a maximised metric "
        "as its shortfall, 1 - accuracy = error), not on a loss that includes the L2 penalty: "
        "the same label as the leaderboard above, the CSV and <code>tune diagnose</code>. Rules: "
        "see docs/diagnosis.md. Gap = (validation - training) / training at the last epoch; "
        "slope = least-squares slope of the validation curve over the last 3 epochs, relative; "
        "oscillation = spread of epoch-to-epoch changes over the last 5 epochs, relative.</p>",
        diagnosis_html(diagnoses),
        "</body></html>",
    ]
    return "\n".join(parts)
