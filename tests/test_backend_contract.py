"""One contract for every backend, through the real runner and a real SQLite store.

The objective is a cheap formula (tests/cheap.py): no TensorFlow, milliseconds a trial.
Every backend that workers can share (grid, tpe, random) also runs the contract through
the shared path (heartbeats, the grid's slots in the study, retries) on a SQLite file, so
shared mode is covered without a server (tests/test_postgres.py runs it on one).
"""


import numpy as np
import pytest
import sqlalchemy
from cheap import SPACE, CheapTrainer

from tuneyard.backends import BACKEND_NAMES, SHARED_BACKENDS
from tuneyard.backends.grid import is_slot
from tuneyard.engine.sweep import Sweep, SweepOptions, SweepStopped
from tuneyard.errors import TuneyardError
from tuneyard.space.file import load_space
from tuneyard.space.grid_points import Grid


@pytest.fixture
def space_path(tmp_path):
    path = tmp_path / "cheap.yaml"
    path.write_text(SPACE)
    return str(path)


# Every backend in one process, and the shared ones through the shared path too.
MODES = [*BACKEND_NAMES, *(f"{name}-shared" for name in SHARED_BACKENDS)]


def modes(*slow):
    """MODES, those measured over a second for a test marked slow (`make test-fast` leaves them out)."""
    return [pytest.param(mode, marks=pytest.mark.slow) if mode in slow else mode for mode in MODES]


def sweep(space_path, backend, trials, seed=0, study=None, trainer=None, **extra):
    backend, _, shared = backend.partition("-")
    options = SweepOptions(space=space_path, backend=backend, trials=trials, seed=seed,
                           study=study, shared=bool(shared), **extra)
    runner = Sweep(options, trainer=trainer or CheapTrainer())
    frame = runner.run().leaderboard
    return runner, frame


def stored_params(runner):
    return [t.params for t in sorted(runner.store.trials(), key=lambda t: t.number)]


@pytest.mark.parametrize("backend", modes("grid", "random", "bayes"))
def test_budget_is_respected_and_every_trial_is_stored(space_path, backend):
    runner, frame = sweep(space_path, backend, trials=7)
    assert len(runner.store.trials()) == 7
    assert len(frame) == 7 and set(frame["status"]) == {"COMPLETE"}
    assert list(frame["rank"]) == list(range(1, 8))


@pytest.mark.parametrize("backend", modes("grid", "bayes", "tpe-shared"))
def test_values_lie_inside_the_space_and_conditionals_hold(space_path, backend):
    # bayes: 2 random points, then 5 of the Gaussian process (seed 0: both layer counts). At
    # 12 trials its late proposals took seconds each and the test 20 s.
    runner, _ = sweep(space_path, backend, trials=7 if backend == "bayes" else 12)
    space = load_space(space_path)
    for params in stored_params(runner):
        assert space.check_values(params) == [], params


@pytest.mark.parametrize("backend", MODES)
@pytest.mark.slow
def test_same_seed_same_proposals_other_seed_other_proposals(space_path, backend):
    first, _ = sweep(space_path, backend, trials=6, seed=3, study="a")
    again, _ = sweep(space_path, backend, trials=6, seed=3, study="b")
    other, _ = sweep(space_path, backend, trials=6, seed=4, study="c")
    assert stored_params(first) == stored_params(again)
    assert stored_params(first) != stored_params(other)


@pytest.mark.parametrize("backend", modes("grid-shared", "tpe-shared"))
def test_a_failing_trial_is_recorded_and_the_search_goes_on(space_path, backend):
    trainer = CheapTrainer(fail_when=lambda p: p["optimizer"] == "sgd")
    runner, frame = sweep(space_path, backend, trials=9, trainer=trainer)
    assert len(frame) == 9
    failed = frame[frame["status"] == "FAIL"]
    assert len(failed) >= 1 and failed["error"].str.contains("cheap failure").all()
    assert failed["rank"].isna().all()
    assert frame["status"].iloc[0] == "COMPLETE"


@pytest.mark.parametrize("backend", modes("tpe", "random", "bayes", "tpe-shared"))
def test_resume_runs_the_rest_of_the_budget(space_path, backend):
    first, _ = sweep(space_path, backend, trials=4)
    kept = stored_params(first)
    second, frame = sweep(space_path, backend, trials=9)
    assert len(frame) == 9
    assert stored_params(second)[:4] == kept


@pytest.mark.parametrize("backend", modes("tpe", "bayes", "random-shared"))
def test_an_interrupted_sweep_resumes_without_losing_or_repeating(space_path, backend):
    with pytest.raises(KeyboardInterrupt):
        sweep(space_path, backend, trials=8, trainer=CheapTrainer(interrupt_at=4))
    runner, frame = sweep(space_path, backend, trials=8)
    done = frame[~frame["error"].fillna("").str.startswith("interrupted")]
    assert len(done) == 8 and set(done["status"]) == {"COMPLETE"}
    interrupted = frame[frame["error"].fillna("").str.startswith("interrupted")]
    assert len(interrupted) == 1
    params = [repr(sorted(p.items())) for p in stored_params(runner)]
    if backend.startswith("grid"):
        completed = [repr(sorted(p.items())) for p, s in zip(stored_params(runner),
                     [t.state.name for t in sorted(runner.store.trials(), key=lambda t: t.number)],
                     strict=True) if s == "COMPLETE"]
        assert len(set(completed)) == len(completed) == 8
    assert len(params) == 9


@pytest.mark.parametrize("backend", ["grid", "grid-shared"])
@pytest.mark.slow
def test_grid_covers_every_point_exactly_once(space_path, backend):
    space = load_space(space_path)
    size = Grid(space).size
    assert size == 3 * 3 * (1 + 3)
    runner, frame = sweep(space_path, backend, trials=size + 10)
    points = {repr(sorted(p.items())) for p in stored_params(runner)}
    expected = {repr(sorted(Grid(space).point(i).items())) for i in range(size)}
    assert len(frame) == size and points == expected


@pytest.mark.slow
def test_a_shared_grid_queues_nothing_ahead_and_walks_its_seeded_order(space_path):
    # Each trial is a slot numbered as it is created: no WAITING queue of every point, so an
    # ask does not read the whole budget; the n-th slot runs the n-th point of the order.
    runner, frame = sweep(space_path, "grid-shared", trials=12, seed=5)
    trials = sorted(runner.store.trials(), key=lambda t: t.number)
    assert len(frame) == 12 and all(is_slot(t.system_attrs) for t in trials)
    order = np.random.default_rng(5).permutation(Grid(load_space(space_path)).size)
    assert [t.user_attrs["grid_index"] for t in trials] == [int(i) for i in order[:12]]
    grown, frame = sweep(space_path, "grid-shared", trials=15, seed=5)
    indexes = [t.user_attrs["grid_index"] for t in sorted(grown.store.trials(), key=lambda t: t.number)]
    assert len(frame) == 15 and indexes == [int(i) for i in order[:15]]


def test_grid_larger_than_budget_runs_a_seeded_shuffle(space_path):
    first, _ = sweep(space_path, "grid", trials=5, seed=1, study="g1")
    again, _ = sweep(space_path, "grid", trials=5, seed=1, study="g2")
    params = stored_params(first)
    assert params == stored_params(again)
    assert len({repr(sorted(p.items())) for p in params}) == 5
    assert params != [Grid(load_space(space_path)).point(i) for i in range(5)]


def test_too_many_failures_in_a_row_stop_the_sweep(space_path):
    trainer = CheapTrainer(fail_when=lambda p: True)
    with pytest.raises(SweepStopped, match="5 failed trials in a row; last error: ValueError"):
        sweep(space_path, "tpe", trials=20, trainer=trainer)
    runner, _ = sweep(space_path, "tpe", trials=6, trainer=CheapTrainer())
    assert sum(t.state.name == "FAIL" for t in runner.store.trials()) == 5


def test_leaderboard_csv_is_current_after_every_trial(space_path, results_in_tmp, monkeypatch):
    """Trials that take longer than the pace between rewrites (here a pace of nothing, so
    every trial does, whatever the machine's speed) each see the CSV hold every trial
    before them; the CSV is exact at the end whatever the pace."""
    import tuneyard.engine.sweep as sweep_module

    monkeypatch.setattr(sweep_module, "CSV_PACE", 0)
    monkeypatch.setattr(sweep_module, "CSV_MIN_SECONDS", 0.0)
    seen = []

    class Watching(CheapTrainer):
        def run(self, proposal, callbacks=None):
            csv = results_in_tmp / "cheap-tpe-s0" / "leaderboard.csv"
            seen.append(csv.read_text().count("\n") - 1)  # written at open: it exists
            return super().run(proposal, callbacks)

    sweep(space_path, "tpe", trials=4, trainer=Watching())
    assert seen == [0, 1, 2, 3]
    assert (results_in_tmp / "cheap-tpe-s0" / "leaderboard.csv").read_text().count("\n") == 5


def test_a_paced_csv_skips_rewrites_yet_is_exact_at_the_end(space_path, results_in_tmp, monkeypatch):
    """With the pace so slow that no rewrite is ever due, the CSV is rewritten only where it
    must be (at open and at the end), and holds every trial at the end."""
    import tuneyard.engine.sweep as sweep_module

    monkeypatch.setattr(sweep_module, "CSV_PACE", 10**9)
    rewrites = []

    class Counting(Sweep):
        def write_csv(self, saved=None, when_due=False):
            before = self._csv_at
            super().write_csv(saved, when_due)
            rewrites.append(self._csv_at != before)

    Counting(SweepOptions(space=space_path, backend="tpe", trials=12), trainer=CheapTrainer()).run()
    assert len(rewrites) >= 12 and sum(rewrites) <= 3  # open, (the first trial), the end
    lines = (results_in_tmp / "cheap-tpe-s0" / "leaderboard.csv").read_text().splitlines()
    assert len(lines) == 13  # the header and every trial


def test_a_study_name_reused_for_another_space_or_backend_is_refused(space_path):
    sweep(space_path, "tpe", trials=2, study="shared")
    with pytest.raises(TuneyardError, match="study 'shared' belongs to backend 'tpe', not 'grid'"):
        sweep(space_path, "grid", trials=2, study="shared")


@pytest.mark.slow
def test_fresh_starts_over(space_path):
    sweep(space_path, "tpe", trials=3)
    runner, frame = sweep(space_path, "tpe", trials=2, fresh=True)
    assert len(frame) == 2


def test_tpe_starts_modelling_after_a_third_of_a_small_budget():
    from tuneyard.backends.tpe import startup_trials_for

    assert startup_trials_for(None) == 10 == startup_trials_for(300)  # Optuna's default
    assert startup_trials_for(20) == 6
    assert startup_trials_for(3) == 2


def test_a_race_grid_that_its_epoch_budget_buys_whole_is_still_shuffled(space_path, tmp_path):
    """A race caps trials by epochs: a grid of 36 points and a budget that buys 36 trials
    walks a seeded shuffle, so its first trials are not all one learning rate."""
    from tuneyard.backends.grid import GridBackend

    space = load_space(space_path)
    in_order = [Grid(space).point(i) for i in range(6)]
    assert len({p["learning_rate"] for p in in_order}) == 1  # what walking in order would give
    backend = GridBackend(space, seed=0, budget=400, workdir=tmp_path, options={"expected_trials": 36})
    first = [backend.ask().params for _ in range(6)]
    assert backend.shuffled and len({p["learning_rate"] for p in first}) > 1


@pytest.mark.parametrize("backend", SHARED_BACKENDS)
@pytest.mark.slow
def test_a_trial_whose_worker_dies_before_it_trains_is_queued_again(space_path, backend, monkeypatch):
    # A worker asks for a trial (parameters drawn, or a grid slot taken) and is killed
    # before its trial starts training: the trial must go stale like any other, or the
    # other workers wait on it for ever.
    from optuna.trial import TrialState

    from tuneyard.engine.heartbeat import fail_stale
    from tuneyard.engine.sweep import Events
    from tuneyard.records.attributes import RUNNER

    monkeypatch.setenv("TUNEYARD_HEARTBEAT", "1")
    monkeypatch.setenv("TUNEYARD_GRACE", "1")
    dead = Sweep(SweepOptions(space=space_path, backend=backend, trials=4, seed=3, study="dies",
                              shared=True), trainer=CheapTrainer())
    dead.open(Events())
    proposal = dead.backend.ask()
    asked = proposal.trial
    # Its worker ran on another machine: only the heartbeat can tell that it died.
    dead.store.study._storage.set_trial_user_attr(asked._trial_id, RUNNER, "elsewhere:1")
    dead.lock.release()
    # It died an hour ago: its last heartbeat is set back past the 1 s grace, not waited for.
    with dead.store.storage.engine.begin() as db:
        db.execute(sqlalchemy.text("UPDATE trial_heartbeats SET heartbeat = datetime('now', "
                                   "'-1 hour') WHERE trial_id = :trial"), {"trial": asked._trial_id})
    fail_stale(dead.store.study)
    assert dead.store.study._storage.get_trial(asked._trial_id).state == TrialState.FAIL
    runner, frame = sweep(space_path, f"{backend}-shared", trials=4, seed=3, study="dies")
    assert (frame["status"] == "COMPLETE").sum() == 4  # the budget, beside the dead trial's FAIL
    if backend == "grid":
        done = [t.params for t in runner.store.trials() if t.state == TrialState.COMPLETE]
        assert dict(proposal.params) in done  # the dead worker's point ran, on the survivor


@pytest.mark.slow
def test_a_runner_that_finds_the_study_before_its_config_waits_for_it(space_path, monkeypatch):
    # Two commands started together: one creates the study, then writes its config; the
    # other may find the study in between. It waits for the config; a study that never
    # gets one is someone else's and is refused.
    import threading

    import optuna

    import tuneyard.store.optuna_store as optuna_store

    made, _ = sweep(space_path, "tpe", trials=1, study="made")
    config, storage = made.store.study.user_attrs["tuneyard"], made.store.study._storage
    late = optuna.create_study(storage=storage, study_name="late", direction="minimize")
    writer = threading.Timer(0.5, late.set_user_attr, ("tuneyard", config))
    writer.start()
    runner, frame = sweep(space_path, "tpe", trials=2, study="late")
    writer.join()
    assert (frame["status"] == "COMPLETE").sum() == 2
    monkeypatch.setattr(optuna_store, "CONFIG_WAIT_SECONDS", 0.3)
    optuna.create_study(storage=storage, study_name="foreign", direction="minimize")
    with pytest.raises(TuneyardError, match="study 'foreign' was not made by tuneyard"):
        sweep(space_path, "tpe", trials=2, study="foreign")
