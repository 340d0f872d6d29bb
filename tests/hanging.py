"""A user's workload whose build function never returns, for tests of limits and kills.

`write(folder, units=...)` puts `hangs.py` and `hangs.yaml` in `folder`: TinyRegression,
except that the first trial with `hang: true` writes its pid to $HANG_MARKER and never
returns (later ones train), so a test knows which process to kill or time out.
"""

from pathlib import Path

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
