"""The leaderboard: every trial of every backend ranked in one pandas table.

Pure functions from stored trials (Optuna FrozenTrials) to rows, and from rows
to a ranked DataFrame and a CSV with one schema for every backend.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from tuneyard.atomic import write_with
from tuneyard.report.diagnosis import diagnose_attrs

STATUS_ORDER = {"COMPLETE": 0, "PRUNED": 1, "RUNNING": 2, "FAIL": 3, "WAITING": 4}
TAIL_COLUMNS = ["epochs", "seconds", "status"]


def trial_row(trial: Any) -> dict:
    """One leaderboard row from an Optuna FrozenTrial of any backend."""
    attrs = trial.user_attrs
    result = attrs.get("result", {})
    row = {
        "trial": trial.number,
        "backend": attrs.get("backend", "optuna"),
        "params": dict(trial.params),
        "value": trial.value if trial.values else None,
        "metrics": result.get("metrics", {}),
        "epochs": result.get("epochs_run", len(trial.intermediate_values)),
        "seconds": result.get("seconds"),
        "status": trial.state.name,
        "error": result.get("error"),
        "extra": result.get("extra", {}),
        # The curve label without a workload baseline (`tune diagnose` adds it).
        "diagnosis": diagnose_attrs(attrs).label if attrs.get("history") else "",
    }
    if row["value"] is None and trial.intermediate_values:
        # A pruned trial ranks by the last value it reported.
        row["last_value"] = trial.intermediate_values[max(trial.intermediate_values)]
    return row


def ranked(rows: list[dict], param_names: list[str], metric: str,
           maximize: bool) -> tuple[list[str], list[dict]]:
    """Columns and flat records, best first: completed by objective, then pruned, then failed.

    Plain Python, no pandas: this runs after every trial and must stay cheap at
    a thousand trials.
    """
    records = [_flat(row, metric) for row in rows]
    sign = -1.0 if maximize else 1.0

    def order(record: dict) -> tuple:
        score = record[metric] if record[metric] is not None else record["_last"]
        missing = score is None or (isinstance(score, float) and math.isnan(score))
        return (STATUS_ORDER.get(record["status"], 9), missing,
                0.0 if missing else sign * score, record["trial"])

    records.sort(key=order)
    rank = 0
    for record in records:
        if record[metric] is not None:
            rank += 1
            record["rank"] = rank
        else:
            record["rank"] = None
    return _column_order(records, param_names, metric), records


def to_frame(rows: list[dict], param_names: list[str], metric: str, maximize: bool) -> Any:
    """Ranked DataFrame: rank, trial, backend, params, objective, metrics, epochs, seconds, status."""
    import pandas as pd

    columns, records = ranked(rows, param_names, metric, maximize)
    frame = pd.DataFrame.from_records(records, columns=columns)
    frame["rank"] = frame["rank"].astype("Int64")
    return frame


def _flat(row: dict, metric: str) -> dict:
    out = {"trial": row["trial"], "backend": row["backend"], **row["params"]}
    out[metric] = row["value"] if row["status"] == "COMPLETE" else None
    for key, value in sorted(row["metrics"].items()):
        if key != metric:
            out[key] = value
    out.update(epochs=row["epochs"], seconds=row["seconds"], status=row["status"])
    out["diagnosis"] = row.get("diagnosis", "")
    out.update({k: v for k, v in row["extra"].items()})
    out["error"] = row["error"]
    out["_last"] = row.get("last_value")
    return out


def _column_order(records: list[dict], param_names: list[str], metric: str) -> list[str]:
    seen: dict[str, None] = {}
    for record in records:
        seen.update(dict.fromkeys(record))
    head = ["rank", "trial", "backend", *[p for p in param_names if p in seen], metric]
    tail = [*TAIL_COLUMNS, "error"]
    middle = [c for c in seen if c not in head and c not in tail and not c.startswith("_")]
    metrics = [c for c in middle if c.startswith("val_")]
    others = [c for c in middle if c not in metrics and c not in param_names]
    return [*head, *metrics, "epochs", "seconds", "status", *others, "error"]


def write_records(columns: list[str], records: list[dict], path: Path) -> None:
    """Write ranked records as CSV, atomically: a reader never sees half a file."""
    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(records)

    write_with(path, write)


def write_csv(frame: Any, path: Path) -> None:
    """Write a DataFrame as CSV atomically: a reader never sees half a file."""
    write_with(path, lambda tmp: frame.to_csv(tmp, index=False))


def best_value(rows: list[dict], maximize: bool) -> float | None:
    """The best objective among completed rows, or None."""
    values = [r["value"] for r in rows if r["status"] == "COMPLETE" and r["value"] is not None
              and math.isfinite(r["value"])]
    if not values:
        return None
    return max(values) if maximize else min(values)
