"""The worker-process path of a real sweep (spawn, pipe, recycling every --trials-per-process
trials), driven by the stand-in trainer: real spawned processes and a real SQLite store, no
TensorFlow in the workers, so each test takes a second or two instead of a Keras sweep's.
"""

import os
from csv import DictReader

import optuna
import pytest
from cheap import SPACE, CheapTrainer, tensorflow_loaded

from tuneyard.engine.sweep import Sweep, SweepOptions


@pytest.fixture
def space_path(tmp_path):
    path = tmp_path / "cheap.yaml"
    path.write_text(SPACE)
    return str(path)


def run(space_path, results, **options):
    """A grid sweep of the cheap space whose trials fail in a worker that loaded TensorFlow;
    the stored trials in order, and the study's folder."""
    trainer = CheapTrainer(fail_when=tensorflow_loaded, in_worker_processes=True)
    Sweep(SweepOptions(space=space_path, backend="grid", study="procs", **options), trainer=trainer).run()
    study = optuna.load_study(study_name="procs", storage=f"sqlite:///{results / 'tuneyard.db'}")
    return sorted(study.get_trials(deepcopy=False), key=lambda t: t.number), results / "procs"


def pids(trials):
    return [int(t.user_attrs["worker"].rsplit(":", 1)[1]) for t in trials]


@pytest.mark.slow  # starts three processes (about a second each on 2 cores)
def test_one_worker_runs_its_trials_in_processes_replaced_every_trials_per_process(
    space_path, results_in_tmp
):
    trials, folder = run(space_path, results_in_tmp, trials=5, workers=1, trials_per_process=2)
    assert [t.state.name for t in trials] == ["COMPLETE"] * 5  # none saw TensorFlow
    ran = pids(trials)
    assert os.getpid() not in ran
    # Two trials a process, then a fresh one: a, a, b, b, c.
    assert ran[0] == ran[1] != ran[2] == ran[3] != ran[4] and len(set(ran)) == 3, ran
    rows = list(DictReader((folder / "leaderboard.csv").open()))
    assert sorted(int(r["trial"]) for r in rows) == [0, 1, 2, 3, 4]
    assert not (folder / "workers.json").exists()  # the pool cleaned up


@pytest.mark.slow  # starts four processes
def test_two_workers_recycle_their_processes_and_spend_exactly_the_budget(space_path, results_in_tmp):
    trials, folder = run(space_path, results_in_tmp, trials=6, workers=2, trials_per_process=2)
    assert [t.state.name for t in trials] == ["COMPLETE"] * 6
    points = {repr(sorted(t.params.items())) for t in trials}
    assert len(points) == 6  # each trial its own point: no proposal handed out twice
    ran = pids(trials)
    assert os.getpid() not in ran
    counts = {pid: ran.count(pid) for pid in ran}
    assert max(counts.values()) <= 2 and len(counts) >= 3, counts  # retired after 2 each
    assert not (folder / "workers.json").exists()


def test_a_stand_in_trainer_stays_in_this_process_unless_it_asks(space_path, results_in_tmp):
    trainer = CheapTrainer()
    Sweep(
        SweepOptions(
            space=space_path, backend="grid", trials=3, workers=1, trials_per_process=1, study="here"
        ),
        trainer=trainer,
    ).run()
    assert len(trainer.calls) == 3  # ran here, where the test can count them


class SlowToStart(CheapTrainer):
    """A stand-in whose worker process takes STARTUP seconds to get ready (unpickling it
    in the worker sleeps), as a worker importing TensorFlow on a loaded machine does."""

    STARTUP = 2.5

    def __setstate__(self, state):
        import time

        time.sleep(self.STARTUP)
        self.__dict__.update(state)


@pytest.mark.slow  # starts three processes, one of them slow on purpose (~6 s)
def test_the_trial_timeout_counts_from_the_worker_being_ready_not_from_its_start(
    space_path, results_in_tmp
):
    # One trial a process: the second trial goes to a successor still starting up (2.5 s)
    # when it is handed out. Its 1 s limit must not run while the process starts, only
    # while the trial does (before, the trial was killed at 1 s and recorded FAIL).
    trainer = SlowToStart(in_worker_processes=True)
    Sweep(SweepOptions(space=space_path, backend="grid", study="slow-start", trials=2, workers=1,
                       trials_per_process=1, trial_timeout=1.0), trainer=trainer).run()
    study = optuna.load_study(study_name="slow-start",
                              storage=f"sqlite:///{results_in_tmp / 'tuneyard.db'}")
    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"], [
        t.user_attrs.get("result", {}).get("error") for t in trials]
    assert len(set(pids(trials))) == 2  # the second trial did run in the new process


class NoTensorFlowInWorkers(CheapTrainer):
    """The cheap trainer in worker processes, failing a trial in a process that loaded
    TensorFlow: what $TUNEYARD_STAND_IN_TRAINER names below."""

    def __init__(self):
        super().__init__(fail_when=tensorflow_loaded, in_worker_processes=True)


@pytest.mark.slow  # two `tune` processes and two workers: seconds
def test_a_tune_command_trains_on_the_stand_in_its_environment_names(space_path, results_in_tmp,
                                                                     monkeypatch):
    # What tests/hanging.py's use_stand_in gives the tests of kills and signals: `tune run`
    # itself, its worker processes, and not one TensorFlow import among them.
    import subprocess
    import sys

    monkeypatch.setenv("TUNEYARD_STAND_IN_TRAINER", "test_worker_processes:NoTensorFlowInWorkers")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [
        os.path.dirname(__file__), os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, "-m", "tuneyard", "run", "--space", space_path,
                           "--backend", "grid", "--trials", "4", "--workers", "2", "--study", "named"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert ("trials run on the stand-in trainer test_worker_processes:NoTensorFlowInWorkers "
            "($TUNEYARD_STAND_IN_TRAINER), not on Keras") in done.stdout
    rows = list(DictReader((results_in_tmp / "named" / "leaderboard.csv").open()))
    assert [r["status"] for r in rows] == ["COMPLETE"] * 4  # not one worker loaded TensorFlow
    study = optuna.load_study(study_name="named", storage=f"sqlite:///{results_in_tmp / 'tuneyard.db'}")
    runners = {t.user_attrs["runner"] for t in study.trials}
    workers = {t.user_attrs["worker"] for t in study.trials}
    assert len(runners) == 1 and workers and not runners & workers  # in worker processes

    monkeypatch.setenv("TUNEYARD_STAND_IN_TRAINER", "no_such_module:Trainer")
    refused = subprocess.run([sys.executable, "-m", "tuneyard", "run", "--space", space_path,
                              "--trials", "1", "--study", "refused"],
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines() == [
        "error: $TUNEYARD_STAND_IN_TRAINER=no_such_module:Trainer: cannot import it (No module "
        "named 'no_such_module'); name a stand-in trainer as module:attribute, or unset the "
        "variable"]
