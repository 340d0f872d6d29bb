"""The shipped mnist_mlp space and the MLP builder's schedule: real Keras on tiny data."""

import math

import numpy as np
import pytest

from tuneyard.engine.training import Trainer
from tuneyard.errors import SpaceError
from tuneyard.records.trial import COMPLETE, Proposal
from tuneyard.space.file import load_space, parse_space
from tuneyard.workloads import Dataset, get_workload

keras = pytest.importorskip("keras")


def tiny_mnist(n_train=64, n_val=20):
    rng = np.random.default_rng(0)

    def part(n):
        return rng.random((n, 28, 28), dtype=np.float32), np.arange(n) % 10

    (x_train, y_train), (x_val, y_val), (x_test, y_test) = (part(n) for n in (n_train, n_val, n_val))
    info = {"num_classes": 10, "input_shape": (28, 28), "class_names": list("0123456789")}
    return Dataset(x_train, y_train, x_val, y_val, x_test, y_test, info)


PARAMS = {"num_layers": 2, "units_1": 32, "units_2": 16, "learning_rate": 1e-3, "optimizer": "adam",
          "dropout": 0.2, "l2": 1e-6, "lr_schedule": "cosine"}


def test_the_shipped_space_offers_what_a_practitioner_tunes():
    space = load_space("mnist_mlp")
    names = {p.name for p in space.params}
    assert {"batch_size", "lr_schedule", "units_1", "units_2", "dropout", "l2"} <= names
    assert set(space.param("lr_schedule").values) == {"cosine", "none"}
    assert space.param("units_1").high >= 1024 and space.param("units_2").high >= 1024
    assert space.param("l2").high <= 1e-4  # a light penalty, not the course's 1e-2
    assert min(space.param("batch_size").values) >= 64
    # The cosine spans Hyperband's largest budget, so a promoted trial ends its decay there.
    assert space.fixed["decay_epochs"] == space.training.max_epochs
    assert space.training.epochs >= 20


def test_the_course_space_still_has_none_of_it():
    names = {p.name for p in load_space("course_mnist_mlp").params}
    assert names.isdisjoint({"batch_size", "lr_schedule", "dropout", "l2"})


@pytest.mark.slow
def test_cosine_decays_to_zero_over_decay_epochs_at_the_trials_batch_size():
    keras.utils.set_random_seed(0)
    data = tiny_mnist()
    model = get_workload("mnist_mlp").build_model(PARAMS, data, {"batch_size": 16, "decay_epochs": 3})
    schedule = model.optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.CosineDecay)
    assert schedule.decay_steps == 3 * math.ceil(64 / 16)
    model.fit(data.x_train, data.y_train, batch_size=16, epochs=3, verbose=0)
    assert int(model.optimizer.iterations) == 12
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-9)
    assert float(schedule(6)) == pytest.approx(0.5e-3, rel=1e-4)  # half way: half the rate


def test_he_initialised_relu_layers_with_dropout_after_each():
    model = get_workload("mnist_mlp").build_model(PARAMS, tiny_mnist(), {"batch_size": 16, "decay_epochs": 3})
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [d.units for d in dense] == [32, 16, 10]
    assert all(type(d.kernel_initializer).__name__ == "HeNormal" for d in dense[:-1])
    assert sum(isinstance(layer, keras.layers.Dropout) for layer in model.layers) == 2


def test_cosine_without_a_span_is_refused_naming_decay_epochs():
    with pytest.raises(ValueError, match="decay_epochs"):
        get_workload("mnist_mlp").build_model(PARAMS, tiny_mnist(), {"batch_size": 16})
    with pytest.raises(ValueError, match="lr_schedule must be one of"):
        get_workload("mnist_mlp").build_model({**PARAMS, "lr_schedule": "step"}, tiny_mnist(),
                                              {"batch_size": 16, "decay_epochs": 3})


def test_no_schedule_keeps_a_constant_rate():
    model = get_workload("mnist_mlp").build_model({**PARAMS, "lr_schedule": "none"}, tiny_mnist(),
                                                  {"batch_size": 16})
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)


@pytest.mark.slow
def test_a_trial_of_the_shipped_space_trains_with_its_own_batch_size():
    space = load_space("mnist_mlp")
    params = {**PARAMS, "batch_size": 32}
    trainer = Trainer(space, get_workload("mnist_mlp"), tiny_mnist(), seed=0)
    assert trainer.batch_size(Proposal(params=params, epochs=1)) == 32
    result = trainer.run(Proposal(params=params, epochs=2))
    assert result.status == COMPLETE, result.error
    assert len(result.history["val_accuracy"]) == 2 and 0 <= result.value <= 1


def test_a_space_with_an_unread_schedule_knob_is_refused():
    text = load_space("mnist_mlp").path
    with open(text) as handle:
        body = handle.read()
    with pytest.raises(SpaceError, match="warmup"):
        parse_space(body + "  warmup: {type: int, low: 0, high: 3}\n")
