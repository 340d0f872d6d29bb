"""Hyperband's schedule, promotions and saved-model clean-up, on the cheap objective."""

from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from cheap import SPACE, CheapTrainer

from tuneyard.backends.hyperband import (
    CHECKPOINT,
    EARLIER_CHECKPOINT,
    checkpoint_owner,
    iteration_trials,
    schedule,
)
from tuneyard.engine.sweep import Sweep, SweepOptions
from tuneyard.errors import BackendError


@pytest.fixture
def space_path(tmp_path):
    path = tmp_path / "cheap.yaml"
    path.write_text(SPACE)
    return str(path)


class SavingTrainer(CheapTrainer):
    """The cheap objective, writing a stand-in model file where a trial must save one."""

    def __init__(self, models_seen: list):
        super().__init__()
        self.models_seen = models_seen

    def run(self, proposal, callbacks=None):
        if proposal.warm_start:
            assert Path(proposal.warm_start).is_file(), "a promoted trial's parent model is gone"
        result = super().run(proposal, callbacks)
        if proposal.save_to:
            Path(proposal.save_to).write_text("model")
            self.models_seen.append(len(list(Path(proposal.save_to).parent.glob(f"*{CHECKPOINT}"))))
        return result


def hyperband(space_path, trainer, trials=None, **options):
    sweep = Sweep(SweepOptions(space=space_path, backend="hyperband", trials=trials,
                               backend_options=options), trainer=trainer)
    return sweep, sweep.run().leaderboard


@pytest.fixture(scope="module")
def nine_three(tmp_path_factory):
    """One whole max_epochs 9, factor 3 iteration, run once for the tests that read it:
    (trainer, frame, model counts seen as each model was saved, the results folder)."""
    folder = tmp_path_factory.mktemp("nine_three")
    (folder / "cheap.yaml").write_text(SPACE)
    seen: list = []
    trainer = SavingTrainer(seen)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TUNEYARD_RESULTS_DIR", str(folder / "results"))
        _, frame = hyperband(str(folder / "cheap.yaml"), trainer, max_epochs=9, factor=3)
    return trainer, frame, seen, folder / "results"


def test_a_checkpoint_being_written_is_nobodys(tmp_path):
    # Cleanup deletes the checkpoints no promotion needs; one another worker is still
    # writing (the atomic writer's dotted temporary file) must survive it.
    for name in ("0003.weights.h5", "0004.keras", "0006.ckpt", ".0005.ckpt.77.tmp.ckpt"):
        (tmp_path / name).write_text("model")
    owners = {path.name: checkpoint_owner(path) for path in tmp_path.iterdir()}
    assert owners == {"0003.weights.h5": "0003", "0004.keras": "0004", "0006.ckpt": "0006",
                      ".0005.ckpt.77.tmp.ckpt": None}


def test_schedule_matches_keras_tuner_arithmetic():
    # max_epochs 9, factor 3: three brackets; budgets 1 -> 3 -> 9, 3 -> 9, and 9.
    assert schedule(9, 3) == [(2, 0, 9, 1), (2, 1, 3, 3), (2, 2, 1, 9),
                              (1, 0, 5, 3), (1, 1, 2, 9), (0, 0, 3, 9)]
    assert iteration_trials(9, 3) == 23
    assert iteration_trials(27, 3) == sum(size for *_, size, _ in schedule(27, 3))


@pytest.mark.parametrize("max_epochs,factor", [(9, 3), (8, 2)])
@pytest.mark.slow
def test_epoch_budgets_follow_the_bracket_schedule(space_path, nine_three, max_epochs, factor):
    if (max_epochs, factor) == (9, 3):
        trainer, frame, _, _ = nine_three
    else:
        trainer = SavingTrainer([])
        _, frame = hyperband(space_path, trainer, max_epochs=max_epochs, factor=factor)
    expected = Counter()
    for bracket, rnd, size, epochs in schedule(max_epochs, factor):
        start = 0 if rnd == 0 else schedule_epochs(max_epochs, factor, bracket, rnd - 1)
        expected[(bracket, rnd, epochs, start)] += size
    got = Counter((p.extra["bracket"], p.extra["round"], p.epochs, p.initial_epoch)
                  for p in trainer.calls)
    assert got == expected
    assert len(frame) == iteration_trials(max_epochs, factor)
    assert {"x_bracket", "x_round", "x_hb_epochs", "x_parent"} <= set(frame.columns)
    # A promoted trial's parent is a trial number of the study, shown whole.
    parents = frame["x_parent"].dropna()
    assert len(parents) and set(parents) <= set(frame["trial"]) and str(frame["x_parent"].dtype) == "Int64"


def schedule_epochs(max_epochs, factor, bracket, rnd):
    return next(e for b, r, _, e in schedule(max_epochs, factor) if (b, r) == (bracket, rnd))


@pytest.mark.slow  # when run alone: it runs the module's iteration
def test_a_promoted_trial_continues_its_parent(nine_three):
    trainer = nine_three[0]
    # `parent` is the tuneyard trial number of the trial a promotion continues.
    by_number = {p.trial.number: p for p in trainer.calls}
    promoted = [p for p in trainer.calls if p.extra["parent"] is not None]
    assert promoted and all(p.warm_start for p in promoted)
    for child in promoted:
        parent = by_number[child.extra["parent"]]
        assert parent.trial.number < child.trial.number
        assert child.params == parent.params
        assert child.warm_start == parent.save_to is not None
        assert child.initial_epoch == parent.epochs
        assert child.extra["round"] == parent.extra["round"] + 1
    for p in trainer.calls:  # only trials that may be promoted save a model
        assert (p.save_to is not None) == (p.extra["round"] < p.extra["bracket"])


@pytest.mark.slow  # when run alone: it runs the module's iteration
def test_models_that_cannot_be_promoted_are_deleted(nine_three):
    _, _, seen, results = nine_three
    # Bracket 2 keeps at most the 3 best of its 9 first trials (+ the one just saved).
    assert max(seen) <= 4
    models = results / "cheap-hyperband-s0" / "kt" / "models"
    assert list(models.iterdir()) == []  # the whole schedule ran: nothing left to promote


class EarlierSaving(SavingTrainer):
    """Saves each checkpoint where an earlier tuneyard did: Keras' `.weights.h5`."""

    def run(self, proposal, callbacks=None):
        if proposal.save_to:
            earlier = proposal.save_to.removesuffix(CHECKPOINT) + EARLIER_CHECKPOINT
            proposal = replace(proposal, save_to=earlier)
        return super().run(proposal, callbacks)


def test_promotions_continue_from_an_earlier_tuneyards_checkpoints(space_path):
    # A sweep checkpointed by an earlier tuneyard, resumed by this one: its promotions load
    # the `.weights.h5` files (SavingTrainer fails a trial whose parent's file is gone).
    trainer = EarlierSaving([])
    _, frame = hyperband(space_path, trainer, max_epochs=9, factor=3)
    promoted = [p for p in trainer.calls if p.extra["parent"] is not None]
    assert promoted and all(p.warm_start.endswith(EARLIER_CHECKPOINT) for p in promoted)
    assert "x_warm_start" not in frame or frame["x_warm_start"].isna().all()  # none missing
    assert set(frame["status"]) == {"COMPLETE"}


def test_a_budget_beyond_one_iteration_starts_another(space_path):
    trainer = SavingTrainer([])
    _, frame = hyperband(space_path, trainer, trials=iteration_trials(3, 3) + 2, max_epochs=3,
                         factor=3)
    assert len(frame) == iteration_trials(3, 3) + 2


def test_bad_hyperband_settings_are_one_clear_error(space_path):
    with pytest.raises(BackendError, match="--factor must be an integer of at least 2, got 1"):
        hyperband(space_path, CheapTrainer(), factor=1)
    with pytest.raises(BackendError, match="--max-epochs must be an integer of at least 1"):
        hyperband(space_path, CheapTrainer(), max_epochs=0)


def test_resuming_with_other_settings_is_refused(space_path):
    hyperband(space_path, CheapTrainer(), trials=3, max_epochs=9, factor=3)
    with pytest.raises(BackendError, match="ran with --max-epochs 9 --factor 3"):
        hyperband(space_path, CheapTrainer(), trials=5, max_epochs=27, factor=3)
