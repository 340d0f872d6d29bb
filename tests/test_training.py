"""The trainer on real Keras training of the sine workload (tiny, 1-3 epochs)."""

import math

import pytest

from tuneyard.engine.proposal import COMPLETE, FAIL, Proposal
from tuneyard.engine.training import Trainer, execution_seed
from tuneyard.space.file import parse_space
from tuneyard.workloads import get_workload

SPACE = """\
workload: sine_lstm
objective: {metric: val_mse, direction: minimize}
training: {epochs: 2, batch_size: 64, executions_per_trial: %d, patience: %d, validation_split: 0.2}
fixed: {window: 20}
hyperparameters:
  learning_rate: {type: float, low: 1.0e-4, high: 1.0e+3, log: true}
  optimizer: {type: choice, values: [adam, sgd]}
  dropout: {type: float, low: 0.0, high: 0.5}
  l2: {type: float, low: 1.0e-6, high: 1.0e-2, log: true}
  lstm_layers: {type: int, low: 1, high: 2}
  units: {type: int, low: 8, high: 32, step: 8}
"""
PARAMS = {"learning_rate": 1e-2, "optimizer": "adam", "dropout": 0.0, "l2": 1e-6,
          "lstm_layers": 1, "units": 8}


def trainer(executions=1, patience=0, subset=200):
    space = parse_space(SPACE % (executions, patience))
    workload = get_workload("sine_lstm")
    data = workload.load(subset=subset, seed=0, validation_split=0.2, window=20)
    return Trainer(space, workload, data, seed=0)


def test_a_trial_keeps_its_full_history_and_best_epoch_objective():
    result = trainer().run(Proposal(params=PARAMS, epochs=3))
    assert result.status == COMPLETE
    assert len(result.history["val_mse"]) == 3 and len(result.history["loss"]) == 3
    assert result.value == pytest.approx(min(result.history["val_mse"]))
    assert result.epochs_run == 3 and result.seconds > 0 and len(result.seeds) == 1


def test_repeats_use_their_own_seeds_and_are_averaged():
    result = trainer(executions=2).run(Proposal(params=PARAMS, epochs=1))
    assert len(set(result.seeds)) == 2
    assert result.epochs_run == 2
    assert result.seeds == [execution_seed(0, PARAMS, 0), execution_seed(0, PARAMS, 1)]


def test_same_seed_same_result():
    first = trainer().run(Proposal(params=PARAMS, epochs=1))
    again = trainer().run(Proposal(params=PARAMS, epochs=1))
    assert first.value == pytest.approx(again.value, rel=1e-5)


def test_a_nan_loss_ends_the_trial_as_failed_with_its_reason():
    wild = {**PARAMS, "optimizer": "sgd", "learning_rate": 1e3, "units": 32}
    result = trainer().run(Proposal(params=wild, epochs=3))
    assert result.status == FAIL
    losses = result.history["loss"]
    assert len(losses) < 3 and not math.isfinite(losses[-1])  # stopped at the first bad epoch
    assert result.error == f"loss became {losses[-1]} at epoch {len(losses)}: the model diverged"
    assert result.value is None


def test_an_exception_in_a_trial_is_a_failed_result_not_a_crash():
    broken = {**PARAMS, "optimizer": "lion"}
    result = trainer().run(Proposal(params=broken, epochs=1))
    assert result.status == FAIL and "ValueError" in result.error and "optimizer" in result.error


def test_early_stopping_on_the_objective_stops_a_run_that_stopped_improving():
    jumpy = {**PARAMS, "learning_rate": 0.5}
    result = trainer(patience=1).run(Proposal(params=jumpy, epochs=30))
    val = result.history["val_mse"]
    assert result.status == COMPLETE and result.epochs_run == len(val) < 30
    assert val[-1] >= min(val[:-1])  # it stopped because the objective did not improve


def test_memory_is_released_between_trials():
    import keras

    run = trainer()
    for _ in range(3):
        run.run(Proposal(params=PARAMS, epochs=1))
    # clear_session() before each trial drops the previous graph and resets Keras'
    # name counter: only the last trial's single LSTM layer is counted.
    assert keras.backend.get_uid("lstm") == 2


def test_a_warm_start_continues_with_the_parents_weights_and_optimizer_state(tmp_path):
    import keras

    class Probe(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.steps = int(self.model.optimizer.iterations.numpy())
            self.weights = [w.copy() for w in self.model.get_weights()]

    run = trainer()
    saved = str(tmp_path / "parent.keras")
    parent = run.run(Proposal(params=PARAMS, epochs=2, save_to=saved))
    probe = Probe()
    child = run.run(Proposal(params=PARAMS, epochs=3, initial_epoch=2, warm_start=saved), [probe])
    assert parent.status == child.status == COMPLETE and len(child.history["loss"]) == 1
    steps_per_epoch = -(-len(run.dataset.x_train) // 64)
    assert probe.steps == 2 * steps_per_epoch  # Adam's step count (and moments) came back
    reloaded = keras.models.load_model(saved)
    assert all((a == b).all() for a, b in zip(probe.weights, reloaded.get_weights(), strict=True))
