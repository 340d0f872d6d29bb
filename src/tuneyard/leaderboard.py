"""The leaderboard: every trial of every backend ranked in one pandas table.

Pure functions from stored trials (Optuna FrozenTrials) to rows, and from rows
to a ranked DataFrame and a CSV with one schema for every backend.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from tuneyard.report_diagnosis import diagnose_attrs

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


def to_frame(rows: list[dict], param_names: list[str], metric: str, maximize: bool) -> Any:
    """Ranked DataFrame: rank, trial, backend, params, objective, metrics, epochs, seconds, status."""
    import pandas as pd

    records = [_flat(row, metric) for row in rows]
    frame = pd.DataFrame.from_records(records)
    if frame.empty:
        return pd.DataFrame(columns=["rank", "trial", "backend", *param_names, metric,
                                     *TAIL_COLUMNS])
    frame["_status"] = frame["status"].map(STATUS_ORDER).fillna(9)
    frame["_score"] = frame[metric].where(frame[metric].notna(), frame.get("_last"))
    frame = frame.sort_values(["_status", "_score", "trial"], ascending=[True, not maximize, True],
                              na_position="last", kind="mergesort")
    ranked = frame[metric].notna()
    frame.insert(0, "rank", pd.Series(dtype="Int64"))
    frame.loc[ranked, "rank"] = range(1, int(ranked.sum()) + 1)
    return frame[_column_order(frame, param_names, metric)].reset_index(drop=True)


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


def _column_order(frame: Any, param_names: list[str], metric: str) -> list[str]:
    head = ["rank", "trial", "backend", *[p for p in param_names if p in frame], metric]
    tail = [*TAIL_COLUMNS, "error"]
    middle = [c for c in frame.columns if c not in head and c not in tail and not c.startswith("_")]
    metrics = [c for c in middle if c.startswith("val_")]
    others = [c for c in middle if c not in metrics and c not in param_names]
    return [*head, *metrics, "epochs", "seconds", "status", *others, "error"]


def write_csv(frame: Any, path: Path) -> None:
    """Write atomically: a reader never sees half a file, a crash never leaves one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    frame.to_csv(tmp, index=False)
    os.replace(tmp, path)


def best_value(rows: list[dict], maximize: bool) -> float | None:
    """The best objective among completed rows, or None."""
    values = [r["value"] for r in rows if r["status"] == "COMPLETE" and r["value"] is not None
              and math.isfinite(r["value"])]
    if not values:
        return None
    return max(values) if maximize else min(values)
