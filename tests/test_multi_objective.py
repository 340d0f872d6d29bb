"""Several objectives (issue 22 item 4): the space's `objectives:`, Pareto fronts, the Optuna
backends searching them (tpe, random, grid, nsga2), Keras Tuner's refusing them, the
leaderboard's `front` column and the report's front. The stand-in trainer measures `params`
as tuneyard's trainer would; one slow test measures a real Keras model."""

import csv
import itertools
import random

import optuna
import pytest
from cheap import PARETO_SPACE, SPACE, ParetoTrainer, pareto_params
from inproc import tune

from tuneyard.analysis.pareto import dominates, front_numbers
from tuneyard.engine.sweep import Events, Sweep, SweepOptions
from tuneyard.errors import SpaceError
from tuneyard.space.file import parse_space

# ---------------------------------------------------------------- the space


def test_a_space_names_two_objectives_and_a_single_one_reads_as_before():
    space = parse_space(PARETO_SPACE)
    assert space.multi and (space.metric, space.direction) == ("val_mse", "minimize")
    assert [(o.metric, o.direction) for o in space.objectives] == [
        ("val_mse", "minimize"), ("params", "minimize")]
    assert space.measures == ("params",)
    again = parse_space(__import__("yaml").safe_dump(space.as_dict()))
    assert again.objectives == space.objectives and again.fingerprint() == space.fingerprint()
    single = parse_space(SPACE)
    # A single-objective space: as_dict and fingerprint as before the feature (no measure key).
    assert not single.multi and single.measures == () and "objectives" not in single.as_dict()
    assert single.fingerprint() == "13d189fd70b0257a"


OBJECTIVES_HEAD = "name: p\nworkload: tuneyard.testing:TinyRegression\n"
PARAMS = "hyperparameters:\n  units: {type: int, low: 8, high: 16}\n"


@pytest.mark.parametrize("objectives, says", [
    ("objective: {metric: val_mse, direction: minimize}\nobjectives: [{metric: val_mse, "
     "direction: minimize}, {metric: params, direction: minimize}]\n",
     ":4: objectives: give objective (one) or objectives (two or three), not both"),
    ("objectives: [{metric: val_mse, direction: minimize}]\n", "must list two or three"),
    ("objectives: [{metric: val_mse, direction: minimize}, {metric: params, direction: minimize},"
     " {metric: latency_ms, direction: minimize}, {metric: saved_bytes, direction: minimize}]\n",
     "must list two or three"),
    ("objectives: [{metric: params, direction: minimize}, {metric: val_mse, direction: minimize}]\n",
     "objectives.0.metric: the first objective must be a validation metric"),
    ("objectives: [{metric: val_mse, direction: minimize}, {metric: flops, direction: minimize}]\n",
     "objectives.1.metric: must be a validation metric such as val_accuracy or one of params, "
     "saved_bytes, latency_ms, got 'flops'"),
    ("objectives: [{metric: val_mse, direction: minimize}, {metric: params, direction: down}]\n",
     "objectives.1.direction: must be maximize or minimize, got 'down'"),
    ("objectives: [{metric: val_mse, direction: minimize}, {metric: val_mse, direction: maximize}]\n",
     "objectives.1.metric: val_mse is listed twice"),
    ("objectives: [{metric: val_mse, direction: minimize}, {metric: params}]\n",
     "objectives.1: must be a mapping with metric and direction"),
    ("objective: {metric: val_mse, direction: minimize}\ntraining: {measure: [flops]}\n",
     "training.measure: must be a list of params, saved_bytes, latency_ms"),
])
def test_a_wrong_objectives_entry_is_one_line_naming_the_field(objectives, says):
    with pytest.raises(SpaceError) as caught:
        parse_space(OBJECTIVES_HEAD + objectives + PARAMS, "p.yaml")
    message = str(caught.value)
    assert says in message and "\n" not in message and message.startswith("p.yaml:")


# ---------------------------------------------------------------- Pareto fronts, pure


def brute_fronts(points, maximize):
    """Front numbers by the definition: peel the non-dominated points off, again and again."""
    left, fronts, number = set(range(len(points))), [0] * len(points), 0
    while left:
        number += 1
        first = {i for i in left if not any(dominates(points[j], points[i], maximize) for j in left)}
        for i in first:
            fronts[i] = number
        left -= first
    return fronts


def test_fronts_of_a_small_set_by_hand():
    # (accuracy up, params down): 0 and 1 trade off; 2 is dominated by 1; 3 equals 1; 4 by 2.
    points = [(0.9, 1000), (0.8, 100), (0.7, 200), (0.8, 100), (0.6, 300)]
    assert front_numbers(points, [True, False]) == [1, 1, 2, 1, 3]
    assert dominates((0.8, 100), (0.7, 200), [True, False])
    assert not dominates((0.8, 100), (0.8, 100), [True, False])  # equal: neither
    assert front_numbers([], [True, False]) == []


@pytest.mark.parametrize("dims", [2, 3])
def test_fronts_agree_with_the_definition_on_random_points(dims):
    rng = random.Random(dims)
    for maximize in itertools.product([True, False], repeat=dims):
        # Few distinct values: many ties, the hard case.
        points = [tuple(rng.randint(0, 5) for _ in range(dims)) for _ in range(60)]
        assert front_numbers(points, list(maximize)) == brute_fronts(points, list(maximize))


# ---------------------------------------------------------------- searching them


@pytest.fixture(scope="module")
def space_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("spaces") / "cheap_pareto.yaml"
    path.write_text(PARETO_SPACE)
    return str(path)


@pytest.fixture(scope="module")
def tpe_study(space_file, tmp_path_factory):
    """One 12-trial tpe study, read by several tests."""
    results = tmp_path_factory.mktemp("results")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TUNEYARD_RESULTS_DIR", str(results))
        result = Sweep(SweepOptions(space=space_file, backend="tpe", trials=12),
                       trainer=ParetoTrainer()).run()
    return result, results


def _check_front(rows):
    """Every COMPLETE row: front 1 is what nothing dominates; ranks by front, then val_mse."""
    done = [r for r in rows if r["status"] == "COMPLETE"]
    points = [(float(r["val_mse"]), float(r["params"])) for r in done]
    assert [int(r["front"]) for r in done] == brute_fronts(points, [False, False])
    order = [(int(r["front"]), float(r["val_mse"])) for r in done]
    assert order == sorted(order) and [int(r["rank"]) for r in done] == list(range(1, len(done) + 1))


def test_tpe_searches_both_objectives_and_the_leaderboard_ranks_by_front(tpe_study):
    result, results = tpe_study
    assert result.done == 12 and result.all_failed is None
    study = optuna.load_study(study_name=result.study, storage=f"sqlite:///{results}/tuneyard.db")
    assert [d.name for d in study.directions] == ["MINIMIZE", "MINIMIZE"]
    assert study.metric_names == ["val_mse", "params"]
    for trial in study.trials:
        assert trial.values[1] == trial.user_attrs["params"] == pareto_params(trial.params)
    assert {t.number for t in study.best_trials} == {
        int(r["trial"]) for r in result.leaderboard.to_dict("records") if r["front"] == 1}
    with open(result.csv_path) as handle:
        rows = list(csv.DictReader(handle))
    header = list(rows[0])
    assert header[:3] == ["rank", "front", "trial"] and "params" in header
    _check_front(rows)
    # "best" is rank 1: the front's member best on the first objective.
    assert result.best == float(rows[0]["val_mse"]) == min(float(r["val_mse"]) for r in rows)


@pytest.mark.parametrize("backend, sampler", [
    ("random", "RandomSampler"), ("grid", "RandomSampler"), ("nsga2", "NSGAIISampler")])
def test_the_optuna_backends_search_several_objectives(space_file, backend, sampler):
    sweep = Sweep(SweepOptions(space=space_file, backend=backend, trials=8), trainer=ParetoTrainer())
    result = sweep.run()
    assert result.done == 8 and result.all_failed is None
    # `random` is Optuna's here (Keras Tuner's RandomSearch searches one objective).
    assert type(sweep.store.study.sampler).__name__ == sampler
    assert all(len(t.values) == 2 for t in sweep.store.study.trials)
    _check_front(result.leaderboard.to_dict("records"))


def test_a_trial_whose_objective_was_not_measured_fails_and_the_sweep_goes_on(space_file):
    class Unmeasured(ParetoTrainer):
        def run(self, proposal, callbacks=None):
            result = super().run(proposal, callbacks)
            if proposal.params["units"] == 8:
                result.measures = {}
            return result

    result = Sweep(SweepOptions(space=space_file, backend="grid", trials=8), trainer=Unmeasured()).run()
    failed = [r for r in result.rows if r["status"] == "FAIL"]
    assert len(failed) == 2 and all(r["params"]["units"] == 8 for r in failed)
    assert failed[0]["error"] == "objective params was not measured (got None)"


def test_pruning_is_off_for_several_objectives_with_one_notice(space_file):
    said = []

    class Heard(Events):
        def message(self, text):
            said.append(text)

    sweep = Sweep(SweepOptions(space=space_file, backend="tpe", trials=3, prune="median"),
                  trainer=ParetoTrainer())
    result = sweep.run(Heard())
    assert result.done == 3 and sweep.store.config["prune"] == "none"
    notices = [line for line in said if "prune" in line]
    assert notices == ["warning: --prune median is off: Optuna cannot prune a study of several "
                       "objectives; every trial trains its full epochs"]


@pytest.mark.parametrize("backend", ["hyperband", "bayes"])
def test_keras_tuner_backends_refuse_several_objectives_in_one_line(space_file, backend):
    done = tune("run", "--space", space_file, "--backend", backend, "--trials", "2")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"backend {backend} is Keras Tuner's, which searches one " \
        "objective, and this space names several; choose tpe, random, grid or nsga2" in lines[0]


def test_leaderboard_and_report_of_a_stored_study_show_the_front(tpe_study):
    result, results = tpe_study
    env = {"TUNEYARD_RESULTS_DIR": str(results)}
    shown = tune("leaderboard", result.study, "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    import json

    rows = json.loads(shown.stdout)
    assert rows[0]["front"] == 1 and "params" in rows[0]
    report = tune("report", result.study, env=env)
    assert report.returncode == 0, report.stderr
    page = (results / result.study / "report" / "index.html").read_text()
    assert '<figure id="pareto"><h3>Pareto front</h3>' in page
    assert (results / result.study / "report" / "pareto.png").stat().st_size > 10_000


# ---------------------------------------------------------------- a real Keras model


@pytest.mark.slow
def test_a_real_model_is_measured_and_any_point_of_the_front_is_given(results_in_tmp):
    """tuneyard.search on TinyRegression (1 epoch, 2 grid points): params, saved_bytes and
    latency_ms measured of the real model; SearchResult's front and trial(n); `tune export
    --trial N` of a trial whose model the sweep did not keep."""
    import keras

    import tuneyard
    from tuneyard.testing import TinyRegression

    space = {"objectives": [{"metric": "val_mse", "direction": "minimize"},
                            {"metric": "params", "direction": "minimize"},
                            {"metric": "latency_ms", "direction": "minimize"}],
             "training": {"epochs": 1, "batch_size": 64, "measure": ["saved_bytes"]},
             "hyperparameters": {"units": {"type": "choice", "values": [4, 64]},
                                 "learning_rate": {"type": "choice", "values": [0.01]}}}
    result = tuneyard.search(workload=TinyRegression(), space=space, backend="grid", trials=2,
                             progress=False, study="real-pareto")
    assert result.objectives == ("val_mse", "params", "latency_ms")
    by_units = {p["hyperparameters"]["units"]: p for p in
                (result.trial(n) for n in result.leaderboard["trial"])}
    for units, point in by_units.items():
        built = TinyRegression().build_model({"units": units, "learning_rate": 0.01}, None, {})
        values = point["values"]
        assert values["params"] == built.count_params() == 8 * units + units + units + 1
        assert 0 < values["latency_ms"] < 1000 and values["saved_bytes"] > 4 * built.count_params()
    assert by_units[4]["front"] == 1 and result.front  # fewest params: never dominated
    assert [p["trial"] for p in result.front] == [
        int(n) for n in result.leaderboard[result.leaderboard["front"] == 1]["trial"]]
    with pytest.raises(tuneyard.TuneyardError, match="number: study 'real-pareto' has no trial 7"):
        result.trial(7)
    # The trial whose model was not kept as best.keras: export retrains it.
    other = next(p["trial"] for p in by_units.values() if p["rank"] != 1)
    out = results_in_tmp.parent / "other.keras"
    done = tune("export", "real-pareto", "--trial", str(other), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert keras.models.load_model(out).count_params() == \
        result.trial(other)["values"]["params"]
