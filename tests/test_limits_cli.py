"""The limits of test_limits.py as a user meets them: a real `tune run` process, a workload of
their own whose build function never returns, real signals (issue 19). The trial timeout meets
the real Keras build; SIGTERM and kill -9 meet tests/hanging.py's stand-in of it, the same hang
in processes that load no TensorFlow."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import hanging
import pytest

TUNE = [sys.executable, "-m", "tuneyard"]

@pytest.fixture
def user_space(tmp_path):
    return hanging.write(tmp_path)


def start(args, tmp_path, **popen):
    env = {**os.environ, "HANG_MARKER": str(tmp_path / "hanging")}
    return subprocess.Popen([*TUNE, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=tmp_path, **popen)


def wait_for(path: Path, process: subprocess.Popen, seconds: float = 120) -> None:
    """Until `path` exists (the trial is inside its build function), or fail."""
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def rows(results: Path, study: str) -> list[dict]:
    with open(results / study / "leaderboard.csv", newline="") as f:
        return sorted(csv.DictReader(f), key=lambda r: int(r["trial"]))


@pytest.mark.slow
def test_a_hung_build_is_stopped_at_the_trial_timeout_and_the_sweep_goes_on(user_space, tmp_path,
                                                                            results_in_tmp):
    # Seed 3 runs the hanging point first, so the good trial runs after the stop (in a fresh
    # worker, whose start-up does not count: the limit runs from the worker being ready).
    # The limit leaves a one-epoch trial room on a loaded machine (2 s did not).
    done = subprocess.run([*TUNE, "run", "--space", str(user_space), "--backend", "grid", "--trials", "2",
                           "--seed", "3", "--trial-timeout", "8s", "--study", "hung"],
                          capture_output=True, text=True,
                          env={**os.environ, "HANG_MARKER": str(tmp_path / "hanging")}, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    hung, good = rows(results_in_tmp, "hung")  # in trial order
    assert hung["hang"] == "True" and good["hang"] == "False"
    assert hung["status"] == "FAIL" and "ran past --trial-timeout (8s)" in hung["error"]
    assert good["status"] == "COMPLETE"  # the sweep went on


@pytest.mark.slow
def test_sigterm_records_the_running_trial_as_interrupted(user_space, tmp_path, results_in_tmp,
                                                          monkeypatch):
    hanging.use_stand_in(monkeypatch)  # the same hang, in a process that loads no TensorFlow
    run = start(["run", "--space", user_space, "--backend", "grid", "--trials", 2, "--study", "term"],
                tmp_path)
    wait_for(tmp_path / "hanging", run)
    run.send_signal(signal.SIGTERM)
    out, err = run.communicate(timeout=60)
    assert run.returncode == 143, out + err
    assert "Traceback" not in err
    trial = [r for r in rows(results_in_tmp, "term") if r["hang"] == "True"][0]
    assert trial["status"] == "FAIL" and trial["error"].startswith("interrupted by SIGTERM")


@pytest.mark.slow
def test_workers_of_a_killed_run_exit_quietly(user_space, tmp_path, results_in_tmp, monkeypatch):
    # kill -9 of `tune run --workers 2`: its workers notice, end, and print no traceback.
    hanging.use_stand_in(monkeypatch)  # real worker processes, none loading TensorFlow
    run = start(["run", "--space", user_space, "--backend", "grid", "--trials", 2, "--workers", 2,
                 "--study", "orphans"], tmp_path, start_new_session=True)
    wait_for(tmp_path / "hanging", run)
    worker = int((tmp_path / "hanging").read_text())
    run.kill()
    _, err = run.communicate(timeout=60)  # returns once every worker closed the pipe: all ended
    assert "Traceback" not in err and "BrokenPipeError" not in err
    assert not alive(worker)


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie nobody reaped yet has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_more_workers_than_the_machine_holds_is_one_line_and_exit_2(user_space, tmp_path):
    done = subprocess.run([*TUNE, "run", "--space", str(user_space), "--trials", "2", "--workers", "100000"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "--workers 100000" in done.stderr
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())
