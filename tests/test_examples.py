"""The examples/ folder for real: user workloads beside their space files, run by `tune`
commands (in this process: tests/inproc.py) from another folder, and the ROC scores a
binary classifier's evaluation adds.

Each sweep is tiny (a few trials, 1-3 epochs, a subset of the digits), in a temporary
results folder; the space files are named by absolute path from a temporary cwd, so the
workload modules import only because tuneyard puts the space file's folder on the path.
"""

import csv
import json
import re
from pathlib import Path

import inproc
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from tuneyard.evaluation.evaluate import ROC_POINTS, score, summary_lines
from tuneyard.workloads import Dataset

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
DIGITS = EXAMPLES / "digits" / "digits.yaml"
BREAST_CANCER = EXAMPLES / "breast_cancer" / "breast_cancer.yaml"


def tune(*args, cwd, results):
    """`tune ARGS` in this process (tests/inproc.py), from `cwd`: no process start and
    TensorFlow import per command; the example's module still imports only from its space's
    folder, which tuneyard puts on the path (and inproc takes off again)."""
    done = inproc.tune(*args, cwd=cwd, env={"TUNEYARD_RESULTS_DIR": str(results)})
    assert done.returncode == 0, f"tune {' '.join(map(str, args))}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def leaderboard(results, study):
    return list(csv.DictReader((results / study / "leaderboard.csv").open()))


# Every backend on a user workload is tests/test_user_workloads.py's; here the example itself.
@pytest.mark.parametrize("backend,flags,expected", [
    ("grid", ["--trials", 2, "--epochs", 1], 2),
])
@pytest.mark.slow
def test_digits_example_runs_through_the_cli(tmp_path, results_in_tmp, backend, flags, expected):
    out = tune("run", "--space", DIGITS, "--backend", backend, *flags, "--subset", 300,
               cwd=tmp_path, results=results_in_tmp)
    study = f"digits-{backend}-s0"
    rows = leaderboard(results_in_tmp, study)
    assert len(rows) == expected, out
    assert {r["status"] for r in rows} == {"COMPLETE"}
    assert all(0 < float(r["val_accuracy"]) <= 1 for r in rows)
    assert {int(r["batch_size"]) for r in rows} <= {16, 32, 64}  # a hyperparameter, in the table
    if backend == "grid":
        assert {int(r["layers"]) for r in rows} <= {1, 2} and {r["dropout"] for r in rows} == {"0.1"}
    if backend == "hyperband":
        assert max(int(r["epochs"]) for r in rows) <= 3
    assert (results_in_tmp / study / "best.keras").is_file()


@pytest.mark.slow
def test_breast_cancer_example_evaluates_with_roc_auc(tmp_path, results_in_tmp):
    tune("run", "--space", BREAST_CANCER, "--backend", "tpe", "--trials", 2, "--epochs", 3,
         cwd=tmp_path, results=results_in_tmp)
    assert len(leaderboard(results_in_tmp, "breast_cancer-tpe-s0")) == 2
    out = tune("evaluate", "breast_cancer-tpe-s0", cwd=tmp_path, results=results_in_tmp)
    found = re.search(r"^test ROC AUC: ([0-9.]+)$", out, re.MULTILINE)
    assert found, out
    assert 0.5 < float(found.group(1)) <= 1.0
    assert re.search(r"^test accuracy: 0\.\d+$", out, re.MULTILINE), out
    stored = json.loads((results_in_tmp / "breast_cancer-tpe-s0" / "evaluation.json").read_text())
    assert stored["class_names"] == ["malignant", "benign"] and stored["test_samples"] == 114
    assert stored["roc_auc"] == pytest.approx(float(found.group(1)), abs=1e-4)
    fpr, tpr = stored["roc"]["fpr"], stored["roc"]["tpr"]
    assert len(fpr) == len(tpr) >= 2 and (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)


def _binary(y_test):
    y = np.asarray(y_test)
    return Dataset(y, y, y, y, y, y, info={"num_classes": 2, "class_names": ["neg", "pos"]})


def test_score_of_a_sigmoid_classifier_thresholds_at_one_half_and_adds_roc():
    y = np.array([0, 0, 0, 1, 1, 1, 0, 1])
    p = np.array([0.1, 0.6, 0.3, 0.5, 0.9, 0.2, 0.49, 0.8])
    for predictions in (p.reshape(-1, 1), p):  # one sigmoid column, or a flat vector
        out = score("classification", _binary(y), predictions)
        # p >= 0.5 is class 1: predicted [0, 1, 0, 1, 1, 0, 0, 1]; an argmax of one column
        # would call every sample class 0
        assert out["confusion_matrix"] == [[3, 1], [1, 3]]
        assert out["accuracy"] == pytest.approx(6 / 8)
        assert out["roc_auc"] == pytest.approx(roc_auc_score(y, p))
        assert out["roc"]["fpr"][0] == 0 and out["roc"]["tpr"][-1] == 1
    assert "test ROC AUC: 0.7500" in summary_lines(
        {**out, "trial": 0, "model": "saved", "metric": "val_accuracy", "trial_value": 0.9,
         "test_samples": 8})


def test_score_of_a_two_column_softmax_uses_the_positive_column():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 1000)
    positive = np.clip(0.3 * y + rng.normal(0.35, 0.2, 1000), 0, 1)
    out = score("classification", _binary(y), np.stack([1 - positive, positive], axis=1))
    assert out["roc_auc"] == pytest.approx(roc_auc_score(y, positive))
    assert out["accuracy"] == pytest.approx(np.mean((positive > 0.5) == y))
    fpr, tpr = out["roc"]["fpr"], out["roc"]["tpr"]
    assert 2 <= len(fpr) == len(tpr) <= ROC_POINTS  # thinned from hundreds of thresholds
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    assert fpr == sorted(fpr) and tpr == sorted(tpr)


def test_no_roc_for_three_classes_or_a_test_split_of_one_class():
    y = np.array([0, 1, 2, 1])
    data = Dataset(y, y, y, y, y, y, info={"class_names": ["a", "b", "c"]})
    out = score("classification", data, np.eye(3)[[0, 1, 2, 2]])
    assert "roc_auc" not in out and "roc" not in out
    assert not any("ROC" in line for line in summary_lines(
        {**out, "trial": 0, "model": "saved", "metric": "m", "trial_value": 1, "test_samples": 4}))
    one_class = score("classification", _binary([1, 1, 1]), np.array([[0.2], [0.7], [0.9]]))
    assert "roc_auc" not in one_class and one_class["accuracy"] == pytest.approx(2 / 3)


def test_the_test_figure_of_a_binary_classifier_has_the_roc_curve_beside_the_matrix():
    from tuneyard.report.figures_eval import evaluation_figure

    y = np.array([0, 0, 1, 1, 1])
    out = score("classification", _binary(y), np.array([0.1, 0.7, 0.4, 0.8, 0.9]))
    fig, why = evaluation_figure({**out, "trial": 3})
    titles = [ax.get_title() for ax in fig.axes]
    assert why == "" and any(t.startswith("Test ROC curve") for t in titles)
    assert any(t.startswith("Test confusion matrix") for t in titles)
    multi = score("classification", Dataset(y, y, y, y, y, y, info={}), np.eye(2)[y])
    del multi["roc"]
    fig, _ = evaluation_figure({**multi, "trial": 3})
    assert not any(ax.get_title().startswith("Test ROC") for ax in fig.axes)
