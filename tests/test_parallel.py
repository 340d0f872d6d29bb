"""--workers N through the real runner, real worker processes and a real SQLite store.

The trainer is tests/cheap.py's formula, pickled to each worker: no TensorFlow, so the
processes start in about a second. tests/test_faults.py runs real Keras in real `tune run`s.
"""

import json
import time
from collections import Counter
from csv import DictReader
from pathlib import Path

import pytest
from cheap import SPACE, CheapTrainer

from tuneyard.backends import BACKEND_NAMES
from tuneyard.engine.study_lock import StudyLock
from tuneyard.engine.sweep import Sweep, SweepOptions, SweepStopped
from tuneyard.errors import TuneyardError
from tuneyard.space.file import load_space


def fails_on_sgd(params):
    return params["optimizer"] == "sgd"


def always_fails(params):
    return True


@pytest.fixture
def space_path(tmp_path):
    path = tmp_path / "cheap.yaml"
    path.write_text(SPACE)
    return str(path)


def sweep(space_path, backend, trials, workers=2, trainer=None, events=None, **extra):
    options = SweepOptions(space=space_path, backend=backend, trials=trials, workers=workers,
                           **extra)
    runner = Sweep(options, trainer=trainer or CheapTrainer())
    return runner, runner.run(events).leaderboard


def points(runner):
    return [repr(sorted(t.params.items())) for t in runner.store.trials()]


class SavingTrainer(CheapTrainer):
    """The cheap formula; writes a stand-in model where a trial saves one, and notes in
    `log` (a file: it runs in worker processes) when each Keras Tuner trial ran."""

    def __init__(self, log):
        super().__init__()
        self.log = str(log)

    def run(self, proposal, callbacks=None):
        started = time.time()
        result = super().run(proposal, callbacks)
        if proposal.save_to:
            Path(proposal.save_to).write_text("model")
        with open(self.log, "a") as log:
            log.write(json.dumps([proposal.extra["kt_trial"], started, time.time()]) + "\n")
        return result


def keras_tuner_oracle(max_epochs, factor):
    import keras_tuner

    return keras_tuner.oracles.HyperbandOracle(objective="val_mse", max_epochs=max_epochs,
                                               factor=factor)


def keras_tuner_schedule(oracle):
    """(bracket, round, epochs, initial epoch) -> trials, from Keras Tuner's own oracle."""
    expected = Counter()
    for bracket in range(oracle._get_num_brackets()):
        for rnd in range(oracle._get_num_rounds(bracket)):
            initial = oracle._get_epochs(bracket, rnd - 1) if rnd else 0
            expected[(bracket, rnd, oracle._get_epochs(bracket, rnd), initial)] += \
                oracle._get_size(bracket, rnd)
    return expected


def check_hyperband_schedule(runner, frame, log):
    """One full Hyperband iteration, as Keras Tuner's schedule has it, promotions warm."""
    oracle = keras_tuner_oracle(9, 3)  # the cheap space: max_epochs 9, factor 3
    trials = {t.user_attrs["result"]["extra"]["kt_trial"]: t.user_attrs["result"]
              for t in runner.store.trials()}
    params = {t.user_attrs["result"]["extra"]["kt_trial"]: t.params for t in runner.store.trials()}
    place = {k: (r["extra"]["bracket"], r["extra"]["round"]) for k, r in trials.items()}
    got = Counter((*place[k], r["epochs"], r["initial_epoch"]) for k, r in trials.items())
    assert got == keras_tuner_schedule(oracle)
    assert "warm_start" not in frame or frame["warm_start"].isna().all()  # no parent missing
    ran = {}
    for line in Path(log).read_text().splitlines():
        kt_trial, started, ended = json.loads(line)
        ran[kt_trial] = (started, ended)
    promoted = [k for k, r in trials.items() if r["extra"]["parent"] is not None]
    assert len(promoted) == sum(n for (_, rnd, _, _), n in got.items() if rnd > 0)
    # x_parent is the tuneyard trial number of the parent; this check speaks Keras Tuner's ids.
    kt_of = {t.number: t.user_attrs["result"]["extra"]["kt_trial"] for t in runner.store.trials()}
    for child in promoted:
        parent = kt_of[trials[child]["extra"]["parent"]]
        bracket, rnd = place[child]
        assert place[parent] == (bracket, rnd - 1)
        assert params[child] == params[parent]
        assert trials[child]["initial_epoch"] == trials[parent]["epochs"]  # continues it
        # Keras Tuner promotes from a round once more of its trials have ended than the
        # next round throws out; whichever worker ran them, the child waited for that.
        start = ran[child][0]
        assert ran[parent][1] <= start
        ended = sum(ran[k][1] <= start for k in trials if place[k] == (bracket, rnd - 1))
        promoted_before = sum(ran[k][0] < start for k in promoted if place[k] == (bracket, rnd))
        thrown_out = oracle._get_size(bracket, rnd - 1) - oracle._get_size(bracket, rnd)
        assert ended - promoted_before > thrown_out


@pytest.mark.parametrize("backend", BACKEND_NAMES)
@pytest.mark.slow
def test_two_workers_spend_exactly_the_budget_on_distinct_points(space_path, backend, tmp_path):
    hyperband = backend == "hyperband"
    trials = 23 if hyperband else 7  # Hyperband: one full iteration of max_epochs 9, factor 3
    log = tmp_path / "ran.jsonl"
    runner, frame = sweep(space_path, backend, trials=trials,
                          trainer=SavingTrainer(log) if hyperband else None)
    assert len(runner.store.trials()) == trials == len(frame)
    assert set(frame["status"]) == {"COMPLETE"}
    space = load_space(space_path)
    for trial in runner.store.trials():
        assert space.check_values(trial.params) == []
    if backend in ("grid", "random"):  # neither proposes a point twice
        assert len(set(points(runner))) == trials
    if hyperband:
        check_hyperband_schedule(runner, frame, log)
    assert not (runner.folder / "workers.json").exists()  # the pool cleaned up


@pytest.mark.parametrize("workers", [1, 2])
def test_tpe_always_uses_the_constant_liar(space_path, workers):
    # With workers, or with other runners on the same study, running trials count as lies:
    # the study a TPE sweep draws from has a TPE sampler with the constant liar on.
    import optuna

    from tuneyard.backends.tpe import TPEBackend

    made = TPEBackend.make_sampler(load_space(space_path), 0, trials=4)
    assert isinstance(made, optuna.samplers.TPESampler) and made._constant_liar
    runner, _ = sweep(space_path, "tpe", trials=2, workers=workers)
    used = runner.store.study.sampler
    assert isinstance(used, optuna.samplers.TPESampler) and used._constant_liar


@pytest.mark.slow
def test_progress_and_csv_after_every_trial_with_workers(space_path, results_in_tmp):
    seen = []

    class Watching:
        def message(self, text):
            pass

        def trial_done(self, row, done, budget, best):
            statuses = [r["status"] for r in DictReader(csv.open())]
            seen.append((done, budget, len(statuses) - statuses.count("RUNNING")))

    csv = results_in_tmp / "cheap-tpe-s0" / "leaderboard.csv"
    sweep(space_path, "tpe", trials=5, events=Watching())
    # Progress after every trial; the CSV is rewritten at a bounded rate (so it may lag a
    # fast trial), never ahead of the store nor going back, and exact at the end.
    assert [(done, budget) for done, budget, _ in seen] == [(i, 5) for i in range(1, 6)]
    in_csv = [finished for _, _, finished in seen]
    assert in_csv == sorted(in_csv) and all(f <= d for (d, _, f) in seen), seen
    statuses = [r["status"] for r in DictReader(csv.open())]
    assert statuses == ["COMPLETE"] * 5


@pytest.mark.slow
def test_failed_trials_are_recorded_and_the_search_goes_on(space_path):
    runner, frame = sweep(space_path, "grid", trials=12,
                          trainer=CheapTrainer(fail_when=fails_on_sgd))
    failed = frame[frame["status"] == "FAIL"]
    assert len(frame) == 12 and len(failed) == (frame["optimizer"] == "sgd").sum() > 0
    assert failed["error"].str.contains("cheap failure").all()


@pytest.mark.slow
def test_too_many_failures_in_a_row_stop_the_sweep_with_workers(space_path):
    with pytest.raises(SweepStopped, match="3 failed trials in a row; last error: ValueError"):
        sweep(space_path, "tpe", trials=20, max_failures=3,
              trainer=CheapTrainer(fail_when=always_fails))
    runner, frame = sweep(space_path, "tpe", trials=6)
    fails = frame[frame["status"] == "FAIL"]
    # The trial still in flight when the sweep stopped is interrupted, not counted.
    assert len(fails[~fails["error"].str.startswith("interrupted")]) == 3
    assert len(frame[frame["status"] == "COMPLETE"]) == 3


def test_a_second_runner_of_a_grid_study_is_refused_naming_the_first(space_path, results_in_tmp):
    lock = StudyLock(results_in_tmp / "cheap-grid-s0")
    lock.acquire()
    try:
        with pytest.raises(TuneyardError, match=r"being run by another tune process \(pid \d+\)"):
            sweep(space_path, "grid", trials=3, workers=1)
    finally:
        lock.release()
    runner, frame = sweep(space_path, "grid", trials=3, workers=1)
    assert len(frame) == 3


def test_workers_must_be_positive(space_path):
    with pytest.raises(TuneyardError, match="--workers must be at least 1"):
        Sweep(SweepOptions(space=space_path, workers=0))


@pytest.mark.slow
def test_each_worker_process_is_replaced_after_its_share_of_trials(space_path):
    import os
    from collections import Counter

    runner, frame = sweep(space_path, "random", trials=9, trials_per_process=2)
    assert set(frame["status"]) == {"COMPLETE"}
    ran = Counter(t.user_attrs["worker"] for t in runner.store.trials())
    assert sum(ran.values()) == 9
    assert max(ran.values()) <= 2  # none ran more than its share
    assert len(ran) >= 5  # 9 trials, 2 per process: at least 5 processes
    assert not any(w.endswith(f":{os.getpid()}") for w in ran)  # none ran in this process
    assert not (runner.folder / "workers.json").exists()


def test_trials_per_process_must_not_be_negative(space_path):
    with pytest.raises(TuneyardError, match="--trials-per-process must be 0"):
        sweep(space_path, "random", trials=2, trials_per_process=-1)


class DiesAfterTwoEpochs(CheapTrainer):
    """Reports two epochs of an sgd trial, then its worker process is SIGKILLed."""

    def run(self, proposal, callbacks=None):
        import os
        import signal

        from tuneyard.engine.epochs import EpochHook

        if proposal.params["optimizer"] == "sgd":
            for hook in (c for c in callbacks or [] if isinstance(c, EpochHook)):
                hook(1, proposal.epochs, {"loss": 1.0})
                hook(2, proposal.epochs, {"loss": 0.9})
            os.kill(os.getpid(), signal.SIGKILL)
        return super().run(proposal, callbacks)


@pytest.mark.slow
def test_a_killed_worker_s_trial_counts_the_epochs_it_reported(space_path):
    runner, frame = sweep(space_path, "grid", trials=6, trainer=DiesAfterTwoEpochs())
    killed = frame[frame["error"].fillna("").str.contains("signal 9")]
    assert len(killed) >= 1, frame[["params" if "params" in frame else "optimizer", "status"]]
    assert set(killed["epochs"]) == {2}  # trained, so an epoch budget pays for them
    assert runner.epochs_spent() == 2 * len(killed) + 3 * (len(frame) - len(killed))
