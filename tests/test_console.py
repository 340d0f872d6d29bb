"""The console: progress from the first trial's start, per-epoch events, plain lines off a
terminal, a leaderboard that fits, --json, --version, `tune delete`. Real SQLite, no TensorFlow."""

import io
import json
import re
import time

import pytest
from cheap import SPACE, CheapTrainer
from rich.console import Console
from typer.testing import CliRunner

from tuneyard.cli.display import frame_table
from tuneyard.cli.main import app
from tuneyard.cli.progress import ProgressEvents
from tuneyard.engine.sweep import Events, Sweep, SweepOptions


@pytest.fixture
def space_path(tmp_path):
    path = tmp_path / "cheap.yaml"
    path.write_text(SPACE)
    return str(path)


def cheap_study(space_path, name="cli-study", trials=3, events=None, **extra):
    runner = Sweep(SweepOptions(space=space_path, backend="random", trials=trials, study=name, **extra),
                   trainer=CheapTrainer())
    return runner, runner.run(events).leaderboard


class Recorder(Events):
    def __init__(self):
        self.calls = []

    def sweep_started(self, done, budget):
        self.calls.append(("sweep", done, budget))

    def trial_started(self, key, params, epochs):
        self.calls.append(("start", key, epochs))

    def epoch_done(self, key, epoch, epochs, logs):
        self.calls.append(("epoch", key, epoch, epochs, sorted(logs)))

    def trial_done(self, row, done, budget, best):
        self.calls.append(("done", row["trial"]))


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.slow
def test_every_trial_reports_its_start_and_each_epoch_before_it_ends(space_path, workers):
    events = Recorder()
    cheap_study(space_path, trials=2, events=events, workers=workers)
    calls = events.calls
    assert calls[0] == ("sweep", 0, 2)
    for number in (0, 1):
        start = calls.index(("start", number, 3))
        epochs = [c for c in calls if c[0] == "epoch" and c[1] == number]
        assert [c[2:4] for c in epochs] == [(1, 3), (2, 3), (3, 3)]
        assert epochs[0][4] == ["loss", "val_mse"]
        assert start < calls.index(epochs[0]) < calls.index(epochs[-1]) < calls.index(("done", number))


class Peeking(CheapTrainer):
    """Notes what the progress display shows while the first trial trains."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def run(self, proposal, callbacks=None):
        events = self.events
        if events.task is not None:
            task = events.progress.tasks[0]
            self.seen.append((task.total, task.completed, dict(events.running.lines)))
        return super().run(proposal, callbacks)


def test_the_bar_shows_from_the_start_of_the_first_trial(space_path, capsys):
    trainer = Peeking()
    events = trainer.events = ProgressEvents("val_mse")
    Sweep(SweepOptions(space=space_path, backend="random", trials=2), trainer=trainer).run(events)
    events.stop()
    assert trainer.seen[0] == (2, 0, {0: "trial 0: starting, 3 epochs"})


def test_off_a_terminal_one_plain_line_per_finished_trial(space_path, capsys):
    events = ProgressEvents("val_mse")
    cheap_study(space_path, trials=3, events=events)
    events.stop()
    lines = capsys.readouterr().out.splitlines()
    done = [line for line in lines if " done: " in line]
    assert len(done) == 3
    pattern = (r"trial \d done: val_mse [0-9.e+-]+ \(best [0-9.e+-]+\), {n}/3 trials, "
               r"0:00:\d\d elapsed, ~\d:\d\d:\d\d left")
    for n, line in enumerate(done, start=1):
        assert re.fullmatch(pattern.format(n=n), line), line
    assert not any("━" in line for line in lines)  # no bar in a log file


@pytest.mark.parametrize("display", ["console", "notebook"])
def test_time_left_is_the_pace_of_this_runs_trials_capped_by_the_time_budget(display):
    from tuneyard.api.progress import NotebookProgress

    def after(done, timeout):
        events = (ProgressEvents if display == "console" else NotebookProgress)("val_mse", timeout)
        events.redraw = lambda force=False: None  # counting only: no bar, no notebook display
        events.first_done = events.done = 2  # a resume: 2 trials done before this run
        events.started = time.monotonic() - 60
        for n in range(3, done + 1):  # this run's trials: 60 s for done - 2 of them
            events.count_done({"trial": n, "status": "COMPLETE", "value": 0.5}, n, 10, 0.5)
        return events.estimate(), events._left()

    (estimate, budget_left), _ = after(5, None)  # 3 trials in 60 s, 5 to go: 100 s
    assert budget_left is None and 99 <= estimate <= 105  # (slack: a loaded machine)
    (estimate, budget_left), shown = after(5, 90)  # the budget's 30 s left cap it
    assert 25 <= estimate <= 30 and estimate == budget_left
    assert shown.startswith("~0:00:")
    assert ("time budget" in shown) == (display == "console")
    assert after(2, None)[0] == (None, None)  # no trial of this run has ended: no pace yet


def test_the_leaderboard_fits_the_width_and_never_breaks_a_number(space_path):
    _, frame = cheap_study(space_path, trials=4)
    out = io.StringIO()
    Console(file=out, width=70).print(frame_table(frame, title="t", width=70))
    text = out.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 70
    header = text.splitlines()[2]
    for column in ("rank", "trial", "val_mse", "learning_rate"):
        assert column in header  # by priority: rank, trial, the objective, hyperparameters first
    for value in frame["val_mse"]:
        assert f"{value:.4g}" in text  # whole on one line
    assert "more columns:" in text


def test_leaderboard_columns_json_and_studies_json(space_path):
    cheap_study(space_path, trials=3)
    cli = CliRunner()
    chosen = cli.invoke(app, ["leaderboard", "cli-study", "--columns", "trial,val_mse"])
    assert chosen.exit_code == 0, chosen.output
    assert "trial" in chosen.output and "optimizer" not in chosen.output
    bad = cli.invoke(app, ["leaderboard", "cli-study", "--columns", "trial,nope"])
    assert bad.exit_code == 2 and "no column nope" in bad.output
    rows = json.loads(cli.invoke(app, ["leaderboard", "cli-study", "--json"]).stdout)
    assert [r["rank"] for r in rows] == [1, 2, 3] and "val_mse" in rows[0]
    studies = json.loads(cli.invoke(app, ["studies", "--json"]).stdout)
    assert [s["study"] for s in studies] == ["cli-study"]


def test_show_space_json_and_version(space_path):
    cli = CliRunner()
    space = json.loads(cli.invoke(app, ["show-space", space_path, "--json"]).stdout)
    assert space["name"] == "cheap" and space["grid_size"] == 3 * 3 * (1 + 3)
    from tuneyard import __version__

    version = cli.invoke(app, ["--version"])
    assert version.exit_code == 0 and version.stdout.strip() == f"tuneyard {__version__}"


@pytest.mark.slow
def test_delete_asks_then_removes_the_study_and_its_folder_only(space_path, results_in_tmp):
    runner, _ = cheap_study(space_path, name="to-go")
    cheap_study(space_path, name="to-stay")
    outside = results_in_tmp.parent / "keep.txt"
    outside.write_text("mine")
    cli = CliRunner()
    kept = cli.invoke(app, ["delete", "to-go"], input="n\n")
    assert kept.exit_code == 1 and runner.folder.exists()
    gone = cli.invoke(app, ["delete", "to-go", "--yes"])
    assert gone.exit_code == 0 and "deleted study 'to-go' (3 trials)" in gone.stdout
    assert not runner.folder.exists() and (results_in_tmp / "to-stay").exists() and outside.exists()
    studies = json.loads(cli.invoke(app, ["studies", "--json"]).stdout)
    assert [s["study"] for s in studies] == ["to-stay"]
    for args in (["delete", "to-go", "--yes"], ["delete", "../keep.txt", "--yes"]):
        refused = cli.invoke(app, args)
        assert refused.exit_code == 2 and len(refused.output.strip().splitlines()) == 1
    assert outside.exists()


def test_tune_worker_has_no_worker_id_option(tmp_path):
    # It did nothing (a trial's draws are seeded by the study's seed and its number): gone.
    result = CliRunner().invoke(app, ["worker", "--study", "s", "--storage", f"sqlite:///{tmp_path / 'x.db'}",
                                      "--worker-id", "1", "--wait", "0"])
    assert result.exit_code == 2 and "No such option: --worker-id" in result.output, result.output
