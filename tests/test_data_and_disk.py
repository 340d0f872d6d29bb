"""Issue 19, cases 4 and 5: a workload's data is checked in one place before any trial trains,
and a full disk after training never turns a good trial into a failure.

`tune` in this process (tests/inproc.py; its worker processes are real), real Keras on tiny
data (1 epoch); the full disk: real `tune` processes on a real 2 MB tmpfs mounted in a
private user and mount namespace (`unshare -rm`), skipped where that is refused.
"""

import os
import shutil
import subprocess
import sys

import inproc
import numpy as np
import optuna
import pytest

from tuneyard.errors import DataError
from tuneyard.workloads.base import Dataset
from tuneyard.workloads.checks import check_dataset

TUNE = [sys.executable, "-m", "tuneyard"]

MODULE = '''
import os
import numpy as np
import tuneyard


class Blobs(tuneyard.Workload):
    """Three blobs in 4-D; BAD (environment) spoils the data; UNITS sizes the hidden layer."""

    name = "blobs"
    task = "classification"
    required = ("units",)

    def load(self, *, data_dir=None, subset=None, seed=0, validation_split=0.2):
        rng = np.random.default_rng(seed)
        y = rng.integers(0, 3, 120)
        x = (rng.standard_normal((120, 4)) + 2 * y[:, None]).astype("float32")
        bad = os.environ.get("BAD", "")
        if bad == "nan":
            x[90, 2] = np.nan  # in the validation split: trials would complete with a NaN loss
        elif bad == "label":
            y[5] = 7
        elif bad == "half":
            y = y.astype("float32")
            y[9] = 0.5
        info = {"input_shape": (4,)}
        if bad != "label-no-info":
            info["num_classes"] = 3
        else:
            y[5] = 3  # past the model's 3 outputs; the dataset does not say num_classes
        return tuneyard.Dataset(x[:80], y[:80], x[80:100], y[80:100], x[100:], y[100:], info=info)

    def build_model(self, params, dataset, options):
        import keras

        units = int(os.environ.get("UNITS", params["units"]))
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(units, activation="relu"),
                                  keras.layers.Dense(3, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model
'''

SPACE = """\
name: blobs
workload: blobs_model:Blobs
objective: {metric: val_accuracy, direction: maximize}
training: {epochs: 1, batch_size: 32, patience: 0, validation_split: 0.2}
hyperparameters:
  units: {type: choice, values: [4, 8]}
"""


@pytest.fixture
def project(tmp_path):
    (tmp_path / "blobs_model.py").write_text(MODULE)
    (tmp_path / "blobs.yaml").write_text(SPACE)
    return tmp_path


def tune(*args, cwd, env=None):
    """`tune ARGS` in this process (tests/inproc.py): a data check needs no process of its own."""
    return inproc.tune(*args, cwd=cwd, env=env)


def one_line(done) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def trials(results, study="blobs-grid-s0"):
    db = results / "tuneyard.db"
    if not db.exists() or study not in optuna.get_all_study_names(f"sqlite:///{db}"):
        return []
    return optuna.load_study(study_name=study, storage=f"sqlite:///{db}").trials


def dataset(**parts) -> Dataset:
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.standard_normal((50, 3)), "y_train": np.arange(50) % 3,
              "x_val": rng.standard_normal((10, 3)), "y_val": np.arange(10) % 3,
              "x_test": rng.standard_normal((10, 3)), "y_test": np.arange(10) % 3}
    return Dataset(**{**arrays, **parts}, info={"num_classes": 3})


# --- case 5: the checks themselves (cheap, vectorised) ---------------------------------------

@pytest.mark.parametrize("parts,expected", [
    ({"x_val": np.where(np.eye(10, 3) > 0, np.nan, 1.0)}, "x_val[0, 0] is nan; features must be finite"),
    ({"x_test": np.full((10, 3), np.inf)}, "x_test[0, 0] is inf; features must be finite"),
    ({"y_train": np.r_[np.zeros(49, int), 3]}, "y_train[49] is 3; labels must be integers in 0..2"),
    ({"y_val": np.r_[np.zeros(9), 0.5]}, "y_val[9] is 0.5; labels must be integers in 0..2"),
    ({"y_test": np.r_[-1, np.zeros(9, int)]}, "y_test[0] is -1; labels must be integers in 0..2"),
    ({"y_train": np.zeros(49, int)}, "x_train has 50 samples but y_train has 49"),
    ({"x_train": [[0.0, 1.0, float("nan")]] * 50}, "x_train is a Python list of values"),
    ({"y_val": [0, 1] * 5}, "y_val is a Python list of values"),
])
def test_bad_data_is_one_line_naming_workload_array_index_and_value(parts, expected):
    with pytest.raises(DataError) as error:
        check_dataset(dataset(**parts), "mine:Blobs", "classification")
    assert str(error.value).startswith("workload mine:Blobs: ") and expected in str(error.value)
    assert "\n" not in str(error.value)


def test_good_data_passes_and_regression_targets_must_be_finite():
    check_dataset(dataset(y_train=np.zeros(50, np.float32)), "w", "classification")  # whole floats
    check_dataset(dataset(y_val=np.eye(10, 3)), "w", "classification")  # one-hot rows
    two_inputs = [np.ones((50, 2)), np.ones((50, 1))]  # a multi-input model's list of arrays
    check_dataset(dataset(x_train=two_inputs), "w", "classification")
    with pytest.raises(DataError, match=r"y_val\[4\] is nan; targets must be finite"):
        check_dataset(dataset(y_val=np.where(np.arange(10) == 4, np.nan, 0.0)), "w", "regression")


def test_the_first_bad_value_of_a_large_array_is_found_past_the_first_block():
    x = np.ones((300_000, 8), np.float32)  # 2.4 M values: the scan goes block by block
    x[299_998, 5] = -np.inf
    with pytest.raises(DataError, match=r"x_train\[299998, 5\] is -inf"):
        check_dataset(dataset(x_train=x, y_train=np.arange(300_000) % 3), "w", "classification")
    x[299_998, 5] = 3e38  # finite values whose sum overflows float32 are not refused
    check_dataset(dataset(x_train=x, y_train=np.arange(300_000) % 3), "w", "classification")


# --- case 5: every path stops before any trial trains ----------------------------------------

@pytest.mark.parametrize("bad,workers,expected", [
    ("nan", 1, "workload blobs_model:Blobs: x_val[10, 2] is nan; features must be finite"),
    ("label", 2, "workload blobs_model:Blobs: y_train[5] is 7; labels must be integers in 0..2"),
    ("half", 1, "workload blobs_model:Blobs: y_train[9] is 0.5; labels must be integers in 0..2"),
])
@pytest.mark.slow
def test_bad_workload_data_stops_tune_run_before_any_trial(project, results_in_tmp, bad, workers,
                                                          expected):
    done = tune("run", "--space", "blobs.yaml", "--backend", "grid", "--workers", workers,
                cwd=project, env={"BAD": bad})
    assert expected in one_line(done)
    assert not [t for t in trials(results_in_tmp) if t.state != optuna.trial.TrialState.FAIL
                or "interrupted" not in str(t.user_attrs)]  # no trial trained or counted


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.slow
def test_labels_past_the_models_output_stop_the_sweep_and_the_trial_runs_again(
        project, results_in_tmp, workers):
    done = tune("run", "--space", "blobs.yaml", "--backend", "grid", "--workers", workers,
                cwd=project, env={"BAD": "label-no-info"})
    line = one_line(done)
    assert "y_train[5] is 3; labels must be integers in 0..2; the model's output has 3 units" in line
    assert all("interrupted" in t.user_attrs["result"]["error"] for t in trials(results_in_tmp))
    fixed = tune("run", "--space", "blobs.yaml", "--backend", "grid", cwd=project)  # data fixed
    assert fixed.returncode == 0, fixed.stderr
    done_ = [t for t in trials(results_in_tmp) if t.state == optuna.trial.TrialState.COMPLETE]
    assert sorted(t.params["units"] for t in done_) == [4, 8]


@pytest.mark.slow
def test_evaluate_checks_the_data_too(project, results_in_tmp):
    assert tune("run", "--space", "blobs.yaml", "--backend", "grid", cwd=project).returncode == 0
    line = one_line(tune("evaluate", "blobs-grid-s0", cwd=project, env={"BAD": "nan"}))
    assert "x_val[10, 2] is nan" in line


# --- case 4: a full disk after training ------------------------------------------------------

def _tmpfs_allowed() -> str | None:
    if not shutil.which("unshare"):
        return "no unshare command"
    done = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"],
                          capture_output=True, text=True)
    return None if done.returncode == 0 else f"a private tmpfs is refused here: {done.stderr.strip()}"


def on_small_disk(project, results, script: str, env: dict | None = None):
    """Run `script` (sh) in a private namespace with `results` a fresh 2 MB tmpfs."""
    results.mkdir(exist_ok=True)
    mount = f"mount -t tmpfs -o size=2m tmpfs {results} && "
    return subprocess.run(["unshare", "-rm", "sh", "-c", mount + script], cwd=project,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TUNEYARD_RESULTS_DIR": str(results), **(env or {})})


@pytest.mark.slow
def test_a_model_too_big_for_the_disk_keeps_its_trials_result(project, tmp_path):
    reason = _tmpfs_allowed()
    if reason:
        pytest.skip(reason)
    results = tmp_path / "small"
    tune_cmd = " ".join(TUNE)
    script = (f"{tune_cmd} run --space blobs.yaml --backend grid --trials 1 && "
              # the store and CSV fit; a 6 MB model (Adam's slots included) does not
              f"{sys.executable} -c \"import optuna; t = optuna.load_study(study_name='blobs-grid-s0', "
              f"storage='sqlite:///{results}/tuneyard.db').trials[0]; "
              f"print('STATE', t.state.name, t.value, t.user_attrs['result']['epochs_run'])\" && "
              f"head -c 3000000 /dev/zero > {results}/filler 2>/dev/null; "  # now the disk is full
              f"mkdir -p {results}/t; TMPDIR={results}/t {tune_cmd} evaluate blobs-grid-s0")
    done = on_small_disk(project, results, script, {"UNITS": "120000"})
    assert "No space left on device" in done.stdout, (done.stdout, done.stderr)
    state = next(line for line in done.stdout.splitlines() if line.startswith("STATE"))
    assert state.split()[1] == "COMPLETE" and float(state.split()[2]) > 0 and state.split()[3] == "1"
    warning = [line for line in done.stdout.splitlines() if line.startswith("warning: trial 0")]
    assert len(warning) == 1 and "is recorded with its result, but its model was not saved" in warning[0]
    # tune evaluate on the full disk: one line and exit 2
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "is full" in lines[0], lines
