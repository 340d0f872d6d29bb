"""Issue 22's smaller wrong outputs, each read as a user does: what ran is what is said."""

import json

import optuna
import pytest
from cheap import SPACE, CheapTrainer
from inproc import tune

from tuneyard.analysis.suggestions import suggestion
from tuneyard.analysis.trial_diagnosis import trial_diagnosis
from tuneyard.engine.sweep import Sweep, SweepOptions
from tuneyard.report.build import curves_words, evaluation_caption
from tuneyard.report.html import header_keys

optuna.logging.set_verbosity(optuna.logging.WARNING)
# The cheap space without its own max_epochs, as most users write one.
NO_MAX = SPACE.replace("training: {epochs: 3, batch_size: 16, max_epochs: 9, factor: 3}",
                       "training: {epochs: 4, batch_size: 16, factor: 2}")


@pytest.fixture
def no_max(tmp_path):
    path = tmp_path / "cheap.yaml"
    path.write_text(NO_MAX)
    return str(path)


@pytest.mark.slow
@pytest.mark.parametrize("given, largest", [({}, 4), ({"epochs": 2}, 2), ({"max_epochs": 8}, 8)])
def test_hyperband_largest_budget_is_the_spaces_epochs_unless_told(no_max, given, largest):
    epochs = given.pop("epochs", None)
    trainer = CheapTrainer()
    sweep = Sweep(SweepOptions(space=no_max, backend="hyperband", epochs=epochs,
                               backend_options=given), trainer=trainer)
    sweep.run()
    assert max(p.epochs for p in trainer.calls) == largest
    config = sweep.config()
    assert (config["max_epochs"], config["factor"]) == (largest, 2)
    # The report's header names what ran: Hyperband's budget, not the space's epochs.
    assert "max_epochs" in header_keys(config) and "epochs" not in header_keys(config)


def test_a_spaces_own_max_epochs_still_wins_over_its_epochs(tmp_path):
    path = tmp_path / "cheap.yaml"
    path.write_text(SPACE)  # epochs 3, max_epochs 9
    sweep = Sweep(SweepOptions(space=str(path), backend="hyperband", trials=1),
                  trainer=CheapTrainer())
    assert sweep.config()["max_epochs"] == 9


@pytest.fixture(scope="module")
def cheap_study(tmp_path_factory):
    """A 3-trial study of the cheap space (a workload with no course network), made once:
    (the study's name, its results folder)."""
    folder = tmp_path_factory.mktemp("cheap")
    (folder / "cheap.yaml").write_text(SPACE)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TUNEYARD_RESULTS_DIR", str(folder / "results"))
        sweep = Sweep(SweepOptions(space=str(folder / "cheap.yaml"), backend="tpe", trials=3),
                      trainer=CheapTrainer())
        sweep.run()
    return sweep.study_name, folder / "results"


def test_leaderboard_json_keeps_only_the_columns_asked_for(cheap_study, monkeypatch):
    study, results = cheap_study
    monkeypatch.setenv("TUNEYARD_RESULTS_DIR", str(results))
    shown = tune("leaderboard", study, "--json", "--columns", "trial,val_mse", "--top", "2")
    rows = json.loads(shown.stdout)
    assert len(rows) == 2 and all(list(row) == ["trial", "val_mse"] for row in rows)
    wrong = tune("leaderboard", study, "--json", "--columns", "trial,nope")
    assert wrong.returncode == 2 and wrong.stderr.startswith("error: no column nope; columns: ")


def test_the_sine_diagnosis_names_the_spaces_own_parameters():
    config = {"space": "sine_lstm", "metric": "val_mse", "direction": "minimize"}
    stored = {"result": {"diagnosis": {"label": "underfitting", "reason": "flat"}}}
    text = trial_diagnosis(stored, config).suggestion
    assert text.startswith("add capacity (lstm_layers, units), lower dropout/l2")
    assert "num_layers" not in text
    # A space without such knobs is told plainly, not given names it does not have.
    assert suggestion("overfitting", {"rate"}).startswith("regularise (dropout or L2 in the model)")
    assert suggestion("diverged", {"learning_rate", "optimizer"}).startswith(
        "lower learning_rate (try 10x smaller) or use adam/adamw")


@pytest.mark.parametrize("drawn, with_history, words", [
    (4, 4, "all 4 completed trials"), (5, 9, "the best 5 trials"), (1, 3, "the best trial"),
    (1, 1, "the one completed trial")])
def test_the_curves_caption_gives_the_real_count(drawn, with_history, words):
    assert curves_words(drawn, with_history) == words


def test_the_test_caption_and_evaluate_help_say_whether_the_model_was_retrained():
    assert evaluation_caption({"model": "saved"}).startswith("The best trial's model as the sweep kept it")
    assert "retrained" not in evaluation_caption({"model": "saved"})
    assert evaluation_caption({"model": "retrained"}).startswith("The best trial, retrained")
    helped = tune("evaluate", "--help").stdout
    assert "Score the best trial's model" in helped and "Retrain the best" not in helped


@pytest.mark.parametrize("command", [["evaluate", "nosuch"], ["report", "nosuch", "--evaluate"]])
def test_a_read_command_on_an_unknown_study_elsewhere_creates_nothing(tmp_path, command):
    done = tune(*command, cwd=tmp_path, env={"TUNEYARD_RESULTS_DIR": ""})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no study 'nosuch'"), lines
    assert list(tmp_path.iterdir()) == []


def test_delete_removes_race_and_comparison_output_only_inside_results(results_in_tmp):
    race = results_in_tmp / "race-sine_lstm"
    compare = results_in_tmp / "compare-sine_lstm-units-s0"
    several = results_in_tmp / "regularisation"
    other = results_in_tmp / "notes"
    for folder, name in ((race, "race.csv"), (compare, "comparison.json"),
                         (several / "sine_lstm-lr0.001-s0", "comparison.json"), (other, "a.txt")):
        folder.mkdir(parents=True)
        (folder / name).write_text("x")
    for name, kind in (("race-sine_lstm", "race"), ("compare-sine_lstm-units-s0", "comparison"),
                       ("regularisation", "1 comparison")):
        done = tune("delete", name, "--yes")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"deleted the {kind} output"), done.stdout
        assert not (results_in_tmp / name).exists()
    refused = tune("delete", "notes", "--yes")  # not tuneyard's output: left alone
    assert refused.returncode == 2 and (other / "a.txt").is_file()
    assert tune("delete", "../race-x", "--yes").returncode == 2


def test_compare_regularisation_on_a_users_study_gives_the_real_reason(cheap_study, monkeypatch):
    study, results = cheap_study
    monkeypatch.setenv("TUNEYARD_RESULTS_DIR", str(results))
    done = tune("compare-regularisation", "--study", study)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown space" not in lines[0]
    assert ("compare-regularisation trains a workload's course network, and workload "
            "'tuneyard.testing:TinyRegression' names none") in lines[0]
