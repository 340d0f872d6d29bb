"""Pruning with real Keras on a tiny sine.

Through the runner: a ThresholdPruner that gives up on every trial after its second
epoch makes the outcome certain, and the trial is PRUNED in the leaderboard with the
epochs it ran; with --workers 2 the worker processes report to the Optuna trial
through the storage themselves.

The median pruner itself (`make_pruner("median")`): a real Optuna study in a SQLite
file holds earlier complete curves placed around the trial's own (seeded, so it
repeats) curve, and tuneyard's pruning callback reports each epoch of a real fit.
"""

import optuna
import pytest
from cheap import write_sine_dense

from tuneyard.engine.pruning import make_pruner, pruning_callback
from tuneyard.engine.sweep import Sweep, SweepOptions
from tuneyard.records.trial import Proposal

pytestmark = pytest.mark.slow  # every test here trains or takes over a second


@pytest.mark.parametrize("workers", [1, 2])
def test_a_pruned_trial_shows_pruned_with_the_epochs_it_ran(workers, tmp_path):
    options = SweepOptions(space=write_sine_dense(tmp_path), backend="tpe", trials=2, epochs=4, subset=200,
                           prune="median", workers=workers, study=f"pruned-{workers}")
    # val_mse is always above 0: every trial is pruned at step 1, after 2 epochs.
    pruner = optuna.pruners.ThresholdPruner(upper=0.0, n_warmup_steps=1)
    sweep = Sweep(options, pruner=pruner)
    frame = sweep.run().leaderboard
    assert list(frame["status"]) == ["PRUNED", "PRUNED"]
    assert list(frame["epochs"]) == [2, 2]
    for trial in sweep.store.trials():
        assert trial.state.name == "PRUNED" and sorted(trial.intermediate_values) == [0, 1]
    assert sweep.csv_path.read_text().count("PRUNED") == 2


SINE = """\
workload: sine_lstm
objective: {metric: val_mse, direction: minimize}
training: {epochs: 2, batch_size: 64, validation_split: 0.2}
fixed: {window: 20, lstm_layers: 0}  # Dense on the window: an LSTM's graph takes seconds to trace
hyperparameters:
  learning_rate: {type: float, low: 1.0e-4, high: 1.0e-1, log: true}
  units: {type: int, low: 8, high: 32, step: 8}
"""
PARAMS = {"learning_rate": 1e-2, "units": 8}


@pytest.fixture(scope="module")
def sine_trainer():
    from tuneyard.engine.training import Trainer
    from tuneyard.space.file import parse_space
    from tuneyard.workloads import get_workload

    workload = get_workload("sine_lstm")
    data = workload.load(subset=200, seed=0, validation_split=0.2, window=20)
    return Trainer(parse_space(SINE), workload, data, seed=0)


@pytest.fixture(scope="module")
def curve(sine_trainer):
    """The objective per epoch of PARAMS, unpruned (the trainer is seeded: it repeats)."""
    result = sine_trainer.run(Proposal(params=PARAMS, epochs=2))
    assert result.status == "COMPLETE"
    return result.history["val_mse"]


def judged(tmp_path, trainer, earlier: list[list[float]]):
    """Run PARAMS under the median pruner of a SQLite study holding `earlier` complete curves."""
    storage = f"sqlite:///{tmp_path / 'median.db'}"
    study = optuna.create_study(storage=storage, study_name="median", direction="minimize",
                                pruner=make_pruner("median", max_epochs=2))
    for values in earlier:
        study.add_trial(optuna.trial.create_trial(
            value=min(values), intermediate_values=dict(enumerate(values))))
    trial = study.ask()
    callback = pruning_callback(trial, "val_mse")
    result = trainer.run(Proposal(params=PARAMS, epochs=2), [callback])
    stored = optuna.load_study(study_name="median", storage=storage).trials[-1]
    return result, callback, stored.intermediate_values


# Five earlier curves whose median at a step is 2% better (lower) or worse than the trial's.
BETTER_MEDIAN = [0.9, 0.95, 0.98, 1.05, 1.1]  # the trial beats 2 of 5, loses to the median
WORSE_MEDIAN = [0.9, 0.95, 1.02, 1.05, 1.1]  # the trial loses to 2 of 5, beats the median


def test_the_median_pruner_stops_a_trial_worse_than_the_median_at_the_same_step(
        tmp_path, sine_trainer, curve):
    # At epoch 0 the trial beats the earlier median, at epoch 1 it is worse than it.
    earlier = [[w * curve[0], b * curve[1]] for w, b in zip(WORSE_MEDIAN, BETTER_MEDIAN, strict=True)]
    result, callback, reported = judged(tmp_path, sine_trainer, earlier)
    assert callback.pruned and result.status == "PRUNED"
    assert result.epochs_run == 2  # judged after each epoch; stopped once it fell behind
    assert reported == pytest.approx({0: curve[0], 1: curve[1]}, rel=1e-5)


def test_the_median_pruner_keeps_a_trial_better_than_the_median_at_every_step(
        tmp_path, sine_trainer, curve):
    earlier = [[w * curve[0], w * curve[1]] for w in WORSE_MEDIAN]
    result, callback, reported = judged(tmp_path, sine_trainer, earlier)
    assert not callback.pruned and result.status == "COMPLETE" and result.epochs_run == 2
    assert sorted(reported) == [0, 1]


def test_the_median_pruner_first_waits_for_five_complete_curves(tmp_path, sine_trainer, curve):
    earlier = [[b * curve[0], b * curve[1]] for b in BETTER_MEDIAN[:4]]
    result, callback, _ = judged(tmp_path, sine_trainer, earlier)
    assert not callback.pruned and result.status == "COMPLETE"
