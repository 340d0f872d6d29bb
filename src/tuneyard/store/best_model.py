"""The study's best model, kept: `results/<study>/best.keras` and what it came from.

A trial whose value beats the best the study had when it started saves its model
(the weights of the epoch that gave its objective) as a candidate file. When the
trial is recorded, the candidate replaces best.keras only if the trial is still
the study's best (another runner may have done better meanwhile); otherwise it is
deleted. `best.json` says which trial best.keras is.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tuneyard.atomic import replacing

BEST_MODEL = "best.keras"
BEST_INFO = "best.json"
CANDIDATES = "candidates"


def candidate_path(folder: Path, key: str) -> str:
    """Where a trial saves its model if it improves on the study's best (the folder is made
    when one is saved: asking the file system at every trial costs more than the rest)."""
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in key) or "trial"
    return str(folder / CANDIDATES / f"{safe}-{os.getpid()}.keras")


def keep_if_best(folder: Path, candidate: str | None, trial: int, value: float | None,
                 best: float | None) -> bool:
    """Promote `candidate` to best.keras if trial's value is the study's best; else drop it.

    An OSError (a full disk) leaves best.keras and best.json as they were and drops the
    candidate."""
    if not candidate or not Path(candidate).exists():
        return False
    if value is None or best is None or value != best:
        Path(candidate).unlink(missing_ok=True)
        return False
    # best.json is written aside first: on a full disk neither file changes (the candidate
    # goes and the OSError says why); then two renames, which need no space.
    try:
        with replacing(folder / BEST_INFO) as info:
            info.write_text(json.dumps({"trial": trial, "value": value}))
            os.replace(candidate, folder / BEST_MODEL)  # the candidate was itself written whole
    except OSError:
        Path(candidate).unlink(missing_ok=True)
        raise
    return True


def saved_best(folder: Path) -> dict | None:
    """{"trial", "value", "path"} of the kept best model, or None when there is none."""
    info_path, model = folder / BEST_INFO, folder / BEST_MODEL
    if not (info_path.is_file() and model.is_file()):
        return None
    try:
        info: Any = json.loads(info_path.read_text())
    except (OSError, ValueError):
        return None
    return {**info, "path": str(model)} if isinstance(info, dict) and "trial" in info else None
