"""Nothing lost, whatever is typed: study names, storage faults, many runners, failed sweeps.

Real `tune` processes against a real SQLite file (tiny sine sweeps: 100 windows,
one epoch) where processes matter (several runners, a kill, another user's rights);
elsewhere `tune` runs in this process (tests/inproc.py), against the same real files.
A read-only folder means nothing to root, so the processes that must meet one run with
CAP_DAC_OVERRIDE dropped (setpriv), as an ordinary user would.
"""

import csv
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import hanging
import optuna
import pytest
from inproc import tune as tune_here

pytestmark = pytest.mark.slow  # every test here trains or takes over a second

TUNE = [sys.executable, "-m", "tuneyard"]
RULE = "a study name is one folder name"
# A real workload that trains in a blink (tuneyard.testing): most tests here need a
# study to protect or a store to break, not a long trial.
TINY_SPACE = """\
name: tiny
workload: tuneyard.testing:TinyRegression
objective: {metric: val_mse, direction: minimize}
training: {epochs: 1, batch_size: 32, patience: 0, validation_split: 0.2}
hyperparameters:
  learning_rate: {type: float, low: 1.0e-3, high: 1.0e-1, log: true}
  units: {type: int, low: 4, high: 16}
"""


@pytest.fixture(scope="session")
def tiny_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("spaces") / "tiny.yaml"
    path.write_text(TINY_SPACE)
    return str(path)


@pytest.fixture
def TINY(tiny_path):  # noqa: N802 - reads as the option list it is
    return ["--space", tiny_path]


def tune(*args, cwd, env=None, as_user=False, timeout=600):
    prefix = []
    if as_user and os.geteuid() == 0:
        prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
    return subprocess.run(
        [*prefix, *TUNE, *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def one_error_line(done, code=2):
    assert done.returncode == code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def stored(results, study):
    storage = f"sqlite:///{results / 'tuneyard.db'}"
    return optuna.load_study(study_name=study, storage=storage).get_trials(deepcopy=False)


def csv_rows(path):
    return list(csv.DictReader(path.open()))


def snapshot(folder):
    """Every file under `folder` with its size and mtime (links as their target text)."""
    out = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(root, name)
            if os.path.islink(path):
                out[path] = ("link", os.readlink(path))
            elif os.path.isfile(path):
                info = os.stat(path)
                out[path] = (info.st_size, info.st_mtime_ns)
            else:
                out[path] = ("dir",)
    return out


@pytest.fixture(scope="module")
def made_once(tmp_path_factory, tiny_path):
    """A results folder with one study of one finished trial, trained once for the module."""
    from tuneyard.engine.sweep import Sweep, SweepOptions

    results = tmp_path_factory.mktemp("made") / "results"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TUNEYARD_RESULTS_DIR", str(results))
        Sweep(SweepOptions(space=tiny_path, trials=1, study="kept")).run()
    return results


@pytest.fixture
def made(results_in_tmp, made_once):
    """The module's study with one finished trial, copied for this test to protect."""
    shutil.copytree(made_once, results_in_tmp, symlinks=True)
    return results_in_tmp


# --- 1. study names are names -------------------------------------------------------


def test_a_name_that_is_a_path_is_refused_and_nothing_is_deleted(made, tmp_path, TINY):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("mine")
    before = snapshot(tmp_path)
    for name in [str(victim), ".", "..", "", "a/b", "a\\b", "../kept", "tab\there", "x" * 200]:
        done = tune_here("run", *TINY, "--trials", 1, "--study", name, "--fresh", cwd=tmp_path)
        assert RULE in one_error_line(done), name
        assert snapshot(tmp_path) == before, name
    assert [t.state.name for t in stored(made, "kept")] == ["COMPLETE"]


def test_unicode_and_spaces_stay_allowed(results_in_tmp, tmp_path, TINY):
    done = tune_here("run", *TINY, "--trials", 1, "--study", "étude 名前 1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(csv_rows(results_in_tmp / "étude 名前 1" / "leaderboard.csv")) == 1


def test_a_study_folder_linking_out_of_results_is_neither_written_nor_deleted(made, tmp_path, TINY):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("mine")
    (made / "linked").symlink_to(outside)
    for extra in ([], ["--fresh"]):
        done = tune_here("run", *TINY, "--trials", 1, "--study", "linked", *extra, cwd=tmp_path)
        assert "outside the results folder" in one_error_line(done)
    assert os.listdir(outside) == ["precious.txt"]


# Fragments that, joined at random, make names with every path trick in them.
FRAGMENTS = [
    "..",
    ".",
    "/",
    "\\",
    "\x00",
    "\n",
    "\x1b",
    "~",
    " ",
    "é",
    "名前",
    "kept",
    "outside",
    "results",
    "tuneyard.db",
    "*",
    "$HOME",
    "%2e%2e",
    "-",
    "link",
    "",
    "\u202e",
]


def generated_names(count, seed=7):
    import random

    rng = random.Random(seed)
    names = {"link", "results", "..", "/", "kept/../..", "\x00", "./kept"}
    while len(names) < count:
        names.add("".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 4))))
    return sorted(names)


def test_generated_names_never_touch_a_file_outside_results(made, tmp_path, monkeypatch, TINY):
    """In this process (a NUL cannot pass through argv): every name either runs a real
    one-trial sweep with --fresh or is refused, and nothing outside results/ changes. The
    names are under test: the sweeps train on tests/hanging.py's stand-in."""
    from typer.testing import CliRunner

    from tuneyard.cli.main import app

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("mine")
    (made / "link").symlink_to(outside)
    monkeypatch.chdir(tmp_path)
    hanging.use_stand_in(monkeypatch)
    watched = {p: v for p, v in snapshot(tmp_path).items() if not p.startswith(str(made))}
    refused = ran = 0
    for name in generated_names(30):
        result = CliRunner().invoke(
            app, ["run", *map(str, TINY), "--trials", "1", "--study", name, "--fresh"]
        )
        assert result.exit_code in (0, 2), (name, result.output)
        assert "Traceback" not in result.output
        refused += result.exit_code == 2
        ran += result.exit_code == 0
        now = {p: v for p, v in snapshot(tmp_path).items() if not p.startswith(str(made))}
        assert now == watched, f"{name!r} changed files outside results/"
    assert refused >= 10 and ran >= 5  # both kinds were really exercised
    assert [t.state.name for t in stored(made, "kept")] == ["COMPLETE"]


# --- 2. the store is the one truth ----------------------------------------------------


def test_two_runners_on_one_tpe_study_share_the_budget_exactly(results_in_tmp, tmp_path, TINY,
                                                                monkeypatch):
    hanging.use_stand_in(monkeypatch)  # the store's claims are under test, not training
    command = [*TUNE, "run", *TINY, "--trials", "3", "--study", "together"]
    runners = [
        subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [r.communicate(timeout=600) for r in runners]
    assert [r.returncode for r in runners] == [0, 0], outputs
    trials = stored(results_in_tmp, "together")
    spent = [t for t in trials if not t.user_attrs.get("surplus")]
    assert [t.state.name for t in spent] == ["COMPLETE"] * 3
    assert all(t.value is not None for t in spent)
    assert sorted(t.number for t in trials) == list(range(len(trials)))  # one numbering, no gap
    points = [json.dumps(t.params, sort_keys=True) for t in spent]
    assert len(set(points)) == 3, points  # distinct start-up points
    table = csv_rows(results_in_tmp / "together" / "leaderboard.csv")
    assert sorted(int(r["trial"]) for r in table) == sorted(t.number for t in spent)
    assert [r["status"] for r in table] == ["COMPLETE"] * 3  # written last, by whoever ended last
    for out, _ in outputs:  # each runner's table lists the whole study, finished or running
        assert out.count("│ COMPLETE") + out.count("│ RUNNING") == 3, out


def test_a_killed_runner_s_trial_is_recorded_and_run_again(results_in_tmp, tmp_path, monkeypatch):
    # Killed while its trial never returns (tests/hanging.py): killed mid-trial for certain.
    hanging.write(tmp_path)
    space = tmp_path / "hangs_first.yaml"  # tpe: its trials are in the store from the ask
    space.write_text(hanging.SPACE.replace("values: [false, true], grid: [false, true]", "values: [true]")
                     + "  units: {type: int, low: 4, high: 8}\n")
    marker = tmp_path / "hanging"
    monkeypatch.setenv("HANG_MARKER", str(marker))
    hanging.use_stand_in(monkeypatch)  # the same hang, in processes that load no TensorFlow
    command = [*TUNE, "run", "--space", str(space), "--trials", "2", "--study", "orphan"]
    victim = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 300
    while not marker.exists() or not marker.read_text():
        assert victim.poll() is None and time.monotonic() < deadline, victim.communicate()
        time.sleep(0.05)
    assert [t.state.name for t in stored(results_in_tmp, "orphan")] == ["RUNNING"]
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    again = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert "left running by a process that is gone" in again.stdout
    states = [t.state.name for t in stored(results_in_tmp, "orphan")]
    assert states.count("COMPLETE") == 2 and states.count("RUNNING") == 0


def _trials_if_any(results, study):
    try:
        return stored(results, study)
    except (KeyError, Exception):
        return []


# --- 3. storage faults ----------------------------------------------------------------


def test_a_read_only_study_folder_is_refused_before_training(made, tmp_path, TINY):
    os.chmod(made / "kept", 0o555)
    try:
        done = tune("run", *TINY, "--trials", 2, "--study", "kept", cwd=tmp_path, as_user=True)
    finally:
        os.chmod(made / "kept", 0o755)
    assert "the study folder" in one_error_line(done) and "not writable" in done.stderr
    assert len(stored(made, "kept")) == 1  # nothing trained, nothing recorded


def test_a_read_only_database_is_refused_and_still_readable(made, tmp_path, TINY, monkeypatch):
    hanging.use_stand_in(monkeypatch)  # the resumed trial trains on the stand-in
    db = made / "tuneyard.db"
    os.chmod(db, 0o444)
    try:
        done = tune("run", *TINY, "--trials", 2, "--study", "kept", cwd=tmp_path, as_user=True)
        assert str(db.name) in one_error_line(done) and "Permission denied" in done.stderr
        for command, shown in (
            (["studies"], "kept"),
            (["leaderboard", "kept"], "COMPLETE"),
            (["diagnose", "kept"], "trial 0"),
        ):
            read = tune(*command, cwd=tmp_path, as_user=True)
            assert read.returncode == 0 and shown in read.stdout, read.stderr
    finally:
        os.chmod(db, 0o644)
    assert not (made / "tuneyard.db-shm").exists() or os.access(made / "tuneyard.db-shm", os.W_OK)
    resumed = tune("run", *TINY, "--trials", 2, "--study", "kept", cwd=tmp_path, as_user=True)
    assert resumed.returncode == 0, resumed.stderr  # readers left nothing that locks writers out


def test_a_read_only_results_folder_is_refused_and_still_readable(made, tmp_path, TINY):
    os.chmod(made, 0o555)
    try:
        done = tune("run", *TINY, "--trials", 2, "--study", "kept", cwd=tmp_path, as_user=True)
        assert "the results folder" in one_error_line(done)
        read = tune("leaderboard", "kept", cwd=tmp_path, as_user=True)
        assert read.returncode == 0 and "COMPLETE" in read.stdout, read.stderr
    finally:
        os.chmod(made, 0o755)


def test_a_database_locked_past_the_retry_window_is_one_line(made, tmp_path, TINY):
    holder = sqlite3.connect(made / "tuneyard.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(60, holder.rollback)
    release.start()
    try:
        done = tune_here(
            "run", *TINY, "--trials", 2, "--study", "kept", cwd=tmp_path, env={"TUNEYARD_SQLITE_TIMEOUT": "2"}
        )
    finally:
        release.cancel()
        holder.rollback()
        holder.close()
    assert "stayed locked by another process for more than 2 s" in one_error_line(done)
    assert len(stored(made, "kept")) == 1


def test_a_file_that_is_not_a_database_is_one_line_and_left_alone(results_in_tmp, tmp_path, TINY):
    results_in_tmp.mkdir()
    db = results_in_tmp / "tuneyard.db"
    db.write_text("my notes, not a database\n")
    for command in (["run", *TINY, "--trials", 1], ["studies"], ["leaderboard", "x"]):
        assert "is not a SQLite database" in one_error_line(tune_here(*command, cwd=tmp_path))
    assert db.read_text() == "my notes, not a database\n"


def test_a_csv_that_cannot_be_written_stops_the_sweep_and_is_rebuilt(results_in_tmp, tmp_path,
                                                                     monkeypatch):
    """The store took the trial; the CSV could not follow: one line, and the next run fixes it."""
    from cheap import SPACE, CheapTrainer

    import tuneyard.engine.sweep as sweep_module
    from tuneyard.engine.sweep import Events, Sweep, SweepOptions
    from tuneyard.errors import StoreError

    monkeypatch.setattr(sweep_module, "CSV_MIN_SECONDS", 0.0)  # a rewrite after every trial
    monkeypatch.setattr(sweep_module, "CSV_PACE", 0)

    space = tmp_path / "cheap.yaml"
    space.write_text(SPACE)
    folder = results_in_tmp / "cheap-tpe-s0"

    class Blocking(Events):
        def trial_done(self, row, done, budget, best):
            if done == 1:  # a folder where the CSV goes: every later write of it fails
                os.replace(folder / "leaderboard.csv", folder / "was.csv")
                (folder / "leaderboard.csv").mkdir()

    with pytest.raises(StoreError, match="trial 1 is saved in the store, but the leaderboard"):
        Sweep(SweepOptions(space=str(space), trials=4), trainer=CheapTrainer()).run(Blocking())
    assert len(stored(results_in_tmp, "cheap-tpe-s0")) == 2
    (folder / "leaderboard.csv").rmdir()
    Sweep(SweepOptions(space=str(space), trials=4), trainer=CheapTrainer()).run()
    assert len(csv_rows(folder / "leaderboard.csv")) == 4


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare to mount a tiny tmpfs")
def test_a_full_disk_is_one_line_and_loses_nothing(tmp_path, TINY, monkeypatch):
    hanging.use_stand_in(monkeypatch)  # the disk is under test: no TensorFlow in the commands
    results = tmp_path / "results"
    results.mkdir()
    script = f"""
set -e
mount -t tmpfs -o size=4m tmpfs {results}
export TUNEYARD_RESULTS_DIR={results}
{sys.executable} -m tuneyard run {" ".join(map(str, TINY))} --trials 1 --study full >/dev/null
dd if=/dev/zero of={results}/filler bs=4k 2>/dev/null || true
set +e
{sys.executable} -m tuneyard run {" ".join(map(str, TINY))} --trials 3 --study full 2> {tmp_path}/err
echo "rc=$?" > {tmp_path}/rc
rm {results}/filler
{sys.executable} -m tuneyard leaderboard full > {tmp_path}/board
"""
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "rc").read_text().strip() == "rc=2"
    err = (tmp_path / "err").read_text().strip().splitlines()
    assert len(err) == 1 and "is full" in err[0] and "free some space" in err[0], err
    assert "│ COMPLETE" in (tmp_path / "board").read_text()  # the first trial survived


def test_read_commands_create_nothing_without_a_store(tmp_path):
    env = {"TUNEYARD_RESULTS_DIR": str(tmp_path / "results")}
    listing = tune_here("studies", cwd=tmp_path, env=env)
    assert listing.returncode == 0 and "no studies in" in listing.stdout
    assert "no study 'x'" in one_error_line(tune_here("leaderboard", "x", cwd=tmp_path, env=env))
    assert not (tmp_path / "results").exists()


# --- 5. a sweep whose every trial failed ----------------------------------------------

FAILING = """\
name: always_fails
workload: sine_lstm
objective: {metric: val_mse, direction: minimize}
training: {epochs: 1, batch_size: 32, validation_split: 0.2}
fixed: {window: 20}
hyperparameters:
  learning_rate: {type: float, low: 1.0e-3, high: 1.0e-2, log: true}
  units: {type: int, low: 8, high: 16}
  dropout: {type: float, low: 1.5, high: 2.0}
"""


def test_a_sweep_whose_every_trial_failed_exits_1_with_the_first_error(results_in_tmp, tmp_path):
    space = tmp_path / "always_fails.yaml"
    space.write_text(FAILING)
    done = tune_here("run", "--space", space, "--trials", 2, "--subset", 100, cwd=tmp_path)
    line = one_error_line(done, code=1)
    assert line.startswith("error: all 2 trials failed; first error: ")
    assert "dropout" in line.lower() or "rate" in line.lower(), line
