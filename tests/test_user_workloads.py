"""Your own model: a workload in a file beside its space, through the CLI, every backend and
mode, the Python API, export and evaluate from elsewhere, and every bad input in one line.

`tune` commands run in this process (tests/inproc.py: no process start or TensorFlow import
each), real Keras on a tiny synthetic task (240 points, 1 epoch), real SQLite.
"""

import csv
import subprocess
import sys
import textwrap

import optuna
import pytest
from inproc import tune

MODULE = '''
import numpy as np
import tuneyard


class Blobs(tuneyard.Workload):
    """Three Gaussian blobs in 4-D; a one-hidden-layer classifier."""

    name = "blobs"
    task = "classification"
    required = ("units",)
    optional = ("learning_rate", "optimizer")

    def load(self, *, data_dir=None, subset=None, seed=0, validation_split=0.2):
        rng = np.random.default_rng(seed)
        y = rng.integers(0, 3, 240)
        x = (rng.standard_normal((240, 4)) + 2 * y[:, None]).astype("float32")
        cut = int(200 * (1 - validation_split))
        return tuneyard.Dataset(x[:cut], y[:cut], x[cut:200], y[cut:200], x[200:], y[200:],
                                info={"input_shape": (4,), "num_classes": 3,
                                      "class_names": ["a", "b", "c"]})

    def build_model(self, params, dataset, options):
        import keras

        if params["units"] == 13:
            raise RuntimeError("thirteen is unlucky")  # a build that fails inside a trial
        model = keras.Sequential([keras.Input((4,)),
                                  keras.layers.Dense(params["units"], activation="relu"),
                                  keras.layers.Dense(3, activation="softmax")])
        model.compile(optimizer=params.get("optimizer", "adam"),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.optimizer.learning_rate = params.get("learning_rate", 0.01)
        return model


NotAWorkload = object()


class Half(tuneyard.Workload):
    """Forgot to write load and build_model."""
'''

SPACE = """\
name: blobs
workload: blobs_model:Blobs
objective: {metric: val_accuracy, direction: maximize}
training: {epochs: 1, batch_size: 32, patience: 0, validation_split: 0.2, max_epochs: 3, factor: 3}
hyperparameters:
  units: {type: int, low: 4, high: 16, step: 4, grid: [4, 8]}
  learning_rate: {type: float, low: 1.0e-3, high: 1.0e-1, log: true, grid: [1.0e-2]}
"""


@pytest.fixture
def project(tmp_path, results_in_tmp):
    """A user's folder: blobs_model.py beside blobs.yaml; commands run from elsewhere."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "blobs_model.py").write_text(MODULE)
    (folder / "blobs.yaml").write_text(SPACE)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    return folder, elsewhere, results_in_tmp


def ok(done):
    assert done.returncode == 0, (done.stdout, done.stderr)
    return done.stdout


def one_line(done):
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def csv_rows(path):
    return list(csv.DictReader(path.open()))


def studies_in(results):
    db = results / "tuneyard.db"
    return optuna.get_all_study_names(f"sqlite:///{db}") if db.exists() else []


@pytest.mark.parametrize("backend,options,expected", [
    ("grid", [], 2),
    ("tpe", ["--trials", 3], 3),
    ("random", ["--trials", 2], 2),
    ("bayes", ["--trials", 3], 3),
    ("hyperband", ["--max-epochs", 3, "--factor", 3], None),
])
@pytest.mark.slow
def test_a_user_workload_runs_on_every_backend(project, backend, options, expected):
    folder, elsewhere, results = project
    out = ok(tune("run", "--space", folder / "blobs.yaml", "--backend", backend, *options,
                  cwd=elsewhere))
    assert f"leaderboard of blobs-{backend}-s0" in out
    rows = csv_rows(results / f"blobs-{backend}-s0" / "leaderboard.csv")
    assert expected is None or len(rows) == expected
    assert all(r["status"] == "COMPLETE" for r in rows) and len(rows) >= 2
    assert (results / f"blobs-{backend}-s0" / "best.keras").is_file()


@pytest.mark.slow
def test_a_user_workload_runs_in_worker_processes(project):
    folder, elsewhere, results = project
    ok(tune("run", "--space", folder / "blobs.yaml", "--trials", 4, "--workers", 2, cwd=elsewhere))
    rows = csv_rows(results / "blobs-tpe-s0" / "leaderboard.csv")
    assert [r["status"] for r in rows] == ["COMPLETE"] * 4


@pytest.mark.slow
def test_export_and_evaluate_work_from_another_folder(project, tmp_path):
    folder, elsewhere, results = project
    ok(tune("run", "--space", folder / "blobs.yaml", "--trials", 3, cwd=elsewhere))
    third = tmp_path / "third"
    third.mkdir()
    exported = ok(tune("export", "blobs-tpe-s0", "--out", third / "best.keras", cwd=third))
    assert "as the sweep kept it" in exported and "no retraining" in exported
    assert (third / "best.keras").read_bytes() == (results / "blobs-tpe-s0" / "best.keras").read_bytes()
    evaluated = ok(tune("evaluate", "blobs-tpe-s0", cwd=third))
    assert "the model the sweep kept" in evaluated and "test accuracy" in evaluated
    board = csv_rows(results / "blobs-tpe-s0" / "leaderboard.csv")
    other = next(r["trial"] for r in board if r["rank"] != "1")
    retrained = ok(tune("export", "blobs-tpe-s0", "--trial", other, "--out", third / "o.keras",
                        cwd=third))
    assert "was not saved by the sweep" in retrained and (third / "o.keras").is_file()
    line = one_line(tune("export", "blobs-tpe-s0", "--out", third / "no" / "m.keras", cwd=third))
    assert "does not exist" in line  # an export path in a missing folder: one line


@pytest.mark.slow
def test_a_build_that_raises_fails_its_trial_and_the_sweep_goes_on(project):
    folder, elsewhere, results = project
    space = folder / "unlucky.yaml"
    space.write_text(SPACE.replace("name: blobs", "name: unlucky")
                     .replace("grid: [4, 8]", "grid: [13, 8]").replace("step: 4, ", ""))
    out = ok(tune("run", "--space", space, "--backend", "grid", cwd=elsewhere))
    rows = {r["units"]: r for r in csv_rows(results / "unlucky-grid-s0" / "leaderboard.csv")}
    assert rows["13"]["status"] == "FAIL" and "thirteen is unlucky" in rows["13"]["error"]
    assert rows["8"]["status"] == "COMPLETE" and "best val_accuracy" in out


BAD_SPACES = [
    ("workload: blobs_model:Blobs", "workload: missing_model:Blobs",
     "module missing_model was not found"),
    ("workload: blobs_model:Blobs", "workload: blobs_model:NotAWorkload", "is not a workload"),
    ("workload: blobs_model:Blobs", "workload: blobs_model:Nothing", "has no Nothing"),
    ("workload: blobs_model:Blobs", "workload: blobs_model:Half", "could not be created"),
    ("  units:", "  activation: {type: choice, values: [relu, tanh]}\n  units:",
     "does not read activation"),
    ("  units: {type: int, low: 4, high: 16, step: 4, grid: [4, 8]}\n", "", "needs units"),
    ("  units:", "  epochs: {type: int, low: 1, high: 3}\n  units:", "'epochs' is a leaderboard column"),
]


@pytest.mark.parametrize("old,new,message", BAD_SPACES, ids=[b[2] for b in BAD_SPACES])
def test_a_space_the_workload_cannot_honour_is_one_line_and_stores_nothing(project, old, new,
                                                                          message):
    folder, elsewhere, results = project
    space = folder / "bad.yaml"
    assert old in SPACE
    space.write_text(SPACE.replace(old, new))
    for command in (["run", "--space", space], ["show-space", space]):
        assert message in one_line(tune(*command, cwd=elsewhere))
    assert studies_in(results) == []


def test_the_shipped_space_refuses_a_hyperparameter_its_workload_ignores(tmp_path):
    text = (tmp_path / "m.yaml")
    shipped = tune("show-space", "mnist_mlp")
    assert shipped.returncode == 0, shipped.stderr
    from tuneyard.space.file import resolve_space_path

    body = resolve_space_path("mnist_mlp").read_text()
    text.write_text(body.replace("hyperparameters:\n",
                                 "hyperparameters:\n  momentum: {type: float, low: 0.5, high: 0.9}\n"))
    assert "workload mnist_mlp does not read momentum" in one_line(
        tune("show-space", text, cwd=tmp_path))


# --- the Python API ---------------------------------------------------------------


@pytest.mark.slow
def test_search_from_python_returns_the_leaderboard_and_best_model(results_in_tmp, tmp_path):
    code = textwrap.dedent('''
        import sys
        import numpy as np
        import tuneyard
        assert "tensorflow" not in sys.modules and "optuna" not in sys.modules

        def build_model(params):
            import keras
            model = keras.Sequential([keras.Input((4,)),
                                      keras.layers.Dense(params["units"], activation="relu"),
                                      keras.layers.Dense(3, activation="softmax")])
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                          metrics=["accuracy"])
            return model

        rng = np.random.default_rng(0)
        y = rng.integers(0, 3, 300)
        x = (rng.standard_normal((300, 4)) + 2 * y[:, None]).astype("float32")
        result = tuneyard.search(build_model, data=(x, y), backend="tpe", trials=3,
                                 progress=False, space={
            "hyperparameters": {"units": {"type": "int", "low": 4, "high": 32}},
            "objective": {"metric": "val_accuracy", "direction": "maximize"},
            "training": {"epochs": 2, "batch_size": 32}})
        assert list(result.leaderboard["status"]) == ["COMPLETE"] * 3
        assert result.best_value == result.leaderboard["val_accuracy"].max()
        assert set(result.best_params) == {"units"}
        accuracy = result.best_model.evaluate(x, y, verbose=0)[1]
        assert accuracy > 0.5, accuracy
        print("STUDY", result.study)
    ''')
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    study = done.stdout.split("STUDY ")[1].strip()
    listed = ok(tune("studies", cwd=tmp_path))
    assert study in listed
    assert "COMPLETE" in ok(tune("leaderboard", study, cwd=tmp_path))
    ok(tune("report", study, cwd=tmp_path))
    assert "as the sweep kept it" in ok(tune("export", study, "--out", tmp_path / "b.keras",
                                             cwd=tmp_path))
    # evaluate needs the data and the function: said plainly, not a traceback. A process of
    # its own, as the user's is: this one may hold another test's notebook function.
    evaluate = subprocess.run([sys.executable, "-m", "tuneyard", "evaluate", study], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
    assert "put it in a module" in one_line(evaluate)


@pytest.mark.slow
def test_a_build_function_that_never_reads_a_hyperparameter_is_refused(results_in_tmp):
    import numpy as np

    import tuneyard
    from tuneyard.errors import SpaceError

    def build_model(params):
        import keras

        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        return model

    x = np.random.default_rng(0).standard_normal((60, 2)).astype("float32")
    with pytest.raises(SpaceError, match="never read dropout"):
        tuneyard.search(build_model, data=(x, x[:, 0]), trials=3, progress=False, space={
            "hyperparameters": {"dropout": {"type": "float", "low": 0.0, "high": 0.5}},
            "training": {"epochs": 1}})


def test_workers_with_a_notebook_function_are_refused_plainly():
    import numpy as np

    import tuneyard
    from tuneyard.errors import TuneyardError

    with pytest.raises(TuneyardError, match="put it in a module"):
        tuneyard.search(lambda params: None, data=(np.zeros((10, 2)), np.zeros(10)), workers=2,
                        space={"hyperparameters": {"u": {"type": "int", "low": 1, "high": 2}}})
