"""`tune compare-regularisation`: baseline vs L2 vs dropout vs both, on tiny real data."""

import csv
import json

import matplotlib.image
import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial
from typer.testing import CliRunner

import tuneyard.cli.study  # noqa: F401  (registers compare-regularisation on the app)
from tuneyard.cli.main import app
from tuneyard.errors import TuneyardError
from tuneyard.evaluation.compare import summarise
from tuneyard.evaluation.regularisation import base_params, compare
from tuneyard.report.regularisation_figure import write
from tuneyard.workloads.sine import SineLstm

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture
def study(tmp_path):
    """A stored study whose best trial used adamw at 0.003."""
    storage = f"sqlite:///{tmp_path / 'store.db'}"
    s = optuna.create_study(storage=storage, study_name="best", direction="minimize")
    s.set_user_attr("tuneyard", {"space": "sine_lstm", "metric": "val_mse",
                                 "direction": "minimize", "subset": 120, "seed": 0})
    dists = {"learning_rate": FloatDistribution(1e-4, 1e-2, log=True),
             "optimizer": CategoricalDistribution(["adam", "adamw"])}
    for value, rate, opt in ((0.2, 1e-4, "adam"), (0.02, 3e-3, "adamw")):
        s.add_trial(create_trial(state=TrialState.COMPLETE, value=value, distributions=dists,
                                 params={"learning_rate": rate, "optimizer": opt}))
    return storage


@pytest.mark.slow
def test_compare_trains_four_variants_from_a_study(study, results_in_tmp):
    result = compare(study="best", storage=study, epochs=2)
    write(result)
    assert result.params == {**SineLstm.course_network, "learning_rate": 3e-3,
                             "optimizer": "adamw"}
    assert [(v.l2, v.dropout) for v in result.variants] == [
        (0.0, 0.0), (0.001, 0.0), (0.0, 0.5), (0.001, 0.5)]
    for variant in result.variants:
        assert len(variant.history["loss"]) == 2 and len(variant.history["val_loss"]) == 2
        assert np.isfinite(variant.summary["loss_gap"]) and variant.summary["diagnosis"]
        # Scored on the held-out test split, every variant from the same seed.
        # On the wave's scale: over the noise variance (0.01, less 3 standard errors of the
        # test split's) and under about 0.51, what predicting 0 scores on sin(t).
        assert 0.007 < variant.summary["test_mse"] < 1.0
        assert variant.seeds == result.variants[0].seeds
    assert result.folder == results_in_tmp / "best" / "regularisation"
    image = matplotlib.image.imread(result.folder / "comparison.png")
    assert image.shape[1] > 600 and float(np.std(image[..., :3])) > 0.02
    rows = list(csv.reader(open(result.folder / "comparison.csv")))
    assert rows[0][:2] == ["variant", "train_loss"] and len(rows) == 5
    written = json.loads((result.folder / "comparison.json").read_text())["variants"]
    assert [(v["l2"], v["dropout"]) for v in written] == [(0.0, 0.0), (0.001, 0.0), (0.0, 0.5),
                                                          (0.001, 0.5)]
    page = (result.folder / "index.html").read_text()
    assert "data:image/png;base64," in page and "<table>" in page


def test_base_params_pick_the_given_then_the_study_then_the_default_rate():
    assert base_params("mnist_mlp", None, None) == {"num_layers": 1, "units_1": 128,
                                                    "learning_rate": 1e-3, "optimizer": "adam"}
    assert base_params("mnist_mlp", 0.01, {"learning_rate": 1e-4})["learning_rate"] == 0.01
    assert base_params("mnist_mlp", None, {"learning_rate": 1e-4})["learning_rate"] == 1e-4


def test_summarise_gaps():
    out = summarise({"loss": [1.0, 0.5], "val_loss": [1.0, 0.75], "accuracy": [0.5, 0.9],
                     "val_accuracy": [0.5, 0.8]}, "val_accuracy")
    assert out["loss_gap"] == 0.25 and out["loss_gap_pct"] == 50.0
    assert out["accuracy_gap"] == pytest.approx(0.1) and out["best_val_accuracy"] == 0.8
    out = summarise({"loss": [1.0, 0.5], "val_loss": [1.0, 0.75], "mse": [1.0, 0.5],
                     "val_mse": [0.9, 0.75]}, "val_mse")
    assert out["mse_gap"] == 0.25 and out["best_val_mse"] == 0.75


@pytest.mark.parametrize("kwargs, text", [
    ({"l2": 0.0}, "--l2 > 0"), ({"dropout": 1.0}, "--dropout < 1"),
    ({"epochs": 1}, "at least 2"), ({}, "give --space NAME or --study STUDY")])
def test_bad_input(kwargs, text):
    with pytest.raises(TuneyardError, match=text):
        compare(**kwargs)


def test_cli_bad_input_exit_2(tmp_path):
    storage = f"sqlite:///{tmp_path / 'x.db'}"
    result = CliRunner().invoke(app, ["compare-regularisation", "--study", "nope",
                                      "--storage", storage])
    assert result.exit_code == 2 and "no study 'nope'" in result.output
    result = CliRunner().invoke(app, ["compare-regularisation", "--space", "sine_lstm",
                                      "--learning-rate", "-1"])
    assert result.exit_code == 2 and "--learning-rate must be > 0" in result.output

