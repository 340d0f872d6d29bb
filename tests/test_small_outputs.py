"""What the console and the CSV show of a study, read as a user does (issue 19's smaller cases):
an error's location never cut, seeds whole, a trial without a result named by its study's backend."""

import csv

import optuna
import pytest
from cheap import SPACE, CheapTrainer

from tuneyard.analysis.leaderboard import cell_text
from tuneyard.analysis.ledger import Ledger
from tuneyard.analysis.reading import study_frame
from tuneyard.cli.display import clip_error, frame_table
from tuneyard.engine.sweep import Sweep, SweepOptions

optuna.logging.set_verbosity(optuna.logging.WARNING)
ERROR = ("AttributeError: partially initialized module 'tensorflow.python.trackable.data_structures' "
         "has no attribute 'x' (at trainer.py:1122)")


@pytest.fixture
def space_path(tmp_path):
    path = tmp_path / "cheap.yaml"
    path.write_text(SPACE)
    return str(path)


@pytest.mark.parametrize("width", [48, 80])
def test_a_long_error_is_shortened_in_its_message_never_in_its_location(width):
    clipped = clip_error(ERROR, width)
    assert len(clipped) <= width and clipped.endswith("(at trainer.py:1122)")
    assert clip_error("ValueError: short (at a.py:7)", width) == "ValueError: short (at a.py:7)"


def test_whole_numbers_show_whole_even_in_a_column_with_blanks():
    assert cell_text(963312345.0) == "963312345"
    assert cell_text(0.0125) == "0.0125" and cell_text(12345.6) == "1.235e+04"


class Seeded(CheapTrainer):
    """The cheap objective with a training seed of the size real ones have."""

    def run(self, proposal, callbacks=None):
        result = super().run(proposal, callbacks)
        result.seeds = [963312345 + len(self.calls)]
        return result


@pytest.mark.slow
def test_seeds_stay_whole_in_the_table_and_the_csv_when_a_trial_has_none(space_path, tmp_path):
    runner = Sweep(SweepOptions(space=space_path, backend="tpe", trials=2), trainer=Seeded())
    runner.run()
    optuna.load_study(study_name=runner.study_name, storage=runner.store.url).ask()  # no seed yet
    frame = study_frame(runner.study_name, None)
    assert frame["seed"].notna().sum() == 2 and frame["seed"].isna().sum() == 1
    frame.to_csv(tmp_path / "out.csv", index=False)
    with open(tmp_path / "out.csv") as f:
        written = [r["seed"] for r in csv.DictReader(f) if r["seed"]]
    assert written and all(text.isdigit() for text in written)
    cells = [row for row in frame_table(frame, width=400).columns if row.header == "seed"][0]._cells
    assert all("e+" not in cell for cell in cells)


def test_a_trial_without_a_result_is_named_by_the_study_backend(space_path):
    runner = Sweep(SweepOptions(space=space_path, backend="tpe", trials=1), trainer=CheapTrainer())
    runner.run()
    optuna.load_study(study_name=runner.study_name, storage=runner.store.url).ask()  # still running
    ledger = Ledger(runner.store)
    ledger.refresh()
    assert {row["backend"] for row in ledger.rows} == {"tpe"}
    assert set(study_frame(runner.study_name, None)["backend"]) == {"tpe"}


def test_a_running_trial_past_the_budget_is_no_row(space_path):
    # Another runner's ask past a shared budget: its claim records it as surplus, never trained,
    # so a leaderboard that shows it RUNNING (or says it still runs) is wrong.
    runner = Sweep(SweepOptions(space=space_path, backend="tpe", trials=2), trainer=CheapTrainer())
    runner.run()
    optuna.load_study(study_name=runner.study_name, storage=runner.store.url).ask()
    budgeted, unbounded = Ledger(runner.store, budget=2), Ledger(runner.store)
    for ledger in (budgeted, unbounded):
        ledger.refresh()
    assert [r["status"] for r in budgeted.rows] == ["COMPLETE"] * 2
    assert budgeted.row_count() == 2 and budgeted.running_elsewhere(set()) == 0
    assert budgeted.claimed_count() == 3  # it still spends the budget until its claim gives it up
    assert [r["status"] for r in unbounded.rows] == ["COMPLETE", "COMPLETE", "RUNNING"]
    within = Ledger(runner.store, budget=3)
    within.refresh()
    assert within.running_elsewhere(set()) == 1


def test_the_summary_says_no_trial_completed_rather_than_an_empty_best(space_path):
    from tuneyard.cli.base import summary_line

    runner = Sweep(SweepOptions(space=space_path, backend="tpe", trials=2),
                   trainer=CheapTrainer(fail_when=lambda params: True))
    failed = runner.run()
    assert summary_line(failed) == f"no completed trial yet; full table: {failed.csv_path}"
    done = Sweep(SweepOptions(space=space_path, backend="tpe", trials=1, study="ok"),
                 trainer=CheapTrainer()).run()
    assert summary_line(done).startswith(f"best val_mse: {cell_text(done.best)}; full table: ")
