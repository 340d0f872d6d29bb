"""The leaderboard: every trial of every backend ranked in one pandas table.

Pure functions from stored trials (Optuna FrozenTrials) to rows, and from rows
to a ranked DataFrame and a CSV with one schema for every backend:

    rank, trial, backend, <hyperparameters>, <objective>, <other metrics>, <measures>, epochs,
    seconds, status, diagnosis, seed, device, precision, started, error, x_<backend details>

The columns up to `error` are the same, in the same order, for every backend. Measures
(params, saved_bytes, latency_ms) are there when the study measured them. A study of
several objectives has a `front` column after `rank` (1: the Pareto front) and ranks its
completed trials by front, then by the first objective (analysis/pareto.py). A
hyperparameter whose name is one of them is written `hp_<name>`. Backend details
follow, each prefixed `x_` (`x_grid_index`, `x_kt_trial`, `x_bracket`, `x_round`,
`x_hb_epochs`, `x_parent`, `x_warm_start`, `x_capped_from`, `x_warm_from`, `x_enqueued`),
only those the study's trials have, in that order (others after, by name).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from tuneyard.analysis.pareto import pareto_ranks
from tuneyard.analysis.trial_diagnosis import trial_diagnosis
from tuneyard.atomic import write_with
from tuneyard.records.attributes import DEVICE, DEVICE_USED, PRECISION, RESULT_ATTR, WARM, WARM_FROM
from tuneyard.records.trial import first_value
from tuneyard.space.core import MEASURES

# A carried trial (WARM: from an earlier study, --warm-from) lists after the study's own results.
STATUS_ORDER = {"COMPLETE": 0, "PRUNED": 1, WARM: 2, "RUNNING": 3, "FAIL": 4, "WAITING": 5}
FIXED = ("rank", "trial", "backend")
TAIL_COLUMNS = ["epochs", "seconds", "status", "diagnosis", "seed", "device", "precision", "started",
                "error"]
DETAIL_PREFIX, PARAM_PREFIX = "x_", "hp_"
DETAILS = ("grid_index", "kt_trial", "bracket", "round", "hb_epochs", "parent", "warm_start",
           "capped_from", "warm_from", "enqueued")


def cell_text(value: Any) -> str:
    """A table cell as text: 4 significant digits for floats, whole numbers whole (a seed in
    a column with blanks is a float: 963312345, never 9.633e+08), blank for missing values
    (the console's tables and the HTML report's show the same)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        whole = value.is_integer() and abs(value) < 1e15
        return str(int(value)) if whole else f"{value:.4g}"
    text = str(value)
    return "" if text in ("<NA>", "nan", "None") else text


def trial_row(trial: Any, config: dict | None = None, backend: str | None = None) -> dict:
    """One leaderboard row from an Optuna FrozenTrial of any backend.

    `config` (the study's stored config) lets a trial stored before diagnoses were kept
    be diagnosed as the store would have; a trial recorded since carries its own.
    `backend`: the study's, for a trial that never got its result (running, or
    interrupted with its process) and so carries no backend of its own.
    """
    attrs = trial.user_attrs
    result = attrs.get(RESULT_ATTR, {})
    seeds = result.get("seeds") or []
    finished = trial.state.name not in ("RUNNING", "WAITING")
    row = {
        "trial": trial.number,
        "backend": attrs.get("backend") or backend or (config or {}).get("backend") or "optuna",
        "params": dict(trial.params),
        "value": first_value(trial),
        "values": list(trial.values) if trial.values and len(trial.values) > 1 else None,
        "metrics": result.get("metrics", {}),
        "measures": {m: attrs[m] for m in MEASURES if m in attrs},
        "epochs": result.get("epochs_run", len(trial.intermediate_values)),
        "seconds": result.get("seconds"),
        # A carried trial is finished in the store, but this study did not run it.
        "status": WARM if attrs.get(WARM_FROM) and trial.state.name == "COMPLETE" else trial.state.name,
        "error": result.get("error"),
        "extra": result.get("extra", {}),
        "diagnosis": trial_diagnosis(attrs, config or {}).label if finished else "",
        "seed": attrs.get("seed", seeds[0] if seeds else None),
        "device": device_text(attrs.get(DEVICE), attrs.get(DEVICE_USED)),
        "precision": attrs.get(PRECISION),
        "started": (trial.datetime_start.isoformat(timespec="seconds")
                    if trial.datetime_start else None),
    }
    if row["value"] is None and trial.intermediate_values:
        # A pruned trial ranks by the last value it reported.
        row["last_value"] = trial.intermediate_values[max(trial.intermediate_values)]
    return row


def device_text(given: str | None, used: str | None) -> str | None:
    """The device column: what the trial was given ("gpu:2", "cpu"), and, where the Keras
    backend placed it elsewhere, that too: a GPU handed out but never seen is not hidden."""
    if not given or not used or given.split(":")[0] == used.split(":")[0]:
        return given or None
    if given.startswith("gpu"):
        return f"{given} (not visible to the Keras backend: ran on {used})"
    return f"{given} (the Keras backend ran it on {used})"


def ranked(rows: list[dict], param_names: list[str], metric: str, maximize: bool,
           objectives: list[tuple[str, bool]] | None = None) -> tuple[list[str], list[dict]]:
    """Columns and flat records, best first: completed by objective, then pruned, then the
    trials carried from an earlier study (WARM: shown with their value, never ranked), then
    running and failed.

    `objectives`: (name, maximize) of each objective of a study of several, the first
    being `metric`: completed trials then rank by Pareto front first (a `front` column).
    Plain Python, no pandas: this runs after every trial and must stay cheap at
    a thousand trials.
    """
    names = list(param_names)
    for row in rows:  # hyperparameters the space no longer names (an old study) go last
        names.extend(n for n in row["params"] if n not in names)
    metrics = sorted({k for row in rows for k in row["metrics"] if k != metric})
    measured = {k for row in rows for k in row.get("measures") or {}}
    measures = [m for m in MEASURES if m in measured and m not in metrics and m != metric]
    multi = bool(objectives) and len(objectives) > 1
    fixed = (FIXED[0], "front", *FIXED[1:]) if multi else FIXED
    taken = {*fixed, *TAIL_COLUMNS, metric, *metrics, *measures}
    renamed = {n: PARAM_PREFIX + n if n in taken or n.startswith(DETAIL_PREFIX) else n
               for n in names}
    records = [_flat(row, metric, renamed) for row in rows]
    fronts = pareto_ranks(rows, objectives) if multi else {}
    for record in records:
        if multi:
            record["front"] = fronts.get(record["trial"])
    sign = -1.0 if maximize else 1.0

    def order(record: dict) -> tuple:
        score = record[metric] if record[metric] is not None else record["_last"]
        missing = score is None or (isinstance(score, float) and math.isnan(score))
        front = fronts.get(record["trial"], math.inf) if multi else 0
        return (STATUS_ORDER.get(record["status"], 9), missing, front,
                0.0 if missing else sign * score, record["trial"])

    records.sort(key=order)
    rank = 0
    for record in records:
        if record[metric] is not None and record["status"] != WARM:
            rank += 1
            record["rank"] = rank
        else:
            record["rank"] = None
    details = {k for row in rows for k in row["extra"]}
    ordered = [*(d for d in DETAILS if d in details), *sorted(details - set(DETAILS))]
    columns = [*fixed, *renamed.values(), metric, *metrics, *measures, *TAIL_COLUMNS,
               *(DETAIL_PREFIX + d for d in ordered)]
    return columns, records


def to_frame(rows: list[dict], param_names: list[str], metric: str, maximize: bool,
             objectives: list[tuple[str, bool]] | None = None) -> Any:
    """Ranked DataFrame with the CSV's columns (see the module's docstring)."""
    # heavy: pandas
    import pandas as pd

    columns, records = ranked(rows, param_names, metric, maximize, objectives)
    frame = pd.DataFrame.from_records(records, columns=columns)
    frame["rank"] = frame["rank"].astype("Int64")
    # Whole-number columns stay whole with blanks among them (`tune leaderboard --csv`,
    # --json); a Hyperband parent is a trial number (Keras Tuner's id in older studies).
    for column in ("seed", "epochs", "front", "params", "saved_bytes", DETAIL_PREFIX + "parent"):
        if column in frame and frame[column].notna().any() and \
                pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].astype("Int64")
    return frame


def _flat(row: dict, metric: str, renamed: dict[str, str]) -> dict:
    out = {"trial": row["trial"], "backend": row["backend"]}
    out.update((renamed[k], v) for k, v in row["params"].items())
    out[metric] = row["value"] if row["status"] in ("COMPLETE", WARM) else None
    out.update((k, v) for k, v in row["metrics"].items() if k != metric)
    out.update((k, v) for k, v in (row.get("measures") or {}).items() if k not in out)
    for key in TAIL_COLUMNS:
        out[key] = row.get(key)
    out.update((DETAIL_PREFIX + k, v) for k, v in row["extra"].items())
    out["_last"] = row.get("last_value")
    return out


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


def study_objectives(config: dict) -> list[tuple[str, bool]] | None:
    """(name, maximize) of each objective of a stored study of several; None for one."""
    listed = config.get("objectives")
    if not isinstance(listed, list) or len(listed) < 2:
        return None
    return [(o["metric"], o["direction"] == "maximize") for o in listed]


def best_value(rows: list[dict], maximize: bool) -> float | None:
    """The best objective among completed rows, or None."""
    values = [r["value"] for r in rows if r["status"] == "COMPLETE" and r["value"] is not None
              and math.isfinite(r["value"])]
    if not values:
        return None
    return max(values) if maximize else min(values)
