"""Pruned trials with real Keras on a tiny sine: PRUNED in the leaderboard with the epochs run.

A ThresholdPruner that gives up on every trial after its second epoch makes the
outcome certain; with --workers 2 the worker processes report to the Optuna trial
through the storage themselves.
"""

import optuna
import pytest

from tuneyard.engine.sweep import Sweep, SweepOptions


@pytest.mark.parametrize("workers", [1, 2])
def test_a_pruned_trial_shows_pruned_with_the_epochs_it_ran(workers):
    options = SweepOptions(space="sine_lstm", backend="tpe", trials=2, epochs=4, subset=200,
                           prune="median", workers=workers, study=f"pruned-{workers}")
    # val_mse is always above 0: every trial is pruned at step 1, after 2 epochs.
    pruner = optuna.pruners.ThresholdPruner(upper=0.0, n_warmup_steps=1)
    sweep = Sweep(options, pruner=pruner)
    frame = sweep.run()
    assert list(frame["status"]) == ["PRUNED", "PRUNED"]
    assert list(frame["epochs"]) == [2, 2]
    for trial in sweep.store.trials():
        assert trial.state.name == "PRUNED" and sorted(trial.intermediate_values) == [0, 1]
    assert sweep.csv_path.read_text().count("PRUNED") == 2
