"""Shared studies on a real PostgreSQL server: real `tune` processes, real SIGKILL, real Keras
where a user's workload is shared (the grid); tests/hanging.py's stand-ins where the store is.

Needs a server that user postgres can reach without a password: the machine's one on
127.0.0.1:5432 (.ci/run starts it), or TUNEYARD_TEST_POSTGRES. Without one the tests
skip saying why, and fail under CI (tests/pg_server.py). Each test works in its own
database, dropped afterwards.
"""

import json
import os
import signal
import subprocess
import sys
import time

import hanging
import pytest
from pg_server import database_url, fresh_database, require_server

pytestmark = pytest.mark.slow  # every test here trains or takes over a second

TUNE = [sys.executable, "-c", "from tuneyard.cli.main import app; app(prog_name='tune')"]
# Real Keras but cheap: 100 samples, one epoch, LSTMs of 8 or 16 units (8 grid points).
SPACE = """\
name: pg_tiny
workload: sine_lstm
objective: {metric: val_mse, direction: minimize}
training: {epochs: 1, batch_size: 32, patience: 0, validation_split: 0.2}
fixed: {window: 20}
hyperparameters:
  learning_rate: {type: float, low: 1.0e-3, high: 1.0e-2, log: true, grid: [1.0e-3, 1.0e-2]}
  optimizer: {type: choice, values: [adam, sgd]}
  lstm_layers: {type: int, low: 1, high: 1}
  units: {type: int, low: 8, high: 16, step: 8}
  dropout: {type: float, low: 0.0, high: 0.2, grid: [0.0]}
  l2: {type: float, low: 1.0e-6, high: 1.0e-4, log: true, grid: [1.0e-6]}
"""
SPACE_PARAMS = 6


@pytest.fixture(scope="module")
def server():
    require_server()


@pytest.fixture
def url(server, tmp_path, monkeypatch):
    """A fresh database for one test, and the environment its workers share."""
    spaces = tmp_path / "spaces"
    spaces.mkdir()
    (spaces / "pg_tiny.yaml").write_text(SPACE)
    for key, value in {"TUNEYARD_SPACES_DIR": str(spaces), "TUNEYARD_HEARTBEAT": "1",
                       "TUNEYARD_GRACE": "4", "TF_NUM_INTRAOP_THREADS": "1",
                       "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1"}.items():
        monkeypatch.setenv(key, value)
    with fresh_database("tuneyard_test") as name:
        yield database_url(name)


def start(*args):
    return subprocess.Popen([*TUNE, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def start_three(url, backend, budget):
    """One `tune run` (it creates the study) and two `tune worker`s joining it."""
    study = f"pg-{backend}"
    first = start("run", "--space", "pg_tiny", "--backend", backend, "--trials", budget,
                  "--subset", 100, "--storage", url, "--study", study)
    workers = [start("worker", "--study", study, "--storage", url,
                     "--wait", 60) for i in (1, 2)]
    return study, first, workers


def finish(processes, timeout=150):
    outputs = [p.communicate(timeout=timeout)[0] for p in processes]
    return outputs


def trials_of(url, study):
    import optuna

    from tuneyard.store.optuna_store import open_storage

    return optuna.load_study(study_name=study, storage=open_storage(url)).get_trials()


def completed(trials):
    return [t for t in trials if t.state.name == "COMPLETE"]


def keys(trials):
    return [json.dumps(t.params, sort_keys=True) for t in trials]


def test_three_workers_share_a_grid_of_a_user_workload_without_running_a_point_twice(
        url, tmp_path, monkeypatch):
    """`tune run` and two `tune worker`s on one grid study of a user's workload (a module
    beside its space file): no point runs twice, and the worker started in another folder
    with no --space finds the space and the module through the study (issue 10). Each
    process imports the module (its space is checked against it) and trains on
    tests/hanging.py's stand-in, which holds every trial until all three hold one."""
    release = tmp_path / "release"
    monkeypatch.setenv("RELEASE_MARKER", str(release))
    hanging.use_stand_in(monkeypatch, "hanging:InstantAfterRelease")
    folder, elsewhere = tmp_path / "mine", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    (folder / "pg_user_model.py").write_text(
        "from tuneyard.workloads.sine import SineLstm\n\n"
        "class Mine(SineLstm):\n    name = 'mine'\n")
    space = folder / "pg_user.yaml"
    space.write_text(SPACE.replace("name: pg_tiny", "name: pg_user")
                     .replace("workload: sine_lstm", "workload: pg_user_model:Mine"))
    study = "pg-grid"
    first = start("run", "--space", space, "--backend", "grid", "--trials", 6, "--subset", 100,
                  "--storage", url, "--study", study)
    here = start("worker", "--study", study, "--storage", url, "--wait", 60)
    away = subprocess.Popen([*TUNE, *map(str, ["worker", "--study", study, "--storage", url,
                                               "--wait", 60])], cwd=elsewhere,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    processes = {str(p.pid) for p in (first, here, away)}
    deadline = time.monotonic() + 120
    while not release.exists():
        assert time.monotonic() < deadline and all(p.poll() is None for p in (first, here, away))
        try:
            runners = {str(t.user_attrs.get("runner", ":")).rsplit(":", 1)[1]
                       for t in trials_of(url, study) if t.state.name == "RUNNING"}
        except Exception:  # the study is not created yet
            runners = set()
        if runners >= processes:  # each of the three holds a trial: the work is shared
            release.touch()
        time.sleep(0.1)
    outputs = finish([first, here, away])
    for process, output in zip([first, here, away], outputs, strict=True):
        assert process.returncode == 0, output
    assert f"tune worker --study {study} --storage {url}" in outputs[0]
    trials = trials_of(url, study)
    done = completed(trials)
    assert len(done) == 6, [(t.number, t.state.name) for t in trials]
    assert len(set(keys(done))) == 6  # no grid point twice
    assert not [t for t in trials if t.state.name in ("WAITING", "RUNNING")]
    assert {t.user_attrs["backend"] for t in done} == {"grid"}
    workers_seen = {t.user_attrs["runner"] for t in done}
    assert len(workers_seen) == 3, workers_seen  # the work really was shared


def test_two_runs_started_together_share_the_budget_on_distinct_points(url, tmp_path,
                                                                       monkeypatch):
    """Two `tune run`s (same seed) on one new PostgreSQL TPE study: exactly the budget, no
    point twice, and each writes a CSV holding every trial (issue 9). The store is under
    test: the runs train on tests/hanging.py's stand-in, and load no TensorFlow."""
    hanging.use_stand_in(monkeypatch)
    study = "pg-together"
    command = ["run", "--space", "pg_tiny", "--backend", "tpe", "--trials", 3, "--subset", 100,
               "--storage", url, "--study", study]
    runs = [start(*command), start(*command)]
    outputs = finish(runs)
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert all("Traceback" not in out for out in outputs), outputs
    trials = trials_of(url, study)
    spent = [t for t in trials if not t.user_attrs.get("surplus")]
    assert [t.state.name for t in spent] == ["COMPLETE"] * 3, [t.state.name for t in trials]
    assert len(set(keys(spent))) == 3  # same --seed, yet no startup point twice
    csv_path = os.path.join(os.environ["TUNEYARD_RESULTS_DIR"], study, "leaderboard.csv")
    with open(csv_path) as handle:
        assert sorted(line.split(",")[1] for line in handle.readlines()[1:]) == \
            sorted(str(t.number) for t in spent)


def test_a_worker_killed_mid_trial_has_its_trial_failed_and_run_again(url, tmp_path, monkeypatch):
    # Every trial waits for the release file (tests/hanging.py): each process holds a RUNNING
    # trial until one worker is killed, then all go on. No TensorFlow in any of them.
    release = tmp_path / "release"
    monkeypatch.setenv("RELEASE_MARKER", str(release))
    hanging.use_stand_in(monkeypatch, "hanging:InstantAfterRelease")
    study, first, workers = start_three(url, "tpe", 6)
    pids = {str(w.pid): w for w in workers}
    victim, killed_trial = None, None
    deadline = time.monotonic() + 120
    while victim is None and time.monotonic() < deadline:
        try:
            # Only a trial with all its parameters is training; one caught while its
            # parameters are still being suggested is retried with the ones it had.
            running = [t for t in trials_of(url, study)
                       if t.state.name == "RUNNING" and len(t.params) == SPACE_PARAMS]
        except Exception:  # the study is not created yet
            running = []
        for t in running:
            pid = str(t.user_attrs.get("runner", ":")).rsplit(":", 1)[1]
            if pid in pids:
                victim, killed_trial = pids[pid], t.number
                os.kill(victim.pid, signal.SIGKILL)
                break
        time.sleep(0.2)
    release.touch()
    assert victim is not None, "no worker was seen running a trial"
    survivors = [first, *(w for w in workers if w is not victim)]
    outputs = finish(survivors)
    for process, output in zip(survivors, outputs, strict=True):
        assert process.returncode == 0, output
    victim.wait(timeout=10)
    assert victim.returncode == -signal.SIGKILL
    trials = trials_of(url, study)
    by_number = {t.number: t for t in trials}
    assert by_number[killed_trial].state.name == "FAIL"
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == killed_trial]
    assert [t.state.name for t in retries] == ["COMPLETE"], [(t.number, t.state.name) for t in trials]
    assert retries[0].params == by_number[killed_trial].params
    # Nothing lost and nothing run twice among three workers sharing one TPE study.
    done = completed(trials)
    assert len(done) == 6, [(t.number, t.state.name, t.user_attrs) for t in trials]
    assert len(set(keys(done))) == 6  # distinct sampler seeds: no identical startup points
    assert all(t.user_attrs["result"]["epochs_run"] == 1 for t in done)
