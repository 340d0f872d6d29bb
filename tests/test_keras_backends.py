"""Keras 3's other backends (issue 21): a sweep under KERAS_BACKEND=jax on a machine with no
TensorFlow, and the one line a missing backend library gets.

The suite's venv has TensorFlow; "no TensorFlow" is a folder first on PYTHONPATH whose
`tensorflow` fails to import as an absent one does, so any import of TensorFlow in the
`tune` process, its worker processes, Keras or Keras Tuner would fail the sweep. JAX (CPU)
comes with the `dev` extra; without it the sweep test skips saying why, except under CI,
where it fails.
"""

import csv
import importlib.util
import json
import os
import subprocess
import sys

import pytest
from cheap import write_sine_dense
from pg_server import under_ci

TUNE = [sys.executable, "-m", "tuneyard"]
SWEEP = ["--space", "sine_lstm", "--epochs", "1", "--subset", "200", "--timeout", "5m"]


def tune(*args, env, cwd):
    return subprocess.run([*TUNE, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **env}, timeout=300)


@pytest.fixture
def no_tensorflow(tmp_path):
    """PYTHONPATH with a folder in front where `import tensorflow` fails as on a JAX machine."""
    folder = tmp_path / "no_tensorflow"
    folder.mkdir()
    (folder / "tensorflow.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'tensorflow'\", name='tensorflow')\n")
    return os.pathsep.join([str(folder), *filter(None, [os.environ.get("PYTHONPATH")])])


def need_jax():
    if importlib.util.find_spec("jax") is not None:
        return
    reason = "jax is not installed in this venv (the dev extra has it: make install)"
    if under_ci():
        pytest.fail(f"the JAX sweep cannot run under CI: {reason}", pytrace=False)
    pytest.skip(f"JAX sweep skipped: {reason}")


def stored_trials(results, study):
    import optuna

    from tuneyard.store.optuna_store import open_storage

    url = f"sqlite:///{results / 'tuneyard.db'}"
    return optuna.load_study(study_name=study, storage=open_storage(url)).get_trials()


@pytest.mark.slow
@pytest.mark.parametrize("backend,flags", [
    ("tpe", []),  # Optuna, the trial in the `tune` process
    ("random", ["--workers", "2"]),  # Keras Tuner's oracle, trials in worker processes
])
def test_a_sweep_runs_under_jax_without_tensorflow(backend, flags, no_tensorflow, results_in_tmp,
                                                   tmp_path):
    need_jax()
    # The shipped sine workload, its Dense form: an LSTM's graph takes seconds more to trace.
    sweep = ["--space", write_sine_dense(tmp_path), *SWEEP[2:]]
    done = tune("run", *sweep, "--backend", backend, "--trials", 2, *flags, cwd=tmp_path,
                env={"KERAS_BACKEND": "jax", "PYTHONPATH": no_tensorflow})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    study = f"sine_dense-{backend}-s0"
    rows = list(csv.DictReader((results_in_tmp / study / "leaderboard.csv").open()))
    assert [r["status"] for r in rows] == ["COMPLETE", "COMPLETE"], rows
    assert all(0 < float(r["val_mse"]) < 10 for r in rows)
    for trial in stored_trials(results_in_tmp, study):
        versions = trial.user_attrs["result"]["versions"]
        assert versions["keras-backend"] == "jax" and "jax" in versions, versions
    assert (results_in_tmp / study / "best.keras").is_file()  # the kept model, saved by Keras on JAX


@pytest.mark.slow
def test_a_hyperband_promotion_continues_from_its_checkpoint_under_jax(no_tensorflow, results_in_tmp,
                                                                        tmp_path):
    need_jax()
    # max_epochs 3, factor 3: three trials of one epoch, then the best of them trained on
    # from its checkpoint (tuneyard.checkpoint: the weights and the optimizer's JAX arrays).
    sweep = ["--space", write_sine_dense(tmp_path), *SWEEP[2:]]
    done = tune("run", *sweep, "--backend", "hyperband", "--max-epochs", 3, "--factor", 3,
                "--trials", 4, cwd=tmp_path, env={"KERAS_BACKEND": "jax", "PYTHONPATH": no_tensorflow})
    assert done.returncode == 0, done.stdout + done.stderr
    rows = list(csv.DictReader((results_in_tmp / "sine_dense-hyperband-s0" / "leaderboard.csv").open()))
    assert [r["status"] for r in rows] == ["COMPLETE"] * 4, rows
    promoted = [r for r in rows if r["x_parent"]]
    assert len(promoted) == 1 and promoted[0]["epochs"] == "2", promoted  # epochs 2-3 of 3
    assert not any(r.get("x_warm_start") for r in rows), rows  # its parent's checkpoint was there


def test_a_missing_backend_library_is_one_line_saying_what_to_do(no_tensorflow, tmp_path):
    # Keras' default backend with TensorFlow absent: the user learns which backend, why, and how.
    home = tmp_path / "keras_home"
    home.mkdir()
    done = tune("run", *SWEEP, "--trials", 1, cwd=tmp_path,
                env={"KERAS_BACKEND": "", "KERAS_HOME": str(home), "PYTHONPATH": no_tensorflow})
    assert done.returncode == 2, done.stdout + done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: Keras would train with tensorflow (Keras' default, with "
                           "KERAS_BACKEND unset), which is not installed: "), line
    assert line.endswith("pip install 'tuneyard[cpu]' (or 'tuneyard[gpu]': TensorFlow with CUDA, "
                         "Linux)"), line


def test_an_unknown_backend_is_one_line(tmp_path):
    done = tune("run", *SWEEP, "--trials", 1, cwd=tmp_path, env={"KERAS_BACKEND": "theano"})
    assert done.returncode == 2
    assert done.stderr.strip() == ("error: Keras backend 'theano' (KERAS_BACKEND) is not one Keras "
                                   "knows: set KERAS_BACKEND to tensorflow, jax or torch")


def keras_backend_in_a_fresh_process(env, tmp_path):
    code = "import json; from tuneyard.keras_backend import keras_backend; print(json.dumps(keras_backend()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, **env}, cwd=tmp_path)
    return json.loads(out.stdout)


def test_the_backend_is_found_as_keras_finds_it(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    assert keras_backend_in_a_fresh_process({"KERAS_BACKEND": "", "KERAS_HOME": str(home)},
                                            tmp_path) == ["tensorflow", "Keras' default, with "
                                                          "KERAS_BACKEND unset"]
    (home / "keras.json").write_text(json.dumps({"backend": "torch", "floatx": "float32"}))
    assert keras_backend_in_a_fresh_process({"KERAS_BACKEND": "", "KERAS_HOME": str(home)},
                                            tmp_path) == ["torch", str(home / "keras.json")]
    assert keras_backend_in_a_fresh_process({"KERAS_BACKEND": "jax", "KERAS_HOME": str(home)},
                                            tmp_path) == ["jax", "KERAS_BACKEND"]


def test_making_a_sweep_checks_the_backend_without_loading_it(tmp_path):
    # The parent of --workers N only hands out trials: loading TensorFlow there would cost
    # seconds and hundreds of MB for nothing (the workers load it).
    code = ("import sys; from tuneyard.engine.sweep import Sweep, SweepOptions; "
            "Sweep(SweepOptions(space='sine_lstm', backend='tpe', trials=1)); "
            "print(sorted({'tensorflow', 'keras', 'jax'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env={**os.environ, "KERAS_BACKEND": "tensorflow"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
