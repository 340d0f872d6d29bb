"""Issue 22 item 3, carrying earlier work on: a changed study refused naming what changed,
--warm-from, --enqueue. The stand-in trainer and in-process commands: no TensorFlow."""

import numpy as np
import optuna
import pytest
from cheap import SPACE, CheapTrainer
from inproc import tune

import tuneyard
from tuneyard.engine.sweep import Events, Sweep, SweepOptions
from tuneyard.errors import BackendError, SpaceError, StoreError
from tuneyard.store.study_changes import refusal

optuna.logging.set_verbosity(optuna.logging.WARNING)
# The cheap space with units_2 widened, the epochs changed and rmsprop dropped.
WIDER = (SPACE.replace("high: 96, step: 32", "high: 160, step: 32").replace("epochs: 3,", "epochs: 5,")
         .replace("values: [adam, sgd, rmsprop]", "values: [adam, sgd]"))


class Said(Events):
    """The sweep's messages, kept."""

    def __init__(self):
        self.lines = []

    def message(self, text):
        self.lines.append(text)


@pytest.fixture(scope="module")
def earlier(tmp_path_factory):
    """An 8-trial tpe study of the cheap space (cheap-tpe-s0) and one of 10 grid points
    (cheap-grid-s0), made once: the folder holding the spaces and the results."""
    folder = tmp_path_factory.mktemp("carry")
    (folder / "cheap.yaml").write_text(SPACE)
    (folder / "wider.yaml").write_text(WIDER)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TUNEYARD_RESULTS_DIR", str(folder / "results"))
        for backend, trials in (("tpe", 8), ("grid", 10)):
            Sweep(SweepOptions(space=str(folder / "cheap.yaml"), backend=backend, trials=trials),
                  trainer=CheapTrainer()).run()
    return folder


@pytest.fixture
def here(earlier, monkeypatch):
    monkeypatch.setenv("TUNEYARD_RESULTS_DIR", str(earlier / "results"))
    return earlier


def run(folder, space="wider.yaml", trainer=None, **options):
    said, trainer = Said(), trainer or CheapTrainer()
    result = Sweep(SweepOptions(space=str(folder / space), **options), trainer=trainer).run(said)
    return result, trainer, said.lines


def test_a_changed_space_is_refused_naming_each_changed_field_and_the_ways_on(here):
    done = tune("run", "--space", here / "wider.yaml", "--trials", "8")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    said = " ".join(done.stderr.split())
    for field in ("units_2.high: 96 -> 160", "training.epochs: 3 -> 5",
                  "optimizer.values: [adam, sgd, rmsprop] -> [adam, sgd]", "--fresh",
                  "--warm-from cheap-tpe-s0 --study NEW_NAME"):
        assert field in said, said
    assert "fingerprint" not in said and "epochs: 3 -> 5; epochs" not in said  # said once
    with pytest.raises(StoreError, match=r"fresh=True .* warm_from='cheap-tpe-s0', study='new_name'"):
        run(here, trials=8, api=True)  # tuneyard.search's words


def test_a_study_stored_before_its_space_body_still_says_what_changed():
    from tuneyard.space.file import parse_space, space_text

    old, new = parse_space(SPACE, check_workload=False), parse_space(WIDER, check_workload=False)
    was = {"fingerprint": old.fingerprint(), "space_text": space_text(old), "epochs": 3, "seed": 0}
    now = {"fingerprint": new.fingerprint(), "space_body": new.fingerprint_body(), "epochs": 5, "seed": 0}
    assert "units_2.high: 96 -> 160" in refusal("s", was, now)  # read from the space text it kept
    bare = {"fingerprint": old.fingerprint(), "epochs": 3, "seed": 1}
    text = refusal("s", bare, now)  # kept neither: the hashes, said as such, and the settings
    assert "fields cannot be named" in text and "seed: 1 -> 0" in text and "--fresh" in text


def test_warm_from_carries_the_trials_that_fit_marked_and_outside_the_budget(here):
    result, trainer, said = run(here, study="wider", trials=4, warm_from="cheap-tpe-s0")
    rows = result.leaderboard
    warm = rows[rows["status"] == "WARM"]
    earlier = optuna.load_study(study_name="cheap-tpe-s0", storage=f"sqlite:///{here}/results/tuneyard.db")
    fits = [t for t in earlier.trials if t.params["optimizer"] != "rmsprop"]
    assert 0 < len(fits) < 8  # some fit the narrower optimizer choice, some do not
    assert len(warm) == len(fits) and warm["rank"].isna().all()
    assert set(warm["x_warm_from"]) == {f"cheap-tpe-s0#{t.number}" for t in fits}
    assert sorted(warm["val_mse"]) == sorted(t.value for t in fits)  # their values, shown
    # Not counted: the budget of 4 ran 4 trials, and the ranks are theirs alone.
    assert len(trainer.calls) == 4 == result.done and rows["rank"].max() == 4
    assert any(f"carried {len(fits)} of 8 finished trials from study cheap-tpe-s0 (skipped "
               f"{8 - len(fits)}: optimizer outside one of adam, sgd ({8 - len(fits)}))" in s
               for s in said), said
    assert any("units_2.high: 96 -> 160" in s for s in said)
    # Optuna's sampler sees them as finished trials of the study, values and curves included.
    study = optuna.load_study(study_name="wider", storage=f"sqlite:///{here}/results/tuneyard.db")
    told = [t for t in study.get_trials(states=[optuna.trial.TrialState.COMPLETE])
            if t.user_attrs.get("warm_from")]
    assert len(told) == len(fits) and all(t.intermediate_values for t in told)
    # The same command resumes: nothing carried twice, nothing more to run.
    again, trainer, said = run(here, study="wider", trials=4, warm_from="cheap-tpe-s0")
    assert not trainer.calls and (again.leaderboard["status"] == "WARM").sum() == len(fits)
    assert "WARM" in (here / "results" / "wider" / "leaderboard.csv").read_text()


def test_warm_from_needs_a_new_study_and_an_earlier_one_that_exists(here):
    default = tune("run", "--space", here / "cheap.yaml", "--warm-from", "cheap-tpe-s0")
    assert default.returncode == 2
    assert "names the study this run would use; give the new study its own name with --study" \
        in " ".join(default.stderr.split())
    with pytest.raises(StoreError, match="study 'cheap-grid-s0' exists already, not warm-started"):
        run(here, space="cheap.yaml", backend="grid", warm_from="cheap-tpe-s0")
    with pytest.raises(StoreError, match=r"^warm_from='nope': no study 'nope' in .*cheap-tpe-s0"):
        tuneyard.search(lambda p: None, (np.zeros((8, 2)), np.zeros(8)), space=str(here / "cheap.yaml"),
                        study="new", warm_from="nope", progress=False)


def test_the_grid_skips_points_the_carried_trials_ran(here):
    result, trainer, said = run(here, space="cheap.yaml", backend="grid", study="grid-warm",
                                trials=36, warm_from="cheap-grid-s0")
    carried = result.leaderboard[result.leaderboard["status"] == "WARM"]
    ran = [tuple(sorted(p.params.items())) for p in trainer.calls]
    assert len(carried) == 10 and len(ran) == 26 == len(set(ran))  # the 36-point grid, once
    assert not set(ran) & {tuple(sorted((k, v) for k, v in r.items() if k in
                                        ("learning_rate", "optimizer", "layers", "units_2") and v == v))
                           for r in carried.to_dict("records")}
    assert "the grid skips the 10 of its points that the carried trials ran" in said


def test_enqueued_configurations_run_first_and_count_against_the_budget(here):
    given = [{"learning_rate": 0.003, "optimizer": "adam", "layers": 1}, {"optimizer": "sgd"}]
    result, trainer, said = run(here, space="cheap.yaml", study="queued", trials=4, enqueue=given)
    assert trainer.calls[0].params == given[0]
    assert trainer.calls[1].params["optimizer"] == "sgd"  # tpe sampled the rest
    assert len(trainer.calls) == 4 == result.done
    assert result.leaderboard["x_enqueued"].eq(True).sum() == 2
    assert "enqueued 2 configurations to run first" in said
    again, trainer, said = run(here, space="cheap.yaml", study="queued", trials=5, enqueue=given)
    assert len(trainer.calls) == 1 and trainer.calls[0].params != given[0]  # not queued twice
    assert "enqueue: all 2 configurations given already ran or are queued in this study" in said


def test_the_grid_runs_enqueued_points_first_and_refuses_others(here, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("- {learning_rate: 1.0e-2, optimizer: sgd, layers: 2, units_2: 64}\n")
    result, trainer, said = run(here, space="cheap.yaml", backend="grid", study="grid-queued",
                                trials=2, enqueue=str(good))
    assert trainer.calls[0].params == {"learning_rate": 0.01, "optimizer": "sgd", "layers": 2,
                                       "units_2": 64}
    with pytest.raises(SpaceError, match=r"configuration 1: learning_rate=0.005 is outside the "
                                         r"space: learning_rate takes one of the grid's values "
                                         r"0.0001, 0.001, 0.01$"):
        run(here, space="cheap.yaml", backend="grid", study="g2",
            enqueue=[{"learning_rate": 0.005, "optimizer": "sgd", "layers": 1}])
    with pytest.raises(SpaceError, match="configuration 1: layers is missing"):
        run(here, space="cheap.yaml", backend="grid", study="g2",
            enqueue=[{"learning_rate": 0.01, "optimizer": "sgd"}])


def test_a_configuration_outside_the_space_is_one_line_naming_the_parameter(here, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('[{"learning_rate": 0.01, "optimizer": "adam", "layers": 3}]')
    done = tune("run", "--space", here / "cheap.yaml", "--study", "x", "--enqueue", bad)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert (f"--enqueue {bad}, configuration 1: layers=3 is outside the space: layers takes an int "
            "from 1 to 2") in " ".join(done.stderr.split())
    with pytest.raises(SpaceError, match=r"^enqueue=, configuration 2: units_2 applies only when "
                                         r"layers is one of 2$"):
        tuneyard.search(lambda p: None, (np.zeros((8, 2)), np.zeros(8)), space=str(here / "cheap.yaml"),
                        study="x", enqueue=[{"optimizer": "adam"}, {"layers": 1, "units_2": 64}],
                        progress=False)
    assert not (here / "results" / "x").exists()  # refused before any study was written


def test_hyperband_and_a_shared_grid_refuse_both_in_one_line(here):
    """Checked where the sweep is made (here without the Keras Tuner import a Sweep of
    hyperband pays to check its space)."""
    from tuneyard.backends.grid import SharedGridBackend
    from tuneyard.backends.hyperband import HyperbandBackend
    from tuneyard.engine.carry_on import CarryOn
    from tuneyard.space.file import load_space

    space = load_space(str(here / "cheap.yaml"))
    for backend, words in ((HyperbandBackend, "hyperband runs its own bracket schedule"),
                           (SharedGridBackend, "a grid shared through a server storage")):
        for option, flag in (({"warm_from": "cheap-tpe-s0"}, "--warm-from: "),
                             ({"enqueue": [{"optimizer": "adam"}]}, "--enqueue: ")):
            with pytest.raises(BackendError, match=f"^{flag}{words}"):
                CarryOn(SweepOptions(space=space, **option), space, backend, "new")


def test_keras_tuner_oracles_take_carried_trials_and_enqueued_points(here):
    """Keras Tuner's random oracle (bayes goes through the same code, and pays a Gaussian
    process fit): the carried trials are told to it as ended trials, and an enqueued
    configuration is its first proposal."""
    given = {"learning_rate": 0.002, "optimizer": "adam", "layers": 1}
    result, trainer, said = run(here, backend="random", study="kt-warm", trials=2,
                                warm_from="cheap-tpe-s0", enqueue=[given])
    warm = (result.leaderboard["status"] == "WARM").sum()
    assert trainer.calls[0].params == given and len(trainer.calls) == 2
    assert f"Keras Tuner's random oracle was told the {warm} carried trials" in said
    oracle = here / "results" / "kt-warm" / "kt" / "oracle"
    assert len(list(oracle.glob("trial_*"))) == warm + 2  # the oracle's own trials, and theirs
    again, trainer, said = run(here, backend="random", study="kt-warm", trials=2,
                               warm_from="cheap-tpe-s0")
    assert not trainer.calls and not any("oracle was told" in s for s in said)  # it kept them
