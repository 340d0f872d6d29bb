"""A user's workload whose build function never returns, for tests of limits and kills.

`write(folder, units=...)` puts `hangs.py` and `hangs.yaml` in `folder`: TinyRegression,
except that the first trial with `hang: true` writes its pid to $HANG_MARKER and never
returns (later ones train), so a test knows which process to kill or time out.
"""

import os
import time
from pathlib import Path

from tuneyard.engine.trainer_factory import STAND_IN_VARIABLE
from tuneyard.testing import InstantTrainer

WORKLOAD = '''\
import os, pathlib, time
from tuneyard.testing import TinyRegression


class HangsOnce(TinyRegression):
    """TinyRegression; the first trial with hang: true writes its pid and never returns."""

    name = "hangs_once"
    optional = ("hang", "units")

    def build_model(self, params, dataset, options):
        marker = pathlib.Path(os.environ["HANG_MARKER"])
        if params["hang"] and not marker.exists():
            marker.write_text(str(os.getpid()))
            while True:
                time.sleep(0.1)
        return super().build_model(params, dataset, options)
'''

SPACE = """\
workload: hangs:HangsOnce
objective: {metric: val_mse, direction: minimize}
training: {epochs: 1, batch_size: 64}
hyperparameters:
  hang: {type: choice, values: [false, true], grid: [false, true]}
"""


def write(folder: Path, units: bool = False) -> Path:
    """Write the workload and its space into `folder`; the space's path. `units`: a second
    axis (4 or 8 units), so the grid has four points, two of which hang: true."""
    (folder / "hangs.py").write_text(WORKLOAD)
    axis = "  units: {type: int, low: 4, high: 8, grid: [4, 8]}\n" if units else ""
    (folder / "hangs.yaml").write_text(SPACE + axis)
    return folder / "hangs.yaml"


class InstantHangsOnce(InstantTrainer):
    """HangsOnce without Keras: the instant trainer (val_mse from a formula), in worker
    processes as the real trainer, and the same hang on the first `hang: true` trial; a
    space without `hang` never hangs. For tests of what happens around a trial (kills,
    signals, locks, full disks) whose `tune` processes then never import TensorFlow
    (use_stand_in)."""

    def __init__(self):
        super().__init__(_score, metric="val_mse", in_worker_processes=True)

    def run(self, proposal, callbacks=None):
        marker = Path(os.environ.get("HANG_MARKER", "")) if proposal.params.get("hang") else None
        if marker and not marker.exists():
            marker.write_text(str(os.getpid()))
            while True:
                time.sleep(0.1)
        return super().run(proposal, callbacks)


def _score(params: dict) -> float:
    return 1.0 / int(params.get("units", 8))


def use_stand_in(monkeypatch, trainer: str = "hanging:InstantHangsOnce") -> None:
    """Every `tune` this test starts (and runs in-process) trains on `trainer`, a stand-in
    this folder holds, instead of Keras (tuneyard's $TUNEYARD_STAND_IN_TRAINER)."""
    here = str(Path(__file__).parent)
    monkeypatch.setenv(STAND_IN_VARIABLE, trainer)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")])))


class InstantAfterRelease(InstantTrainer):
    """The instant trainer (val_mse from `units`), except that every trial first waits until
    the file $RELEASE_MARKER exists: a test sees each process holding a trial, RUNNING for as
    long as it likes, does what it came to do (kill one), then lets them all finish."""

    def __init__(self):
        super().__init__(_score, metric="val_mse")

    def run(self, proposal, callbacks=None):
        release = Path(os.environ["RELEASE_MARKER"])
        while not release.exists():
            time.sleep(0.05)
        return super().run(proposal, callbacks)
