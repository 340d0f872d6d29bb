"""The stand-in trainer of the Ray benches: a trial that sleeps (no CPU), then scores a formula.

Importable by worker processes and Ray actors (the benches put bench/ on PYTHONPATH).
"""

from __future__ import annotations

import math
import os
import time

from tuneyard.testing import InstantTrainer

SPACE = """\
name: sleepy
workload: tuneyard.testing:TinyRegression
objective: {metric: val_mse, direction: minimize}
training: {epochs: 3, batch_size: 16}
hyperparameters:
  learning_rate: {type: float, low: 1.0e-4, high: 1.0e-1, log: true, grid: [1.0e-4, 1.0e-3, 1.0e-2, 1.0e-1]}
  optimizer: {type: choice, values: [adam, sgd, rmsprop]}
  units: {type: int, low: 16, high: 64, step: 16}
"""


def formula(p: dict) -> float:
    """Best near learning_rate 10**-2.5 with adam."""
    return (math.log10(p["learning_rate"]) + 2.5) ** 2 + 0.1 * (p["optimizer"] != "adam") + p["units"] / 640


class SleepTrainer(InstantTrainer):
    """Sleeps `seconds` a trial; its metrics say when it ran (`t_start`, `t_end`) and the
    CUDA_VISIBLE_DEVICES its process had (`seen_gpu`, -1 for none)."""

    def __init__(self, seconds: float):
        super().__init__(formula, metric="val_mse", in_worker_processes=True)
        self.seconds = seconds

    def run(self, proposal, callbacks=None):
        start = time.time()
        time.sleep(self.seconds)
        result = super().run(proposal, callbacks)
        result.metrics.update(t_start=start, t_end=time.time(),
                              seen_gpu=float(os.environ.get("CUDA_VISIBLE_DEVICES") or "-1"))
        return result
