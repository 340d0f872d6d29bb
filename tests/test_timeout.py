"""--timeout: a wall-clock budget for a sweep, with a trainer that takes real time (no TensorFlow)."""

import time

import pytest
from cheap import SPACE, CheapTrainer

from tuneyard.engine.epochs import parse_duration
from tuneyard.engine.interrupts import raise_if_interrupted
from tuneyard.engine.sweep import Events, Sweep, SweepOptions
from tuneyard.errors import TuneyardError


class SlowTrainer(CheapTrainer):
    """The cheap formula, taking `per_epoch` seconds per epoch; it checks for a cut as Keras
    does between batches (tuneyard's InterruptCheck callback)."""

    def __init__(self, per_epoch, hang_on=None):
        super().__init__()
        self.per_epoch, self.hang_on = per_epoch, hang_on

    def run(self, proposal, callbacks=None):
        started = time.perf_counter()
        epochs = proposal.epochs - proposal.initial_epoch
        hang = self.hang_on is not None and len(self.calls) == self.hang_on
        while time.perf_counter() - started < (1e9 if hang else self.per_epoch * epochs):
            time.sleep(0.01)
            raise_if_interrupted()
        result = super().run(proposal, callbacks)
        result.seconds = time.perf_counter() - started
        self.ended = [*getattr(self, "ended", []), time.monotonic()]
        return result


class Notes(Events):
    def __init__(self):
        self.lines = []

    def message(self, text):
        self.lines.append(text)


@pytest.fixture
def space_path(tmp_path):
    path = tmp_path / "cheap.yaml"
    path.write_text(SPACE)
    return str(path)


@pytest.mark.parametrize("text, seconds", [("2h", 7200), ("90m", 5400), ("3600s", 3600),
                                           ("1h30m", 5400), ("45", 45)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "2x", "h", "0", "-5m", "1h-30m", "nan"])
def test_bad_durations_are_refused_where_options_are_made(space_path, text):
    with pytest.raises(TuneyardError, match="--timeout must be a positive duration"):
        SweepOptions(space=space_path, timeout=text)


class Clock:
    """A monotonic clock that moves only when a trainer says its time passed."""

    def __init__(self):
        self.now = time.monotonic()

    def monotonic(self):
        return self.now


class ClockTrainer(CheapTrainer):
    """The cheap formula, `per_epoch` seconds an epoch on `clock` (no real waiting)."""

    def __init__(self, clock, per_epoch):
        super().__init__()
        self.clock, self.per_epoch, self.ended = clock, per_epoch, []

    def run(self, proposal, callbacks=None):
        seconds = self.per_epoch * (proposal.epochs - proposal.initial_epoch)
        self.clock.now += seconds
        result = super().run(proposal, callbacks)
        result.seconds = seconds
        self.ended.append(self.clock.now)
        return result


def test_no_trial_starts_that_cannot_end_in_the_time_left(space_path, monkeypatch):
    # 3 epochs x 0.2 s = 0.6 s a trial in a 2.5 s budget, on a clock that moves only as
    # trials train: trials start while one still fits (ends at 0.6, 1.2, 1.8, 2.4), and
    # not one more (2.4 + 0.6 > 2.5), whatever the machine's load.
    import tuneyard.engine.epochs as epochs_module

    clock = Clock()
    monkeypatch.setattr(epochs_module, "time", clock)  # the time budget reads this clock
    notes = Notes()
    trainer = ClockTrainer(clock, per_epoch=0.2)
    runner = Sweep(SweepOptions(space=space_path, backend="tpe", trials=50, timeout=2.5),
                   trainer=trainer)
    frame = runner.run(notes).leaderboard
    assert list(frame["status"]) == ["COMPLETE"] * 4
    assert trainer.ended == pytest.approx([clock.now - 1.8, clock.now - 1.2, clock.now - 0.6, clock.now])
    assert trainer.ended[-1] <= runner.clock.deadline  # no trial began that would overrun
    assert any("time budget (0:00:02) ended the sweep" in line for line in notes.lines)
    # The same command goes on with a fresh budget.
    more = Sweep(SweepOptions(space=space_path, backend="tpe", trials=50, timeout=1.0),
                 trainer=ClockTrainer(clock, per_epoch=0.1)).run(Notes()).leaderboard
    assert len(more) > len(frame)


def test_before_any_trial_finished_one_starts(space_path):
    # The first trial takes longer than the whole budget: it still starts (no estimate yet)
    # and finishes within the grace; no second one starts.
    runner = Sweep(SweepOptions(space=space_path, backend="tpe", trials=5, timeout=0.2,
                                timeout_grace=5), trainer=SlowTrainer(per_epoch=0.15))
    frame = runner.run(Notes()).leaderboard
    assert list(frame["status"]) == ["COMPLETE"]


@pytest.mark.slow
def test_a_trial_past_the_grace_is_cut_and_runs_again_on_resume(space_path):
    notes = Notes()
    runner = Sweep(SweepOptions(space=space_path, backend="tpe", trials=3, timeout=1.5,
                                timeout_grace=0.3), trainer=SlowTrainer(per_epoch=0.01, hang_on=1))
    frame = runner.run(notes).leaderboard
    assert time.monotonic() - runner.clock.started < 1.5 + 0.3 + 1.0  # cut at the deadline + grace
    assert list(frame["status"]) == ["COMPLETE", "FAIL"]
    assert frame["error"].iloc[1].startswith("interrupted")
    assert any("cut" in line and "recorded as interrupted" in line for line in notes.lines)
    assert runner.done_count() == 1  # the cut trial spends no budget: it runs again
    resumed = Sweep(SweepOptions(space=space_path, backend="tpe", trials=3),
                    trainer=SlowTrainer(per_epoch=0.01)).run().leaderboard
    assert (resumed["status"] == "COMPLETE").sum() == 3


@pytest.mark.slow
def test_a_cut_in_a_worker_pool(space_path):
    runner = Sweep(SweepOptions(space=space_path, backend="tpe", trials=4, workers=2, timeout=1.0,
                                timeout_grace=0.5), trainer=SlowTrainer(per_epoch=0.01, hang_on=0))
    frame = runner.run(Notes()).leaderboard
    assert "FAIL" in set(frame["status"])
    assert all(e.startswith("interrupted") for e in frame.loc[frame["status"] == "FAIL", "error"])
    assert not (runner.folder / "workers.json").exists()
