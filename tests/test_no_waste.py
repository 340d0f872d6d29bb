"""No wasted processes: a worker pool starts no process when no trial is left for it, and a
study whose budget is spent starts no pool (nor loads data). Real spawn workers, real SQLite."""

import pytest
from cheap import SPACE, CheapTrainer

from tuneyard.engine.executors import WorkerPool
from tuneyard.engine.in_process import Idle
from tuneyard.engine.sweep import Events, Sweep, SweepOptions


@pytest.fixture
def space_path(tmp_path):
    path = tmp_path / "cheap.yaml"
    path.write_text(SPACE)
    return str(path)


class PoolWatch(Events):
    """Notes the pool's process count as each trial ends (it is gone once the sweep ends)."""

    def __init__(self, runner):
        self.runner, self.started = runner, []

    def trial_done(self, row, done, budget, best):
        self.started.append(self.runner.executor.started)


@pytest.mark.slow
def test_no_process_is_started_once_every_trial_is_handed_out(space_path):
    # 3 trials on 2 workers that retire after 2 trials each: the worker that takes the
    # third trial retires with it, and no trial is left, so no process replaces it.
    runner = Sweep(SweepOptions(space=space_path, backend="random", trials=3, workers=2,
                                trials_per_process=2), trainer=CheapTrainer())
    watch = PoolWatch(runner)
    frame = runner.run(watch).leaderboard
    assert list(frame["status"]) == ["COMPLETE"] * 3
    assert isinstance(runner.executor, WorkerPool)
    assert watch.started[-1] == 2  # the two first workers, nothing more


def test_epoch_budget_last_trial_starts_no_successor(space_path):
    # An epoch budget of 2 trials x 3 epochs, one trial per process: once the epochs in
    # flight fill the budget, a hand-out knows nothing follows it.
    runner = Sweep(SweepOptions(space=space_path, backend="random", trials=50, workers=2,
                                trials_per_process=1, budget_epochs=6), trainer=CheapTrainer())
    watch = PoolWatch(runner)
    runner.run(watch)
    assert runner.epochs_spent() >= 6
    assert watch.started[-1] <= 3  # 2 workers and the first trial's successor, no more


@pytest.mark.slow
def test_a_finished_study_starts_no_pool(space_path):
    options = dict(space=space_path, backend="random", trials=2, workers=2)
    Sweep(SweepOptions(**options), trainer=CheapTrainer()).run()
    again = Sweep(SweepOptions(**options), trainer=CheapTrainer())
    messages = []

    class Notes(Events):
        def message(self, text):
            messages.append(text)

    frame = again.run(Notes()).leaderboard
    assert isinstance(again.executor, Idle)  # no WorkerPool, so no process and no data
    assert len(frame) == 2 and again.trainer.calls == []
    assert any("2 of 2 trials done" in m for m in messages)


@pytest.mark.slow
def test_a_grown_budget_still_runs_after_a_finished_one(space_path):
    options = dict(space=space_path, backend="random", workers=2)
    Sweep(SweepOptions(trials=2, **options), trainer=CheapTrainer()).run()
    grown = Sweep(SweepOptions(trials=3, **options), trainer=CheapTrainer())
    frame = grown.run().leaderboard
    assert isinstance(grown.executor, WorkerPool) and len(frame) == 3
