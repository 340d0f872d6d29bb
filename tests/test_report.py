"""`tune report` and `tune diagnose`: figures, the self-contained page, bad input.

Most tests read a study written straight into an Optuna store (no TensorFlow);
one real sine sweep, run once for the module through `tune run --report`,
checks the whole path end to end.
"""

import base64
import math
import re

import matplotlib.image
import numpy as np
import optuna
import pytest
from cheap import write_sine_dense
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial
from typer.testing import CliRunner

from tuneyard.cli.main import app
from tuneyard.errors import StoreError
from tuneyard.evaluation.evaluate import classification_scores, save_evaluation
from tuneyard.report.build import build_report
from tuneyard.store.optuna_store import Store

optuna.logging.set_verbosity(optuna.logging.WARNING)
FIGURES = ("curves.png", "history.png", "importance.png", "params.png")
CONFIG = {"space": "sine_lstm", "backend": "tpe", "seed": 0, "metric": "val_mse",
          "direction": "minimize", "epochs": 6, "subset": None, "workload": "sine_lstm"}
DISTS = {"learning_rate": FloatDistribution(1e-4, 1e-2, log=True),
         "optimizer": CategoricalDistribution(["sgd", "adam"]),
         "units": IntDistribution(32, 128, step=32)}


def curve(start, end, n=6):
    return list(np.geomspace(start, end, n))


def add_study(storage, name, values, config=CONFIG):
    """A tuneyard-shaped study: one trial per value (None: a failed trial)."""
    study = optuna.create_study(storage=storage, study_name=name, direction="minimize")
    study.set_user_attr("tuneyard", config)
    for i, value in enumerate(values):
        final = value if value is not None else 1.0
        history = {"loss": curve(0.5, final * 0.9), "val_loss": curve(0.4, final),
                   "mse": curve(0.5, final * 0.9), "val_mse": curve(0.4, final)}
        params = {"learning_rate": [1e-4, 1e-3, 1e-2][i % 3], "optimizer": ["sgd", "adam"][i % 2],
                  "units": 32 * (1 + i % 4)}
        study.add_trial(create_trial(
            state=TrialState.COMPLETE if value is not None else TrialState.FAIL, value=value,
            params=params, distributions=DISTS,
            user_attrs={"backend": "tpe", "history": history,
                        "result": {"epochs": 6, "initial_epoch": 0, "epochs_run": 6,
                                   "metrics": {"val_mse": value}, "seconds": 1.0}}))
    return study


@pytest.fixture
def storage(tmp_path):
    return f"sqlite:///{tmp_path / 'store.db'}"


def assert_png(path):
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 200 and image.shape[1] > 300, path
    assert float(np.std(image[..., :3])) > 0.02, f"{path} looks blank"


@pytest.mark.slow
def test_report_writes_every_figure_and_a_self_contained_page(storage, results_in_tmp):
    add_study(storage, "s", [0.05, 0.02, 0.08, 0.011, None, 0.03])
    made = build_report("s", storage, top=3)
    assert made.folder == results_in_tmp / "s" / "report"
    assert set(FIGURES) <= set(made.figures)
    page = made.index.read_text()
    for name in made.figures:
        assert_png(made.folder / name)
        encoded = base64.b64encode((made.folder / name).read_bytes()).decode()
        assert f"data:image/png;base64,{encoded}" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page
    table = re.search(r"<h2>Leaderboard</h2>(.*?)</table>", page, re.S).group(1)
    for header in ("rank", "learning_rate", "val_mse", "status", "diagnosis"):
        assert f">{header}</th>" in table
    assert table.count("<tr>") == 1 + 6
    assert "FAIL" in table
    assert "run <code>tune evaluate STUDY</code>" in page  # no evaluation yet: say how
    assert not [p for p in made.folder.parent.iterdir() if p.name.startswith(".report")]


@pytest.mark.slow
def test_report_shows_a_stored_classifier_evaluation(storage, results_in_tmp):
    add_study(storage, "s", [0.05, 0.02, 0.03])
    store = Store(storage, "s")
    store.load()
    scores = classification_scores(np.array([0, 0, 1, 1, 2, 2]), np.array([0, 1, 1, 1, 2, 0]),
                                   ["cat", "dog", "bird"])
    save_evaluation(store, {"trial": 1, "params": {"units": 64}, "epochs": 6,
                            "metric": "val_accuracy", "trial_value": 0.9, "retrained_value": 0.9,
                            "test_samples": 6, **scores})
    made = build_report("s", storage)
    assert "test.png" in made.figures
    assert_png(made.folder / "test.png")
    page = made.index.read_text()
    assert "test accuracy: 0.6667" in page and ">bird</td>" in page
    assert not made.notes
    add_study_trial = optuna.load_study(study_name="s", storage=storage)
    add_study_trial.add_trial(create_trial(state=TrialState.COMPLETE, value=0.001, params={},
                                           distributions={}))
    assert any("best is now trial 3" in n for n in build_report("s", storage).notes)


@pytest.mark.slow
def test_one_completed_trial_skips_importance_with_a_note(storage):
    add_study(storage, "one", [0.05, None])
    made = build_report("one", storage)
    assert "importance.png" not in made.figures and "curves.png" in made.figures
    assert any("at least 2 completed trials" in n for n in made.notes)
    assert "at least 2 completed trials" in made.index.read_text()


@pytest.mark.slow
def test_identical_objectives_skip_importance(storage):
    add_study(storage, "flat", [0.05, 0.05, 0.05])
    made = build_report("flat", storage)
    assert "importance.png" not in made.figures
    assert any("same objective" in n for n in made.notes)


def test_no_completed_trial_writes_nothing(storage, results_in_tmp):
    add_study(storage, "failed", [None, None])
    with pytest.raises(StoreError, match="no completed trial"):
        build_report("failed", storage)
    assert not (results_in_tmp / "failed").exists() or not any(
        (results_in_tmp / "failed").iterdir())


@pytest.mark.slow
def test_a_failed_rebuild_keeps_the_previous_report(storage, monkeypatch):
    add_study(storage, "s", [0.05, 0.02])
    first = build_report("s", storage)
    before = first.index.read_text()
    monkeypatch.setattr("tuneyard.report.html.render", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        build_report("s", storage)
    assert first.index.read_text() == before
    assert sorted(p.name for p in first.folder.parent.iterdir()) == ["report"]


def test_cli_bad_input_is_one_line_and_exit_2(storage):
    add_study(storage, "s", [0.05, 0.02])
    add_study(storage, "empty", [None])
    runner = CliRunner()
    for args, text in ((["report", "nope"], "studies there: empty, s"),
                       (["diagnose", "nope"], "studies there: empty, s"),
                       (["report", "empty"], "no completed trial"),
                       (["diagnose", "s", "7"], "no trial 7; trial numbers: 0..1"),
                       (["report", "s", "--top", "0"], "--top must be at least 1")):
        result = runner.invoke(app, [*args, "--storage", storage])
        assert result.exit_code == 2, (args, result.output)
        assert text in result.output and "Traceback" not in result.output


def test_cli_diagnose_prints_label_numbers_and_suggestion(storage):
    add_study(storage, "s", [0.05, 0.02])
    result = CliRunner().invoke(app, ["diagnose", "s", "1", "--storage", storage])
    assert result.exit_code == 0, result.output
    assert "trial 1 (complete): still_improving" in result.output
    assert "train-val gap" in result.output and "trivial baseline 0.5" in result.output
    assert "suggestion: raise epochs" in result.output
    assert "trial 0" not in result.output


def test_leaderboard_has_the_diagnosis_column(storage):
    from tuneyard.analysis.reading import study_frame

    add_study(storage, "s", [0.05, 0.02])
    frame = study_frame("s", storage)
    assert list(frame["diagnosis"]) == ["still_improving", "still_improving"]


@pytest.mark.slow
def test_real_sweep_with_run_report(results_in_tmp, tmp_path):
    """One real (tiny) sine sweep: run --report, then report --evaluate and diagnose."""
    runner = CliRunner()
    result = runner.invoke(app, ["run", "--space", write_sine_dense(tmp_path), "--trials", "2",
                                 "--epochs", "2", "--subset", "120", "--report"])
    assert result.exit_code == 0, result.output
    folder = results_in_tmp / "sine_dense-tpe-s0" / "report"
    assert "report:" in result.output and (folder / "index.html").exists()
    for name in ("curves.png", "history.png", "params.png"):
        assert_png(folder / name)
    result = runner.invoke(app, ["report", "sine_dense-tpe-s0", "--evaluate"])
    assert result.exit_code == 0, result.output
    assert_png(folder / "test.png")
    page = (folder / "index.html").read_text()
    assert "test MSE" in page and "noise floor" in page
    mse = float(re.search(r"test MSE: ([0-9.e-]+)", page).group(1))
    assert math.isfinite(mse) and mse > 0
