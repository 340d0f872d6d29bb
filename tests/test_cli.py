"""The `tune` command as a user runs it: real training, real SQLite; a real process for the
end-to-end sweep, the rest in this process (tests/inproc.py: no process start or TensorFlow
import per command)."""

import csv
import subprocess
import sys
from pathlib import Path

import inproc
import pytest

TUNE = [sys.executable, "-m", "tuneyard"]


def tune(*args, cwd=None, check=True, process=False):
    """`tune ARGS`, in this process unless `process`; fails the test on an error if `check`."""
    if process:
        done = subprocess.run([*TUNE, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                              timeout=600)
    else:
        done = inproc.tune(*args, cwd=cwd)
    if check and done.returncode != 0:
        raise AssertionError(f"tune {' '.join(map(str, args))} failed:\n{done.stdout}\n{done.stderr}")
    return done


def test_help_is_instant_and_does_not_import_tensorflow():
    code = ("import sys; from typer.testing import CliRunner; from tuneyard.cli.main import app;"
            "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output;"
            "heavy = [m for m in ('tensorflow', 'keras', 'optuna', 'pandas', 'mlflow', 'tensorboard')"
            " if m in sys.modules];"
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_run_then_leaderboard_end_to_end(results_in_tmp, tmp_path):
    # 200 of the series' windows: what is asserted does not depend on the data's size.
    run = tune("run", "--space", "sine_lstm", "--backend", "tpe", "--trials", 3, "--epochs", 1,
               "--subset", 200, process=True)
    assert "study sine_lstm-tpe-s0" in run.stdout and "leaderboard of sine_lstm-tpe-s0" in run.stdout
    assert "Traceback" not in run.stderr
    csv_path = results_in_tmp / "sine_lstm-tpe-s0" / "leaderboard.csv"
    rows = list(csv.DictReader(csv_path.open()))
    assert len(rows) == 3
    assert [r["rank"] for r in rows] == ["1", "2", "3"]
    values = [float(r["val_mse"]) for r in rows]
    assert values == sorted(values)  # minimised: best first
    assert {"learning_rate", "optimizer", "dropout", "l2", "lstm_layers", "units", "epochs",
            "seconds", "status", "backend"} <= set(rows[0])
    assert {r["backend"] for r in rows} == {"tpe"} and {r["epochs"] for r in rows} == {"1"}

    board = tune("leaderboard", "sine_lstm-tpe-s0", "--top", 2, "--csv", tmp_path / "top.csv")
    assert "leaderboard of sine_lstm-tpe-s0" in board.stdout
    exported = list(csv.DictReader((tmp_path / "top.csv").open()))
    assert [r["trial"] for r in exported] == [r["trial"] for r in rows]

    studies = tune("studies")
    assert "sine_lstm-tpe-s0" in studies.stdout and "sine_lstm" in studies.stdout

    again = tune("run", "--space", "sine_lstm", "--backend", "tpe", "--trials", 4, "--epochs", 1,
                 "--subset", 200)
    assert "resuming study sine_lstm-tpe-s0: 3 of 4 trials done" in again.stdout
    assert len(list(csv.DictReader(csv_path.open()))) == 4


def test_spaces_and_show_space():
    listing = tune("spaces")
    for name in ("mnist_mlp", "cifar_cnn", "sine_lstm"):
        assert name in listing.stdout
    shown = tune("show-space", "sine_lstm")
    assert "learning_rate" in shown.stdout and "grid size: 384" in shown.stdout


BAD = [
    (["run", "--space", "nope"], "unknown space 'nope'; valid spaces: cifar_cnn, "),
    (["run", "--space", "sine_lstm", "--backend", "annealing"], "unknown backend 'annealing'; valid"),
    (["run", "--space", "sine_lstm", "--trials", "0"], "--trials must be at least 1, got 0"),
    (["run", "--space", "sine_lstm", "--trials", "-3"], "--trials must be at least 1, got -3"),
    (["run", "--space", "sine_lstm", "--subset", "5000", "--trials", "1"], "--subset 5000"),
    (["leaderboard", "missing-study"], "no study 'missing-study'"),
    (["show-space", "nope"], "unknown space 'nope'"),
]


@pytest.mark.parametrize("args,message", BAD, ids=[" ".join(b[0][:3]) for b in BAD])
def test_bad_input_gets_one_line_and_exit_code_2(args, message):
    done = tune(*args, check=False)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr


def test_malformed_space_file_names_file_line_and_field(tmp_path):
    bad = tmp_path / "broken.yaml"
    good = Path("search_spaces/sine_lstm.yaml").read_text() if Path("search_spaces").exists() else ""
    from tuneyard.space.file import resolve_space_path

    good = resolve_space_path("sine_lstm").read_text()
    bad.write_text(good.replace("direction: minimize", "direction: downhill"))
    done = tune("run", "--space", bad, check=False)
    assert done.returncode == 2
    line = next(i for i, t in enumerate(bad.read_text().splitlines(), 1) if "downhill" in t)
    assert f"{bad}:{line}: objective.direction: must be maximize or minimize" in done.stderr


@pytest.mark.slow
def test_a_data_dir_without_the_dataset_names_the_file(tmp_path):
    done = tune("run", "--space", "mnist_mlp", "--data-dir", tmp_path, "--trials", 1, check=False)
    assert done.returncode == 2
    assert str(tmp_path / "mnist.npz") in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    studies = tune("studies")
    assert "mnist_mlp-tpe-s0" not in studies.stdout  # nothing half-made was left behind


@pytest.mark.slow
def test_a_study_name_reused_for_another_space_is_refused(results_in_tmp):
    tune("run", "--space", "sine_lstm", "--trials", 1, "--epochs", 1, "--study", "mine")
    done = tune("run", "--space", "mnist_mlp", "--trials", 1, "--study", "mine", check=False)
    assert done.returncode == 2
    assert "study 'mine' belongs to space 'sine_lstm', not 'mnist_mlp'" in done.stderr
    rows = list(csv.DictReader((results_in_tmp / "mine" / "leaderboard.csv").open()))
    assert len(rows) == 1
