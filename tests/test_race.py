"""`tune race`: every backend with the same epoch budget, on the cheap objective (no training)."""

import csv

import pytest
from cheap import SPACE, CheapTrainer
from typer.testing import CliRunner

from tuneyard.cli.main import app
from tuneyard.engine.sweep import Sweep, SweepOptions
from tuneyard.race.run import COURSE, RaceOptions, StudyRun, run_race, write_report
from tuneyard.race.table import best_so_far, epochs_to_reach, table, within_target

BUDGET = 30
# The race reads the sine series' noise floor and linear bound: the cheap space on sine_lstm.
SPACE = (SPACE.replace("workload: tuneyard.testing:TinyRegression", "workload: sine_lstm")
         .replace("  layers:", "  lstm_layers:").replace("units_2:", "units:")
         .replace("when: {layers: [2]}", "when: {lstm_layers: [2]}"))
COURSE_SPACE = SPACE.replace("name: cheap", "name: course_cheap").replace(
    "training: {epochs: 3,", "training: {epochs: 2, executions_per_trial: 3,")


class RepeatsTrainer(CheapTrainer):
    """Counts each trial's epochs once per execution, as the real trainer does."""

    def __init__(self, repeats: int):
        super().__init__()
        self.repeats = repeats

    def run(self, proposal, callbacks=None):
        result = super().run(proposal, callbacks)
        result.epochs_run *= self.repeats
        return result


@pytest.fixture
def spaces(tmp_path):
    (tmp_path / "cheap.yaml").write_text(SPACE)
    (tmp_path / "course_cheap.yaml").write_text(COURSE_SPACE)
    return str(tmp_path / "cheap.yaml"), str(tmp_path / "course_cheap.yaml")


def options(spaces, **extra):
    space, course = spaces
    return RaceOptions(space=space, course_space=course, budget_epochs=BUDGET, repeats=2,
                       trainer_factory=lambda s, seed: RepeatsTrainer(
                           s.training.executions_per_trial), **extra)


@pytest.mark.slow
def test_every_backend_spends_the_budget_and_the_report_is_written(spaces):
    race = run_race(options(spaces))
    assert len(race.runs) == 6 * 2
    for run in race.runs:
        spent = sum(t["epochs"] for t in run.trials)
        if run.entry == "hyperband":
            # Hyperband's trials are not cut: the last one may overshoot, never start past it.
            assert spent - run.trials[-1]["epochs"] < BUDGET <= spent
        else:
            assert spent == BUDGET, run.study
    assert [r.trials for r in race.runs if r.entry == COURSE][0] and all(
        len(r.trials) == 5 for r in race.runs if r.entry == COURSE)
    made = write_report(race)
    assert [r["backend"] for r in made.rows] == ["grid", "random", "hyperband", "bayes", "tpe",
                                                 COURSE]
    # The trials ran here, not in the sine data: the floors are the seeds' own splits'.
    assert sorted(made.floors) == [0, 1] and all(0.005 < f < 0.02 for f in made.floors.values())
    filters = [line for line in made.verdicts if "best linear filter" in line]
    assert len(filters) == 2 and "above the floor" in filters[0]
    for row in made.rows:
        assert row["seeds"] == 2 and row["best_mean"] is not None and row["best_sd"] >= 0
    with open(made.csv) as handle:
        assert len(list(csv.DictReader(handle))) == 6
    from PIL import Image

    with Image.open(made.png) as image:
        image.load()
        assert image.size[0] > 400 and image.size[1] > 300


@pytest.mark.slow
def test_a_rerun_resumes_every_study_without_new_trials(spaces):
    first = run_race(options(spaces, entries=("grid", "tpe")))
    again = run_race(options(spaces, entries=("grid", "tpe")))
    assert [len(r.trials) for r in again.runs] == [len(r.trials) for r in first.runs]


@pytest.mark.slow
def test_the_last_trial_is_capped_to_the_epochs_left(spaces):
    sweep = Sweep(SweepOptions(space=spaces[0], backend="grid", trials=100, budget_epochs=7),
                  trainer=CheapTrainer())
    frame = sweep.run().leaderboard
    assert sorted(frame["epochs"]) == [1, 3, 3]
    assert frame["x_capped_from"].dropna().tolist() == [3]


def run_of(entry, seed, values_and_epochs):
    trials = [{"epochs": e, "value": v, "status": "COMPLETE" if v is not None else "FAIL"}
              for v, e in values_and_epochs]
    return StudyRun(entry, seed, f"{entry}-{seed}", trials, wall_s=1.0)


def test_epochs_to_one_percent_on_a_hand_made_race():
    # Minimised. Seed 0: overall best 1.00 (b), so the target is 1.01.
    # a: 2.0 @10, 1.009 @20 -> 20; b: None @5 (failed), 1.0 @15 -> 15.
    # Seed 1: overall best 2.0 (a @30), target 2.02; b never gets below 2.5 -> not reached.
    runs = [run_of("a", 0, [(2.0, 10), (1.009, 10)]), run_of("b", 0, [(None, 5), (1.0, 10)]),
            run_of("a", 1, [(3.0, 10), (2.5, 10), (2.0, 10)]), run_of("b", 1, [(2.5, 40)])]
    rows = {r["backend"]: r for r in table(runs, maximize=False, entries=["a", "b"])}
    assert rows["a"]["epochs_to_1pct_per_seed"] == "20/30"
    assert rows["a"]["epochs_to_1pct"] == 25 and rows["a"]["reached_1pct"] == "2/2"
    assert rows["b"]["epochs_to_1pct_per_seed"] == "15/-"
    assert rows["b"]["epochs_to_1pct"] is None  # the median of 15 and "never" is never
    assert rows["a"]["best_mean"] == pytest.approx(1.5045)
    assert rows["b"]["best_min"] == 1.0 and rows["b"]["best_max"] == 2.5
    steps = best_so_far(runs[1].trials, maximize=False)
    assert steps == [(5, None), (15, 1.0)]
    assert within_target(0.98, maximize=True) == pytest.approx(0.9702)
    assert epochs_to_reach([(3, 0.5), (6, 0.97)], 0.9702, maximize=True) is None


def test_a_trials_curve_counts_each_epoch_but_never_better_than_its_value():
    # Minimised. The first trial's best epoch (0.9 at epoch 3) is its value; the second trial
    # has a curve of another length (several executions), so it counts at its end only.
    trials = [{"epochs": 4, "value": 0.9, "status": "COMPLETE", "curve": [2.0, 1.5, 0.9, 1.1]},
              {"epochs": 6, "value": 0.5, "status": "COMPLETE", "curve": [0.7, 0.5]},
              {"epochs": 3, "value": None, "status": "PRUNED", "curve": [0.1, 0.1, 0.1]}]
    assert best_so_far(trials, maximize=False) == [(1, 2.0), (2, 1.5), (3, 0.9), (4, 0.9),
                                                   (10, 0.5), (13, 0.5)]
    assert epochs_to_reach(best_so_far(trials, False), 1.6, maximize=False) == 2
    # A curve better than the value it recorded (a value averaged over executions, say)
    # is clipped to the value: the race never claims more than the trial did.
    clipped = [{"epochs": 2, "value": 1.0, "status": "COMPLETE", "curve": [0.8, 0.7]}]
    assert best_so_far(clipped, maximize=False) == [(1, 1.0), (2, 1.0)]
    assert best_so_far([{**clipped[0], "value": 0.6}], maximize=True) == [(1, 0.6), (2, 0.6)]


@pytest.mark.parametrize("args, expected", [
    (["--backends", "grid,annealing"], "unknown backend 'annealing' in --backends; valid "
                                       "backends: grid, tpe, random, hyperband, bayes, course"),
    (["--backends", "tpe,grid", "--budget-epochs", "5"],
     "--budget-epochs 5 is smaller than one trial: 10 epochs x 1 executions of tpe (10 epochs)"),
    (["--backends", "hyperband", "--budget-epochs", "20"], "hyperband (27 epochs)"),
    (["--budget-epochs", "100"], "course (150 epochs); use --budget-epochs 150"),
    (["--repeats", "0"], "--repeats must be at least 1, got 0"),
])
def test_bad_input_is_one_line_and_exit_code_2(args, expected):
    result = CliRunner().invoke(app, ["race", "--space", "sine_lstm", *args])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], lines


def test_bayes_and_tpe_get_the_random_start_their_epochs_pay_for(spaces):
    from tuneyard.backends.kt_backend import BayesBackend
    from tuneyard.race.run import Race, sweep_options
    from tuneyard.space.file import load_space

    race = Race(load_space(spaces[0]), options(spaces))
    # 30 epochs buy ten 3-epoch trials (the trial cap is 30): a third of them random.
    for entry in ("bayes", "tpe"):
        opts = sweep_options(race, entry, 0)
        assert opts.backend_options == {"expected_trials": 10} and opts.trials == 30
        sweep = Sweep(opts, trainer=CheapTrainer())
        assert sweep.expected_trials() == 10
    assert sweep.backend_cls.make_sampler(sweep.space, 0, trials=10)._n_startup_trials == 3
    bayes = BayesBackend(race.space, seed=0, budget=30, workdir=race.folder / "w",
                         options={"expected_trials": 10})
    assert bayes.initial_points() == 3
    # The grid is told too: 36 points and ten trials bought, so it walks a seeded shuffle.
    grid = sweep_options(race, "grid", 0)
    assert grid.backend_options == {"expected_trials": 10}
    assert Sweep(grid, trainer=CheapTrainer()).backend_cls(
        race.space, seed=0, budget=grid.trials, workdir=race.folder / "g",
        options=grid.backend_options).shuffled
    assert sweep_options(race, "random", 0).backend_options == {}
