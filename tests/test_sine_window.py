"""The sine window as a hyperparameter, and the best linear filter on a window (the bound)."""

import numpy as np
import pytest

from tuneyard.engine.training import Trainer
from tuneyard.records.trial import COMPLETE, Proposal
from tuneyard.space.file import load_space
from tuneyard.workloads import get_workload
from tuneyard.workloads.sine import fitted_filter, linear_bound, window_bound

keras = pytest.importorskip("keras")
SINE = get_workload("sine_lstm")


@pytest.fixture(scope="module")
def wide():
    return SINE.load(seed=0, validation_split=0.2, max_window=100)


def test_samples_hold_the_longest_window_and_every_window_predicts_the_same_targets(wide):
    assert wide.info["window"] == 100 and wide.x_train.shape[1:] == (100, 1)
    same = SINE.load(seed=0, validation_split=0.2, window=100)
    np.testing.assert_array_equal(same.y_val, wide.y_val)
    # A fixed window alone still windows to it, as the course's spaces do.
    assert SINE.load(seed=0, window=20).x_train.shape[1:] == (20, 1)


def test_a_shorter_window_sees_only_the_last_values(wide):
    keras.utils.set_random_seed(0)
    params = {"units": 8, "lstm_layers": 1, "window": 30}
    model = SINE.build_model(params, wide, {"batch_size": 32})
    assert any(isinstance(layer, keras.layers.Cropping1D) for layer in model.layers)
    x = wide.x_val[:4].copy()
    changed = x.copy()
    changed[:, :70] += 5.0  # older than the window: must not matter
    np.testing.assert_allclose(model.predict(x, verbose=0), model.predict(changed, verbose=0))
    changed[:, -1] += 5.0  # inside it: must
    assert not np.allclose(model.predict(x, verbose=0), model.predict(changed, verbose=0))
    full = SINE.build_model({**params, "window": 100}, wide, {"batch_size": 32})
    assert not any(isinstance(layer, keras.layers.Cropping1D) for layer in full.layers)


def test_a_window_longer_than_the_samples_is_refused_naming_max_window(wide):
    with pytest.raises(ValueError, match="max_window"):
        SINE.build_model({"units": 8, "window": 120}, wide, {"batch_size": 32})


@pytest.mark.slow
def test_the_linear_bound_falls_with_the_window_and_stays_above_the_floor(wide):
    floor = wide.info["noise_floor_val"]
    bounds = {w: window_bound(wide, w) for w in (20, 50, 100)}
    assert floor < bounds[100] < bounds[20]
    assert bounds[20] / floor - 1 > 0.10  # a 20-value window cannot come near the floor
    # Fitted on the ~720 training windows alone, a 100-value filter overfits: it scores well
    # above the filter fitted on 100,000 windows, and near or above the 20-value one.
    fitted = {w: fitted_filter(wide, w) for w in (20, 100)}
    assert fitted[100] > bounds[100] * 1.05 and fitted[20] > bounds[20]
    # On the last `window` values, the same number the race computes on its own windows.
    narrow = SINE.load(seed=0, validation_split=0.2, window=20)
    assert bounds[20] == pytest.approx(linear_bound(20, narrow.x_val[-len(wide.y_val):],
                                                    wide.y_val))


@pytest.mark.slow
def test_the_window_space_trains_a_trial_of_its_own_window():
    space = load_space("sine_window")
    assert (space.param("window").low, space.param("window").high) == (20, 100)
    assert space.fixed["max_window"] == space.param("window").high
    data = SINE.load(seed=0, subset=200, validation_split=0.2, max_window=space.fixed["max_window"])
    params = {"window": 40, "units": 8, "lstm_layers": 1, "learning_rate": 1e-2,
              "lr_schedule": "cosine", "batch_size": 32}
    result = Trainer(space, SINE, data, seed=0).run(Proposal(params=params, epochs=2))
    assert result.status == COMPLETE, result.error
    assert len(result.history["val_mse"]) == 2 and result.value > 0


def test_the_race_table_gives_each_seeds_gap_to_the_linear_filter():
    from tuneyard.race.run import StudyRun
    from tuneyard.race.table import table, verdicts

    def run(entry, seed, values, bound):
        trials = [{"epochs": 5, "value": v, "status": "COMPLETE"} for v in values]
        return StudyRun(entry, seed, f"{entry}-{seed}", trials, 1.0, floor=0.010, bound=bound)

    runs = [run("tpe", 0, [0.0130, 0.0121], 0.0120), run("tpe", 1, [0.0119], 0.0110),
            run("grid", 0, [0.0140], 0.0120), run("grid", 1, [0.0111], 0.0110)]
    rows = {r["backend"]: r for r in table(runs, False, ["tpe", "grid"])}
    assert rows["tpe"]["vs_linear_per_seed"] == "+0.8%/+8.2%"
    assert rows["tpe"]["within_1pct_linear"] == "1/2"
    assert rows["grid"]["within_1pct_linear"] == "1/2"
    lines = verdicts(list(rows.values()), runs, {0: 0.010, 1: 0.010}, False, "val_mse",
                     bounds={0: 0.0120, 1: 0.0110})
    assert any(line.startswith("target 3") and line.endswith("NOT MET (every seed)") for line in lines)
    with_fit = verdicts(list(rows.values()), runs, {0: 0.010}, False, "val_mse", bounds={0: 0.0120},
                        fitted={0: 0.0125})
    assert "  fitted on the training split alone, that filter scores 0.01250 (+25.0% above the floor)" \
        in with_fit
    runs[1] = run("tpe", 1, [0.0111], 0.0110)
    rows = table(runs, False, ["tpe", "grid"])
    assert verdicts(rows, runs, {}, False, "val_mse")[-1].startswith("target 3, best backend tpe")
    assert "MET (every seed)" in verdicts(rows, runs, {}, False, "val_mse")[-1]
    # Off the sine series there is no bound: blank cells, no line.
    plain = [StudyRun("tpe", 0, "t", [{"epochs": 1, "value": 0.9, "status": "COMPLETE"}], 1.0)]
    assert table(plain, True, ["tpe"])[0]["within_1pct_linear"] == ""
    assert not any(line.startswith("target 3") for line in verdicts(table(plain, True, ["tpe"]), plain,
                                                                      {}, True, "val_accuracy"))


def test_a_trial_at_its_windows_linear_bound_is_told_the_window_not_the_search_limits_it():
    from tuneyard.analysis.diagnosis import at_linear_bound, diagnose

    d = diagnose({"loss": [0.02, 0.012, 0.0105], "val_loss": [0.02, 0.0125, 0.0112]})
    at = at_linear_bound(d, 0.00905, 0.0090, 20)
    assert at.label == d.label
    assert "within 1% of the best linear filter on a window of 20" in at.reason
    assert "longer window, not more search" in at.suggestion
    assert at.numbers["val_to_linear_bound"] == pytest.approx(0.00905 / 0.0090)
    away = at_linear_bound(d, 0.0100, 0.0090, 20)
    assert (away.reason, away.suggestion) == (d.reason, d.suggestion)
    assert "max_window" in at_linear_bound(d, 0.0089, 0.0090, 100, longest=True).suggestion


@pytest.mark.slow
def test_the_study_diagnosis_uses_the_trials_own_window():
    from tuneyard.analysis.trial_diagnosis import diagnose_trial, format_numbers, trial_diagnosis
    from tuneyard.space.file import space_text

    space = load_space("sine_window")
    config = {"workload": "sine_lstm", "seed": 0, "subset": None, "metric": "val_mse",
              "direction": "minimize", "space_text": space_text(space), "space_file": space.path}
    data = SINE.load(seed=0, validation_split=space.training.validation_split, max_window=100,
                     points=space.fixed.get("points", 1000))
    bound30 = window_bound(data, 30)
    history = {"mse": [0.03, 0.012, 0.0101], "val_mse": [0.03, 0.013, bound30 * 1.005]}
    attrs = {"history": history, "result": {"epochs": 3}}
    d = diagnose_trial(attrs, config, {"window": 30})
    assert "linear filter on a window of 30" in d.reason and "longer window" in d.suggestion
    # A curve ending below the bound of the longest window: at it, and no longer one to try.
    bound100 = window_bound(data, 100)
    below = {"history": {**history, "val_mse": [0.03, 0.013, bound100 * 0.995]}, "result": {"epochs": 3}}
    longest = diagnose_trial(below, config, {"window": 100})
    assert "below the best linear filter on a window of 100" in longest.reason
    assert "max_window" in longest.suggestion
    far = {"history": {**history, "val_mse": [0.03, 0.013, bound30 * 1.05]}, "result": {"epochs": 3}}
    assert "linear filter" not in diagnose_trial(far, config, {"window": 30}).reason
    # Without the trial's params the window is unknown: no guess.
    assert "linear filter" not in diagnose_trial(attrs, config).reason
    assert "window of 30" in trial_diagnosis(attrs, config, {"window": 30}).reason
    assert "+0.5% from the best linear filter on its window of 30" in format_numbers(d)
