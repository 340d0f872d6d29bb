"""A cheap objective with no TensorFlow, for running backends through the real runner and store."""

import math
import sys

from tuneyard.testing import InstantTrainer

SPACE = """\
name: cheap
workload: tuneyard.testing:TinyRegression
objective: {metric: val_mse, direction: minimize}
training: {epochs: 3, batch_size: 16, max_epochs: 9, factor: 3}
hyperparameters:
  learning_rate: {type: float, low: 1.0e-4, high: 1.0e-1, log: true, grid: [1.0e-4, 1.0e-3, 1.0e-2]}
  optimizer: {type: choice, values: [adam, sgd, rmsprop]}
  layers: {type: int, low: 1, high: 2}
  units_2: {type: int, low: 32, high: 96, step: 32, when: {layers: [2]}}
"""


def formula(p: dict) -> float:
    """The cheap space's objective: best near learning_rate 10**-2.5 with adam."""
    base = (math.log10(p["learning_rate"]) + 2.5) ** 2 + 0.1 * (p["optimizer"] != "adam")
    return base + 0.01 * p.get("units_2", 0) / 32


def tensorflow_loaded(params: dict) -> bool:
    """A failure rule: the trial fails in a process that has imported TensorFlow (a worker
    of a stand-in trainer should not pay for it)."""
    return "tensorflow" in sys.modules


class CheapTrainer(InstantTrainer):
    """tuneyard.testing's InstantTrainer on the cheap formula; optionally interrupts on cue."""

    def __init__(self, fail_when=None, interrupt_at=None, in_worker_processes=False):
        super().__init__(formula, metric="val_mse", fail_when=fail_when,
                         in_worker_processes=in_worker_processes)
        self.interrupt_at = interrupt_at

    def run(self, proposal, callbacks=None):
        if self.interrupt_at is not None and len(self.calls) + 1 == self.interrupt_at:
            self.calls.append(proposal)
            raise KeyboardInterrupt
        result = super().run(proposal, callbacks)
        if result.status == "FAIL":
            result.error = "ValueError: cheap failure"
        return result
