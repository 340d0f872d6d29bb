"""Issue 22's smaller wrong outputs, each read as a user does: what ran is what is said."""

import optuna
import pytest
from cheap import SPACE, CheapTrainer

from tuneyard.engine.sweep import Sweep, SweepOptions
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
