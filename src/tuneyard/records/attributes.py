"""The names of what tuneyard stores on a study and its trials (Optuna user attributes).

One place for them: the store writes them, the engine and the backends set some while a
trial runs, the leaderboard and the ledger read them back. Changing one breaks every
study already stored, so they only ever grow.
"""

from __future__ import annotations

import os
import socket

CONFIG_ATTR = "tuneyard"  # on the study: the config it was made with (space, backend, seed, ...)
DIAGNOSIS_ATTR = "diagnosis"  # on a trial: the diagnosis label (details in result["diagnosis"])
RESULT_ATTR = "result"  # on a trial: metrics, seeds, error, epochs, versions, diagnosis
HISTORY_ATTR = "history"  # on a trial: the per-epoch history
RUNNER = "runner"  # on a trial: "host:pid" of the process that asked for it
DEVICE = "device"  # on a trial: the device it was given ("gpu:2", "cpu"; engine/devices.py)
DEVICE_USED = "device_used"  # on a trial: where the Keras backend placed it ("gpu:0", "cpu:0")
PRECISION = "precision"  # on a trial: the Keras dtype policy it trained in (engine/precision.py)
# On the study: its MLflow parent run per tracking URI (password masked) -> run id, so that a
# resumed sweep goes on in the same run (engine/mlflow_sink.py).
MLFLOW_RUNS = "mlflow_runs"
SURPLUS = "surplus"  # on a trial told FAIL because other workers had taken the whole budget
# On a trial carried from an earlier study (`--warm-from`): "<study>#<trial number>". Such a
# trial is finished in the store (samplers learn from it) but was not run by this study.
WARM_FROM = "warm_from"
ENQUEUED = "enqueued"  # on a trial whose configuration the user gave (`--enqueue`): True
# The leaderboard status of a carried trial: listed with its value, never ranked or counted.
WARM = "WARM"

# The error of a trial cut off by Ctrl-C or a dead runner starts with this: it runs again.
INTERRUPTED = "interrupted"


def this_runner() -> str:
    """This process, as written on the trials it asks for (RUNNER)."""
    return f"{socket.gethostname()}:{os.getpid()}"
