"""Faults done for real to real `tune run` processes: Ctrl-C, a SIGKILLed worker, two runners.

Tiny sine sweeps (200 windows, 1-2 epochs): each trial is real Keras training.
"""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import hanging
import inproc
import optuna
import pytest
from cheap import write_sine_dense

from tuneyard.engine.study_lock import StudyLock

TUNE = [sys.executable, "-m", "tuneyard"]


def start(*args, cwd):
    return subprocess.Popen([*TUNE, *map(str, args)], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def rows(csv_path):
    return list(csv.DictReader(csv_path.open())) if csv_path.exists() else []


def wait_for(condition, process, timeout=240, interval=0.2):
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"tune exited early: {process.communicate()}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError("timed out")
        time.sleep(interval)


def stored(results, study):
    storage = f"sqlite:///{results / 'tuneyard.db'}"
    return optuna.load_study(study_name=study, storage=storage).get_trials(deepcopy=False)


def interrupted(trial):
    return str(trial.user_attrs["result"]["error"] or "").startswith("interrupted")


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.slow
def test_ctrl_c_records_the_running_trials_exits_and_the_same_command_resumes(
        results_in_tmp, tmp_path, monkeypatch, workers):
    # A grid of four tiny trials whose seeded order (seed 1) runs two that train, then one
    # that never returns. Ctrl-C goes once a trial is stored COMPLETE and the hanging one
    # is running: that the process exits at all shows Ctrl-C does not wait for a trial.
    space = hanging.write(tmp_path, units=True)
    marker = tmp_path / "hanging"
    monkeypatch.setenv("HANG_MARKER", str(marker))
    if workers == 2:  # worker processes with no TensorFlow to load: the one worker trains Keras
        hanging.use_stand_in(monkeypatch)
    study = f"ctrl-c-{workers}"
    command = ["run", "--space", space, "--backend", "grid", "--seed", 1, "--trials", 4,
               "--workers", workers, "--study", study]
    csv_path = results_in_tmp / study / "leaderboard.csv"
    process = start(*command, cwd=tmp_path)

    def one_done_one_hanging():
        return marker.exists() and any(t.state.name == "COMPLETE"
                                       for t in stored(results_in_tmp, study))

    wait_for(one_done_one_hanging, process, interval=0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, (out, err)
    assert "run the same command to resume" in out and "Traceback" not in err
    before = stored(results_in_tmp, study)
    assert len(rows(csv_path)) == len(before)  # the CSV is current
    hung = [t for t in before if interrupted(t)]
    # The hanging trial was recorded (with 2 workers, the one beside it may have been too).
    assert {"hang": True, "units": 4} in [t.params for t in hung], [t.params for t in hung]
    completed = {t.number: t.value for t in before if t.state.name == "COMPLETE"}
    assert completed and not (results_in_tmp / study / "workers.json").exists()

    # The same command resumes: the interrupted point runs again (and trains this time). In
    # this process (tests/inproc.py): no signal goes to the resume.
    resumed = inproc.tune(*command, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming study {study}: {len(completed)} of 4 trials done" in resumed.stdout
    after = stored(results_in_tmp, study)
    done = [t for t in after if t.state.name == "COMPLETE"]
    assert len(done) == 4 and all(not interrupted(t) for t in done)
    assert len({json.dumps(t.params, sort_keys=True) for t in done}) == 4  # every grid point
    assert {t.number: t.value for t in done if t.number in completed} == completed
    assert len(after) == 4 + len(hung)
    assert len(rows(csv_path)) == len(after)


@pytest.mark.slow
def test_a_sigkilled_worker_fails_its_trial_and_the_sweep_goes_on(results_in_tmp, tmp_path,
                                                                   monkeypatch):
    # The victim is the worker of a trial that never returns (it wrote its pid): killed
    # mid-trial for certain, whatever the machine's speed.
    space = hanging.write(tmp_path, units=True)
    marker = tmp_path / "hanging"
    monkeypatch.setenv("HANG_MARKER", str(marker))
    hanging.use_stand_in(monkeypatch)  # real worker processes, none loading TensorFlow
    study = "sigkill"
    csv_path = results_in_tmp / study / "leaderboard.csv"
    process = start("run", "--space", space, "--backend", "grid", "--trials", 4,
                    "--workers", 2, "--study", study, cwd=tmp_path)
    wait_for(lambda: marker.exists() and marker.read_text(), process)
    os.kill(int(marker.read_text()), signal.SIGKILL)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, (out, err)
    table = rows(csv_path)
    failed = [r for r in table if r["status"] == "FAIL"]
    assert len(table) == 4 and len(failed) == 1
    assert failed[0]["error"] == "worker process died (signal 9)" and failed[0]["hang"] == "True"
    assert sum(r["status"] == "COMPLETE" for r in table) == 3


# Two runners on one SQLite study: test_data_safety.py's
# test_two_runners_on_one_tpe_study_share_the_budget_exactly (exactly the budget, numbered
# in order, distinct points, the CSV whole).


def test_a_second_runner_of_a_grid_study_is_refused_in_one_line(results_in_tmp, tmp_path):
    lock = StudyLock(results_in_tmp / "sine_lstm-grid-s0")
    lock.acquire()
    try:
        done = subprocess.run([*TUNE, "run", "--space", "sine_lstm", "--backend", "grid"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
    finally:
        lock.release()
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: study 'sine_lstm-grid-s0' is being run by another tune process "
        f"(pid {os.getpid()}); wait for it to finish or stop it")


@pytest.mark.slow
def test_a_one_worker_sweep_longer_than_a_process_share_runs_in_fresh_processes(
        results_in_tmp, tmp_path):
    # Real Keras in worker processes: the second replaces the first after its one trial, so
    # the graphs TensorFlow keeps per model go with it; the CLI process trains nothing.
    # (tests/test_worker_processes.py: the same path, longer, with the stand-in trainer;
    # this is the one test of it with TensorFlow in the workers.)
    study = "sine-fresh-processes"
    process = start("run", "--space", write_sine_dense(tmp_path), "--backend", "tpe", "--subset", 200,
                    "--epochs", 1, "--trials", 2, "--trials-per-process", 1, "--study", study,
                    cwd=tmp_path)
    out, err = process.communicate(timeout=240)
    assert process.returncode == 0, err
    trials = stored(results_in_tmp, study)
    assert [t.state.name for t in trials] == ["COMPLETE"] * 2
    workers = [t.user_attrs["worker"] for t in trials]
    assert workers[1] != workers[0], workers
    assert not any(w.endswith(f":{process.pid}") for w in workers)
