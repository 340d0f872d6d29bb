"""Limits a sweep keeps whatever is asked: workers the machine can hold, a time limit per trial
that stops even a trial that never returns, and --timeout ending every sweep (issue 19)."""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cheap import SPACE, CheapTrainer

from tuneyard.engine.capacity import cpu_cores
from tuneyard.engine.sweep import Sweep, SweepOptions
from tuneyard.errors import TuneyardError


class Hangs(CheapTrainer):
    """The cheap objective, except that the trials numbered in `hang_on` (by this trainer's
    count) never return: a sleep, or with `busy`, a pure-Python loop that never yields."""

    def __init__(self, hang_on=(0,), busy=False):
        super().__init__()
        self.hang_on, self.busy = set(hang_on), busy

    def run(self, proposal, callbacks=None):
        if len(self.calls) in self.hang_on:
            self.calls.append(proposal)
            while True:
                if not self.busy:
                    time.sleep(3600)
        return super().run(proposal, callbacks)


@pytest.fixture
def space_path(tmp_path):
    path = tmp_path / "cheap.yaml"
    path.write_text(SPACE)
    return str(path)


def test_more_workers_than_cores_is_refused_where_options_are_made(space_path):
    with pytest.raises(TuneyardError, match=f"--workers {cpu_cores() + 1} is more than the "):
        SweepOptions(space=space_path, workers=cpu_cores() + 1)
    with pytest.raises(TuneyardError, match="--workers 100000 .* use --workers"):
        SweepOptions(space=space_path, workers=100000)


@pytest.mark.slow
def test_never_more_worker_processes_than_trials_left(space_path):
    runner = Sweep(SweepOptions(space=space_path, backend="random", trials=1, workers=2),
                   trainer=CheapTrainer())
    frame = runner.run().leaderboard
    assert list(frame["status"]) == ["COMPLETE"]
    assert runner.executor.started == 1
    # A resumed study with one trial left starts one process too.
    runner = Sweep(SweepOptions(space=space_path, backend="random", trials=2, workers=2),
                   trainer=CheapTrainer())
    assert len(runner.run().leaderboard) == 2 and runner.executor.started == 1


def in_a_process(call: str) -> list:
    """Run `call` (a function of this module) in a fresh Python and return what it returns:
    a trial that is never stopped then fails the test at the timeout instead of hanging it.
    (Those sweeps use tpe, which imports no TensorFlow: the fresh Python starts in a second.)"""
    here = Path(__file__).parent
    code = f"import json, test_limits as t; print(json.dumps(t.{call}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=here, env={**os.environ, "PYTHONPATH": os.pathsep.join(
                              [str(here), *filter(None, [os.environ.get("PYTHONPATH")])])})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def stopped_in_process(space_path, busy):
    runner = Sweep(SweepOptions(space=space_path, backend="tpe", trials=3, trial_timeout=0.5),
                   trainer=Hangs(hang_on=(1,), busy=busy))
    frame = runner.run().leaderboard.sort_values("trial")
    return [list(frame["status"]), list(frame["error"].fillna("")), runner.done_count()]


@pytest.mark.parametrize("busy", [False, True], ids=["sleeps", "busy-loop"])
@pytest.mark.slow
def test_a_trial_past_its_limit_is_stopped_in_process_and_the_sweep_goes_on(space_path, busy):
    statuses, errors, done = in_a_process(f"stopped_in_process({space_path!r}, {busy})")
    assert statuses == ["COMPLETE", "FAIL", "COMPLETE"]
    assert "ran past --trial-timeout (0.5s)" in errors[1]
    assert done == 3  # a timed-out trial is the trial's failure: it spends budget


def test_a_trial_past_its_limit_is_stopped_in_a_thread(space_path):
    # tuneyard.search called from a thread: no signal can reach it, the limit still holds.
    out = {}

    def sweep():
        runner = Sweep(SweepOptions(space=space_path, backend="random", trials=2, trial_timeout=0.5),
                       trainer=Hangs(hang_on=(0,), busy=True))
        out["frame"] = runner.run().leaderboard.sort_values("trial")

    thread = threading.Thread(target=sweep)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert list(out["frame"]["status"]) == ["FAIL", "COMPLETE"]


@pytest.mark.slow
def test_a_trial_past_its_limit_in_a_worker_process_is_killed(space_path):
    runner = Sweep(SweepOptions(space=space_path, backend="random", trials=3, workers=2,
                                trial_timeout=1.0), trainer=Hangs(hang_on=(0,)))
    frame = runner.run().leaderboard
    failed = frame[frame["status"] == "FAIL"]
    assert len(failed) >= 1 and (frame["status"] == "COMPLETE").sum() == 3 - len(failed)
    assert all("--trial-timeout" in e for e in failed["error"])
    assert not (runner.folder / "workers.json").exists()


def cut_in_process(space_path):
    runner = Sweep(SweepOptions(space=space_path, backend="tpe", trials=3, timeout=0.5,
                                timeout_grace=0.5), trainer=Hangs(hang_on=(1,)))
    frame = runner.run().leaderboard.sort_values("trial")
    return [list(frame["status"]), list(frame["error"].fillna(""))]


@pytest.mark.slow
def test_the_timeout_ends_an_in_process_sweep_whose_trial_never_returns(space_path):
    statuses, errors = in_a_process(f"cut_in_process({space_path!r})")
    assert statuses == ["COMPLETE", "FAIL"]
    assert errors[1] == "interrupted (the time budget ran out while trials were running)"
    resumed = Sweep(SweepOptions(space=space_path, backend="tpe", trials=3), trainer=CheapTrainer())
    assert (resumed.run().leaderboard["status"] == "COMPLETE").sum() == 3


def test_a_bad_trial_timeout_is_refused_naming_the_option(space_path):
    with pytest.raises(TuneyardError, match="--trial-timeout must be a positive duration"):
        SweepOptions(space=space_path, trial_timeout="soon")


@pytest.mark.slow
def test_two_threads_searching_the_same_point_with_the_same_seed_get_the_same_value():
    # Keras' seed and session are global to a process: in-process trials of two threads take
    # turns, so each trial is the one its seed says (they got 0.55 and 0.40 before).
    import keras
    import numpy as np

    import tuneyard

    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 6)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int64")

    def build_model(params):
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dropout(0.3),
                                  keras.layers.Dense(params["units"], activation="relu"),
                                  keras.layers.Dense(2, activation="softmax")])
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model

    space = {"hyperparameters": {"units": {"type": "choice", "values": [8], "grid": [8]}},
             "objective": {"metric": "val_loss", "direction": "minimize"},
             "training": {"epochs": 3, "batch_size": 16}}
    values = {}

    def search(study):
        values[study] = tuneyard.search(build_model, data=(x, y), space=space, backend="grid", trials=1,
                                        study=study, progress=False).best_value

    threads = [threading.Thread(target=search, args=(name,)) for name in ("one", "two", "three")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    search("alone")
    assert values["one"] == values["two"] == values["three"] == values["alone"]
