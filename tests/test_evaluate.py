"""`tune evaluate`: retrain the best trial of a tiny real sine sweep and score it on the test split."""

import json

import numpy as np
import optuna
import pytest
from cheap import write_sine_dense
from typer.testing import CliRunner

from tuneyard.cli.main import app
from tuneyard.engine.sweep import Sweep, SweepOptions
from tuneyard.errors import StoreError
from tuneyard.evaluation.evaluate import EVALUATION_ATTR, classification_scores, evaluate_study, score
from tuneyard.workloads import Dataset

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """One real sine sweep (2 trials x 2 epochs on 120 windows, the workload's Dense form),
    shared by the module."""
    folder = tmp_path_factory.mktemp("evaluate")
    storage = f"sqlite:///{folder / 'store.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TUNEYARD_RESULTS_DIR", str(folder / "results"))
        Sweep(SweepOptions(space=write_sine_dense(folder), backend="tpe", trials=2, epochs=2, subset=120,
                           storage=storage, study="tiny")).run()
    return storage


@pytest.mark.slow
def test_evaluate_retrains_the_best_trial_and_stores_the_test_scores(sweep, results_in_tmp):
    study = optuna.load_study(study_name="tiny", storage=sweep)
    best = min((t for t in study.trials if t.value is not None), key=lambda t: t.value)
    result = evaluate_study("tiny", sweep)
    assert result["trial"] == best.number and result["task"] == "regression"
    assert result["retrained_value"] == pytest.approx(best.value, rel=0.05)
    assert np.isfinite(result["mse"]) and result["mse"] > 0
    assert 0 < result["noise_floor"] < result["mse"] + 0.05
    assert len(result["y_pred"]) == len(result["y_true"]) == result["test_samples"] > 100
    stored = optuna.load_study(study_name="tiny", storage=sweep).user_attrs[EVALUATION_ATTR]
    assert stored["mse"] == result["mse"]
    on_disk = json.loads((results_in_tmp / "tiny" / "evaluation.json").read_text())
    assert on_disk["mse"] == result["mse"]


@pytest.mark.slow
def test_cli_evaluate_prints_the_scores(sweep):
    result = CliRunner().invoke(app, ["evaluate", "tiny", "--storage", sweep])
    assert result.exit_code == 0, result.output
    assert "test MSE:" in result.output and "noise floor" in result.output


def test_classification_scores_per_class_and_confusion():
    scores = classification_scores(np.array([0, 0, 0, 1, 1, 2]), np.array([0, 0, 1, 1, 1, 1]),
                                   ["a", "b", "c"])
    assert scores["accuracy"] == pytest.approx(4 / 6)
    assert scores["confusion_matrix"] == [[2, 1, 0], [0, 2, 0], [0, 1, 0]]
    a, b, c = scores["per_class"]
    assert (a["precision"], a["recall"]) == (1.0, pytest.approx(2 / 3))
    assert (b["precision"], b["recall"]) == (0.5, 1.0)
    assert (c["precision"], c["recall"], c["support"]) == (0.0, 0.0, 1)


def test_score_of_a_classifier_uses_the_argmax_and_class_names():
    y = np.array([0, 1, 1])
    data = Dataset(y, y, y, y, y, y, info={"class_names": ["no", "yes"]})
    out = score("classification", data, np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]]))
    assert out["class_names"] == ["no", "yes"] and out["accuracy"] == pytest.approx(2 / 3)


@pytest.mark.slow  # uses the module's trained sweep: trains it when run alone
def test_bad_input(sweep, tmp_path):
    storage = f"sqlite:///{tmp_path / 'other.db'}"
    optuna.create_study(storage=storage, study_name="empty")
    with pytest.raises(StoreError, match="no completed trial"):
        evaluate_study("empty", storage)
    result = CliRunner().invoke(app, ["evaluate", "nope", "--storage", storage])
    assert result.exit_code == 2 and "studies there: empty" in result.output
