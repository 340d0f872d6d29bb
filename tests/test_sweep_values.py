"""A sweep is read through values: its plan before it runs, its result after (engine/session.py)."""

import re
from pathlib import Path

import pytest
from cheap import SPACE, CheapTrainer

from tuneyard.engine.sweep import Sweep, SweepOptions

SRC = Path(__file__).parent.parent / "src" / "tuneyard"
# What code outside engine/ may call on a Sweep: its plan, run and result, all values.
PUBLIC = {"plan", "run", "result"}


@pytest.fixture
def space_path(tmp_path):
    path = tmp_path / "cheap.yaml"
    path.write_text(SPACE)
    return str(path)


def test_run_returns_the_study_as_the_sweep_leaves_it(space_path):
    sweep = Sweep(SweepOptions(space=space_path, backend="grid", trials=4), trainer=CheapTrainer())
    plan = sweep.plan()
    assert (plan.study, plan.budget, plan.backend) == ("cheap-grid-s0", 4, "grid")
    result = sweep.run()
    assert (result.study, result.done, result.budget, result.metric) == (plan.study, 4, 4, "val_mse")
    assert result.csv_path == plan.csv_path and result.csv_path.is_file()
    assert len(result.leaderboard) == len(result.rows) == 4 and not result.timed_out
    values = [r["value"] for r in result.rows]
    assert result.best == min(values) and result.all_failed is None


def test_a_study_whose_every_trial_failed_says_so_in_its_result(space_path):
    result = Sweep(SweepOptions(space=space_path, backend="grid", trials=2),
                   trainer=CheapTrainer(fail_when=lambda params: True)).run()
    assert result.best is None and result.all_failed.startswith("all 2 trials failed")


def test_nothing_outside_the_engine_reads_a_sweeps_attributes():
    reached = []
    for path in SRC.rglob("*.py"):
        if path.parent.name == "engine":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for name in re.findall(r"\bsweep\.(\w+)", line):
                if name not in PUBLIC:
                    reached.append(f"{path.relative_to(SRC)}:{number}: sweep.{name}")
    assert reached == []
