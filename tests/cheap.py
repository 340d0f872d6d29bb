"""A cheap objective with no TensorFlow, for running backends through the real runner and store."""

import math

from tuneyard.proposal import COMPLETE, FAIL, Proposal, TrialResult

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


def never(params) -> bool:
    """The default failure rule: no proposal fails."""
    return False


class CheapTrainer:
    """Scores a proposal with a formula; optionally fails or interrupts on cue."""

    def __init__(self, fail_when=None, interrupt_at=None):
        self.fail_when = fail_when or never  # module-level: --workers pickles the trainer
        self.interrupt_at = interrupt_at
        self.calls: list[Proposal] = []

    def run(self, proposal: Proposal, callbacks=None) -> TrialResult:
        self.calls.append(proposal)
        if self.interrupt_at is not None and len(self.calls) == self.interrupt_at:
            raise KeyboardInterrupt
        if self.fail_when(proposal.params):
            return TrialResult(status=FAIL, error="ValueError: cheap failure", epochs_run=1)
        p = proposal.params
        base = (math.log10(p["learning_rate"]) + 2.5) ** 2 + 0.1 * (p["optimizer"] != "adam")
        base += 0.01 * p.get("units_2", 0) / 32
        epochs = range(proposal.initial_epoch, proposal.epochs)
        curve = [base + 1.0 / (e + 1) for e in epochs]
        history = {"loss": curve, "val_loss": curve, "val_mse": curve}
        return TrialResult(status=COMPLETE, value=min(curve), metrics={"val_mse": min(curve)},
                           history=history, epochs_run=len(curve), seconds=0.001)
