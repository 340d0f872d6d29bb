"""Tracking (opt-in): what a sweep's trackers share, light enough for `tune --help`: the
checks of `--tensorboard DIR` and `--mlflow URI` made with the options, and how a trial's
end reads to a tracker. The trackers themselves are trackers.py, tensorboard_sink.py and
mlflow_sink.py.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from tuneyard.errors import TuneyardError
from tuneyard.records.attributes import INTERRUPTED
from tuneyard.records.trial import COMPLETE, PRUNED, TrialResult

# How a finished trial ends in each tracker: its tuneyard state -> the tracker's word.
ENDED, FAILED, STOPPED = "ended", "failed", "stopped"


def outcome(result: TrialResult) -> str:
    """ENDED (completed), STOPPED (pruned, or cut off: it runs again) or FAILED."""
    if result.status == COMPLETE:
        return ENDED
    if result.status == PRUNED or (result.error or "").startswith(INTERRUPTED):
        return STOPPED
    return FAILED


def check_tracking(tensorboard: str | None, mlflow: str | None, api: bool = False) -> None:
    """Refuse, in one line and before anything runs, a tracker whose library is missing or a
    TensorBoard folder that cannot be one (`api`: name `tuneyard.search`'s arguments)."""
    tb_name, ml_name = ("tensorboard=", "mlflow=") if api else ("--tensorboard ", "--mlflow ")
    if tensorboard is not None:
        _require("tensorboard", "tensorboard", tb_name.strip(" ="))
        if not str(tensorboard).strip():  # Path("") is ".": the event files would land here
            raise TuneyardError(f"{tb_name}needs a folder for the event files, e.g. tb")
        check_log_folder(Path(tensorboard), tb_name)
    if mlflow is not None:
        _require("mlflow", "mlflow", ml_name.strip(" ="))
        if not str(mlflow).strip():
            raise TuneyardError(f"{ml_name}needs a tracking URI, e.g. sqlite:///mlflow.db or "
                                "http://host:5000")
        database = sqlite_file(str(mlflow))
        if database is not None and not database.absolute().parent.is_dir():
            raise TuneyardError(f"{ml_name}{mlflow}: the folder {database.absolute().parent} does "
                                "not exist; create it first")


def sqlite_file(uri: str) -> Path | None:
    """The database file of an MLflow `sqlite:///PATH` URI (None: another kind of URI)."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri.removeprefix("sqlite:///").split("?")[0])


def _require(module: str, extra: str, option: str) -> None:
    if importlib.util.find_spec(module) is None:
        name = option.removeprefix("--")
        raise TuneyardError(f"{name} tracking needs the {module} package: "
                            f"pip install 'tuneyard[{extra}]'")


def check_log_folder(folder: Path, name: str) -> None:
    """A TensorBoard log folder: a folder, or one to make in a folder that exists (a typo
    in a path never becomes a new tree), that this process can write."""
    shown = f"{name}{folder}"
    if folder.exists() and not folder.is_dir():
        raise TuneyardError(f"{shown}: it is a file; give a folder for the event files")
    existing = folder if folder.is_dir() else folder.absolute().parent
    if not existing.is_dir():
        raise TuneyardError(f"{shown}: the folder {existing} does not exist; create it first")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise TuneyardError(f"{shown}: the folder {existing} is not writable; give another folder")
