"""A promoted Hyperband trial continues its parent's model: real Keras training on the sine series."""

import math

import pytest

from tuneyard.checkpoint import load_checkpoint
from tuneyard.engine.sweep import Sweep, SweepOptions

pytestmark = pytest.mark.slow

# sine_lstm made small: its Dense form (lstm_layers 0; an LSTM's graph takes seconds to trace),
# 16 units over windows of 10, only the learning rate searched.
TINY_SINE = """\
name: tiny_sine
workload: sine_lstm
objective: {metric: val_mse, direction: minimize}
training: {epochs: 3, batch_size: 32, patience: 0, validation_split: 0.2, max_epochs: 3, factor: 3}
fixed: {window: 10, lstm_layers: 0, units: 16, optimizer: adam}
hyperparameters:
  learning_rate: {type: float, low: 3.0e-3, high: 3.0e-2, log: true}
"""


class Probing:
    """Wraps the real trainer: before a warm start, evaluates the model it will load."""

    def __init__(self, inner):
        self.inner, self.calls, self.probes = inner, [], {}

    def run(self, proposal, callbacks=None):
        if proposal.warm_start:
            data = self.inner.dataset
            # A checkpoint holds weights and optimizer state: the same builder makes the model.
            loaded = self.inner.workload.build_model(proposal.params, data, self.inner.options)
            load_checkpoint(loaded, proposal.warm_start)
            fresh = self.inner.workload.build_model(proposal.params, data, self.inner.options)
            self.probes[proposal.extra["kt_trial"]] = {
                "loaded": float(loaded.evaluate(data.x_val, data.y_val, verbose=0)[0]),
                "loaded_train": float(loaded.evaluate(data.x_train, data.y_train, verbose=0)[0]),
                "fresh_train": float(fresh.evaluate(data.x_train, data.y_train, verbose=0)[0]),
                "fresh_val": float(fresh.evaluate(data.x_val, data.y_val, verbose=0)[0]),
            }
        result = self.inner.run(proposal, callbacks)
        self.calls.append((proposal, result))
        return result


class ProbingSweep(Sweep):
    def _trainer(self):
        self.probing = Probing(super()._trainer())
        return self.probing


def test_a_promoted_trial_starts_from_its_parents_weights_and_epoch(tmp_path):
    space = tmp_path / "tiny_sine.yaml"
    space.write_text(TINY_SINE)
    sweep = ProbingSweep(SweepOptions(space=str(space), backend="hyperband", subset=400, seed=1, trials=4,
                                      backend_options={"max_epochs": 3, "factor": 3}))
    frame = sweep.run().leaderboard
    # max_epochs 3, factor 3: three 1-epoch trials, then the best promoted to 3 epochs
    # (the last bracket, two 3-epoch trials, is left out to keep the test short).
    assert len(frame) == 4
    calls = sweep.probing.calls
    by_number = {p.trial.number: (p, r) for p, r in calls}  # `parent` is a trial number
    promoted = [(p, r) for p, r in calls if p.extra["parent"] is not None]
    assert len(promoted) == 1
    child, child_result = promoted[0]
    parent, parent_result = by_number[child.extra["parent"]]
    assert (child.initial_epoch, child.epochs) == (1, 3) and parent.epochs == 1
    assert child_result.epochs_run == 2  # epochs 2 and 3 only
    # The loaded model is the parent's trained one: same validation loss to rounding.
    probe = sweep.probing.probes[child.extra["kt_trial"]]
    assert math.isclose(probe["loaded"], parent_result.history["val_loss"][-1], rel_tol=1e-3)
    # Its first epoch's loss is near where the parent left off, not an untrained model's.
    first = child_result.history["loss"][0]
    assert abs(first - probe["loaded_train"]) < abs(first - probe["fresh_train"]) / 2
    assert not math.isclose(probe["loaded"], probe["fresh_val"], rel_tol=0.05)
    assert list((sweep.folder / "kt" / "models").iterdir()) == []  # bracket done: freed
    row = frame[frame["x_kt_trial"] == child.extra["kt_trial"]].iloc[0]
    assert (row["x_bracket"], row["x_round"], row["x_hb_epochs"], row["epochs"]) == (1, 1, 3, 2)
