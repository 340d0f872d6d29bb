"""`tune compare --vary NAME=V1,V2`: one factor changed, the rest held, on tiny real data."""

import csv
import json

import matplotlib.image
import numpy as np
import pytest
from typer.testing import CliRunner

import tuneyard.cli.study  # noqa: F401  (registers compare on the app)
from tuneyard.analysis.factor import CompareError, base_point
from tuneyard.cli.main import app
from tuneyard.evaluation.compare import compare_factor, factor_variants
from tuneyard.space.file import load_space

FLOOR = 0.007  # under the sine's noise variance (0.1 ** 2), by its sampling error and more
TINY = ["--subset", "60", "--epochs", "2", "--set", "units=32", "--set", "lstm_layers=1"]


@pytest.mark.slow
def test_compare_optimizers_from_the_cli(results_in_tmp):
    result = CliRunner().invoke(app, ["compare", "--space", "sine_lstm", "--vary",
                                      "optimizer=sgd,adam", "--name", "opt", *TINY])
    assert result.exit_code == 0, result.output
    out = result.output
    # Progress while it runs: a line as each variant starts and one as it ends, in order.
    marks = [out.index(s) for s in ("[1/2] optimizer=sgd: training 2 epochs",
                                    "[1/2] optimizer=sgd: done in", "[2/2] optimizer=adam: training",
                                    "[2/2] optimizer=adam: done in")]
    assert marks == sorted(marks) and "best val_mse" in out and "test_mse" in out
    folder = results_in_tmp / "opt"
    rows = list(csv.DictReader(open(folder / "comparison.csv")))
    assert [r["variant"] for r in rows] == ["optimizer=sgd", "optimizer=adam"]
    for row in rows:
        # On the wave's scale: no model beats the noise (variance 0.01; 0.007 is 3 standard
        # errors under it on the test split), and predicting 0 scores about 0.51 on sin(t).
        assert FLOOR < float(row["test_mse"]) < 1.0 and FLOOR < float(row["best_val_mse"]) < 1.0
    data = json.loads((folder / "comparison.json").read_text())
    sgd, adam = data["variants"]
    # Only the factor differs: same point otherwise, same seeds, the same epochs.
    assert {k: v for k, v in sgd["params"].items() if k != "optimizer"} == \
        {k: v for k, v in adam["params"].items() if k != "optimizer"} == data["params"]
    assert (sgd["params"]["optimizer"], adam["params"]["optimizer"]) == ("sgd", "adam")
    assert data["params"]["units"] == 32 and data["params"]["learning_rate"] == 1e-3
    assert sgd["seeds"] == adam["seeds"] and len(sgd["history"]["val_mse"]) == 2
    assert sgd["history"]["loss"] != adam["history"]["loss"]
    image = matplotlib.image.imread(folder / "comparison.png")
    assert image.shape[1] > 600 and float(np.std(image[..., :3])) > 0.02
    assert "<table>" in (folder / "index.html").read_text()


@pytest.mark.slow
def test_variants_start_from_the_same_weights(results_in_tmp):
    # Two learning rates a hair apart: same seed and same start give near-equal curves; the
    # sweep's per-point seeding would start each from different weights.
    result = compare_factor("sine_lstm", "learning_rate=0.001,0.0010001", epochs=1, subset=60,
                            sets=["units=32", "lstm_layers=1", "optimizer=sgd"])
    first, second = (v.history["loss"][0] for v in result.variants)
    assert first == pytest.approx(second, rel=1e-3)
    assert result.folder == results_in_tmp / "compare-sine_lstm-learning_rate-s0"


def test_base_point_rule():
    space = load_space("sine_lstm")
    # Course baseline (2 x LSTM 64) and training defaults (adam, 1e-3, no l2, no dropout).
    assert base_point(space, {}, "optimizer", "sgd") == {
        "learning_rate": 1e-3, "optimizer": "sgd", "dropout": 0.0, "l2": 0.0, "lstm_layers": 2,
        "units": 64}
    assert base_point(space, {"units": 96}, "l2", 1e-4)["units"] == 96
    # No course value: the middle of the space (mnist's units_2 needs num_layers >= 2).
    mnist = load_space("course_mnist_mlp")  # the conditional 1..3 layers of 32..512 units
    point = base_point(mnist, {"num_layers": 2}, "learning_rate", 1e-3)
    assert point["units_1"] == 128 and point["units_2"] == 288 and "units_3" not in point
    runs = factor_variants(space, "l2=0,1e-4,1e-3")
    assert [v.changes for v in runs] == [{"l2": 0.0}, {"l2": 1e-4}, {"l2": 1e-3}]
    assert [v.name for v in runs] == ["l2=0", "l2=0.0001", "l2=0.001"]


@pytest.mark.parametrize("args, text", [
    (["--vary", "momentum=0.1,0.9"], "has no hyperparameter 'momentum'"),
    (["--vary", "optimizer=sgd,nadam"], "not one of the space's choices: sgd, rmsprop, adam, adamw"),
    (["--vary", "learning_rate=0.001,5"], "learning_rate=5 is outside the space: 0.0001 to 0.01"),
    (["--vary", "units=32,50"], "units=50 is outside the space: 32 to 128 in steps of 32"),
    (["--vary", "units=32,6.5"], "units=6.5 is not a whole number"),
    (["--vary", "dropout=0,abc"], "dropout=abc is not a number"),
    (["--vary", "optimizer="], "lists no value"),
    (["--vary", "optimizer"], "is malformed; write NAME=VALUES"),
    (["--vary", "=sgd,adam"], "is malformed"),
    (["--vary", "optimizer=sgd,,adam"], "empty value between commas"),
    (["--vary", "optimizer=sgd"], "list at least two"),
    (["--vary", "optimizer=adam,adam"], "listed twice"),
    (["--vary", "optimizer=sgd,adam", "--set", "units=1000"], "units=1000 is outside the space"),
    (["--vary", "optimizer=sgd,adam", "--set", "optimizer=sgd"], "both varied"),
    (["--vary", "optimizer=sgd,adam", "--set", "units=32,64"], "--set takes one"),
    (["--vary", "optimizer=sgd,adam", "--name", "../x"], "study name '../x' is refused"),
])
def test_bad_input_is_one_line_and_exit_2(args, text, results_in_tmp):
    result = CliRunner().invoke(app, ["compare", "--space", "sine_lstm", *args])
    assert result.exit_code == 2, result.output
    assert text in result.output and "Traceback" not in result.output
    assert result.output.count("error:") == 1
    assert not results_in_tmp.exists() or not any(results_in_tmp.iterdir())


def test_an_inactive_factor_is_refused():
    mnist = load_space("course_mnist_mlp")  # the conditional 1..3 layers of 32..512 units
    with pytest.raises(CompareError, match="units_3 is inactive at the base point.*num_layers=3"):
        factor_variants(mnist, "units_3=64,128")
    with pytest.raises(CompareError, match="--set units_2 is inactive"):
        factor_variants(mnist, "units_1=64,128", {"units_2": 64})
