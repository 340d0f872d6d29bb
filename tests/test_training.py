"""The trainer on real Keras training of the sine workload (tiny, 1-3 epochs), in its Dense
form (lstm_layers 0): what is tested is the trainer, and an LSTM's graph takes seconds to trace."""

import math

import pytest

from tuneyard.engine.training import Trainer, execution_seed
from tuneyard.records.trial import COMPLETE, FAIL, Proposal
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
  lstm_layers: {type: int, low: 0, high: 2}
  units: {type: int, low: 8, high: 32, step: 8}
"""
PARAMS = {"learning_rate": 1e-2, "optimizer": "adam", "dropout": 0.0, "l2": 1e-6,
          "lstm_layers": 0, "units": 8}


def trainer(executions=1, patience=0, subset=200):
    space = parse_space(SPACE % (executions, patience))
    workload = get_workload("sine_lstm")
    data = workload.load(subset=subset, seed=0, validation_split=0.2, window=20)
    return Trainer(space, workload, data, seed=0)


@pytest.mark.slow
def test_a_trial_keeps_its_full_history_and_best_epoch_objective():
    result = trainer().run(Proposal(params=PARAMS, epochs=3))
    assert result.status == COMPLETE
    assert len(result.history["val_mse"]) == 3 and len(result.history["loss"]) == 3
    assert result.value == pytest.approx(min(result.history["val_mse"]))
    assert result.epochs_run == 3 and result.seconds > 0 and len(result.seeds) == 1


def curves_callback():
    """A Keras callback noting each execution's objective per epoch, as Keras hands it over."""
    import keras

    class Curves(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.runs: list[list[float]] = []

        def on_train_begin(self, logs=None):
            self.runs.append([])

        def on_epoch_end(self, epoch, logs=None):
            self.runs[-1].append(float(logs["val_mse"]))

    return Curves()


@pytest.mark.slow
def test_repeats_use_their_own_seeds_and_the_value_is_the_mean_of_their_best_epochs():
    curves = curves_callback()
    result = trainer(executions=2).run(Proposal(params=PARAMS, epochs=2), [curves])
    assert result.status == COMPLETE
    assert result.seeds == [execution_seed(0, PARAMS, 0), execution_seed(0, PARAMS, 1)]
    first, second = curves.runs
    assert len(first) == len(second) == 2 and first != second  # two different runs
    assert result.epochs_run == 4
    assert result.value == pytest.approx((min(first) + min(second)) / 2, rel=1e-9)
    assert result.metrics["val_mse"] == result.value
    # Neither execution alone is the recorded value: it is their average.
    assert result.value not in (pytest.approx(min(first)), pytest.approx(min(second)))
    mean_curve = [(a + b) / 2 for a, b in zip(first, second, strict=True)]
    assert result.history["val_mse"] == pytest.approx(mean_curve, rel=1e-9)


@pytest.mark.slow
def test_same_seed_same_result():
    first = trainer().run(Proposal(params=PARAMS, epochs=1))
    again = trainer().run(Proposal(params=PARAMS, epochs=1))
    assert first.value == pytest.approx(again.value, rel=1e-5)


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_trial_that_fails_mid_training_reports_the_epochs_it_trained():
    import keras

    class FailsAtTheThirdEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 2:
                raise RuntimeError("disk full")

    result = trainer().run(Proposal(params=PARAMS, epochs=5), [FailsAtTheThirdEpoch()])
    assert result.status == FAIL and "disk full" in result.error
    assert result.epochs_run == 3  # a race's epoch budget pays for them


@pytest.mark.slow
def test_early_stopping_on_the_objective_stops_a_run_that_stopped_improving():
    jumpy = {**PARAMS, "learning_rate": 0.5}
    result = trainer(patience=1).run(Proposal(params=jumpy, epochs=30))
    val = result.history["val_mse"]
    assert result.status == COMPLETE and result.epochs_run == len(val) < 30
    assert val[-1] >= min(val[:-1])  # it stopped because the objective did not improve


@pytest.mark.slow
@pytest.mark.parametrize("owned", [False, True], ids=["users-process", "tuneyards-process"])
def test_a_finished_trials_model_is_freed_before_the_next_trial_trains(owned, monkeypatch):
    import weakref

    import keras

    from tuneyard.engine import heap

    if owned:  # a freeze before every trial (engine/heap.py) must not keep the last model
        monkeypatch.setattr(heap, "_owned", [True])
        monkeypatch.setattr(heap, "NEW_MODULES", 0)

    models: list = []
    alive_at_start: list = []

    class Watch(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            alive_at_start.append(sum(ref() is not None for ref in models))
            models.append(weakref.ref(self.model))

    run = trainer()
    for _ in range(3):
        assert run.run(Proposal(params=PARAMS, epochs=1), [Watch()]).status == COMPLETE
    # Each trial starts with no earlier trial's model alive: the trainer keeps none, and
    # clear_session() (with its garbage collection) drops the ones held in cycles.
    assert alive_at_start == [0, 0, 0]


def test_best_weights_copies_only_an_epoch_that_could_be_saved():
    """The study's best is 0.5 (val_mse, minimised): an epoch that does not beat it is not
    copied; one that does is, and stays the kept one while later epochs are worse."""
    import keras
    import numpy as np

    from tuneyard.engine.training import _BestWeights

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    keep = _BestWeights("val_mse", maximize=False, beat=0.5)
    keep.set_model(model)

    def set_all(value):
        model.set_weights([np.full(w.shape, value, w.dtype) for w in model.get_weights()])

    set_all(1.0)
    keep.on_epoch_end(0, {"val_mse": 0.7})  # the best so far, but not the study's best
    assert keep.best == 0.7 and keep.best_weights is None
    set_all(2.0)
    keep.on_epoch_end(1, {"val_mse": float("nan")})  # never the best
    keep.on_epoch_end(2, {"val_mse": 0.4})
    set_all(3.0)
    keep.on_epoch_end(3, {"val_mse": 0.45})  # worse than epoch 2: epoch 2 stays
    assert keep.best == 0.4
    assert all(np.all(w == 2.0) for w in keep.best_weights)

    unbounded = _BestWeights("val_mse", maximize=False)  # no study's best yet: any epoch
    unbounded.set_model(model)
    unbounded.on_epoch_end(0, {"val_mse": 0.7})
    assert all(np.all(w == 3.0) for w in unbounded.best_weights)


@pytest.mark.slow
def test_a_trial_below_the_studys_best_saves_no_model_and_one_above_does(tmp_path):
    run, path = trainer(), tmp_path / "best.keras"
    below = run.run(Proposal(params=PARAMS, epochs=2, save_best_to=str(path), beat=0.0))
    assert below.status == COMPLETE and below.saved_model is None and not path.exists()
    above = run.run(Proposal(params=PARAMS, epochs=2, save_best_to=str(path), beat=1e9))
    assert above.status == COMPLETE and above.saved_model == str(path) and path.is_file()


@pytest.mark.slow
@pytest.mark.parametrize("earlier", [None, ".weights.h5", ".keras"])
def test_a_warm_start_continues_with_the_parents_weights_and_optimizer_state(tmp_path, earlier):
    import keras

    from tuneyard.checkpoint import load_checkpoint

    def state(model):
        return [*model.get_weights(), *(v.numpy() for v in model.optimizer.variables)]

    class Probe(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.start = state(self.model)
            self.steps = int(self.model.optimizer.iterations.numpy())

        def on_train_end(self, logs=None):
            self.end = state(self.model)

    run, parent_probe, child_probe = trainer(), Probe(), Probe()
    saved = str(tmp_path / "parent.ckpt")  # Hyperband's weights and optimizer state
    parent = run.run(Proposal(params=PARAMS, epochs=2, save_to=saved), [parent_probe])
    if earlier:  # what an earlier tuneyard wrote: Keras' weights file, or a whole model
        model = run.workload.build_model(PARAMS, run.dataset, run.options)
        load_checkpoint(model, saved)
        saved = str(tmp_path / f"parent{earlier}")
        model.save(saved) if earlier == ".keras" else model.save_weights(saved)
    child = run.run(Proposal(params=PARAMS, epochs=3, initial_epoch=2, warm_start=saved),
                    [child_probe])
    assert parent.status == child.status == COMPLETE and len(child.history["loss"]) == 1
    steps_per_epoch = -(-len(run.dataset.x_train) // 64)
    assert child_probe.steps == 2 * steps_per_epoch  # Adam's step count came back
    # ... and its moments, with the weights: every array exactly as the parent ended.
    assert len(child_probe.start) == len(parent_probe.end)
    assert all((a == b).all() for a, b in zip(child_probe.start, parent_probe.end, strict=True))
