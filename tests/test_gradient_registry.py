"""engine/gradient_registry.py: a trial's training graphs do not outlive it.

TensorFlow registers a custom gradient for every traced Keras train step and never lets
it go (tensorflow/tensorflow#97697); the registry holds the step's whole graph. These pin
both what tuneyard relies on in the TensorFlow installed (where the registry is, what
Keras puts in it) and that the trainer lets a trial's entries, and so its graphs, go.
"""

import gc
import subprocess
import sys

import numpy as np
import pytest

from tuneyard.engine.gradient_registry import custom_gradient_names, trial_gradients_released
from tuneyard.engine.training import Trainer
from tuneyard.records.trial import COMPLETE, Proposal
from tuneyard.space.file import parse_space
from tuneyard.workloads import get_workload

SPACE = """\
workload: sine_lstm
objective: {metric: val_mse, direction: minimize}
training: {epochs: 1, batch_size: 64, validation_split: 0.2}
fixed: {window: 20, lstm_layers: 0, optimizer: adam, dropout: 0.0, l2: 1.0e-6}
hyperparameters:
  learning_rate: {type: float, low: 1.0e-4, high: 1.0e-1, log: true}
  units: {type: int, low: 8, high: 32, step: 8}
"""


def training_graphs_alive() -> int:
    gc.collect()
    return sum(type(o).__name__ == "FuncGraph" for o in gc.get_objects())


@pytest.mark.slow
def test_a_bare_keras_fit_leaves_its_custom_gradient_in_the_registry_read_here():
    # What the module relies on, in the TensorFlow installed: should a release fix the
    # leak or move the registry, this fails and the module can go.
    import keras

    before = custom_gradient_names()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.zeros((8, 3)), np.zeros((8, 1)), epochs=1, verbose=0)
    assert custom_gradient_names() - before
    del model
    keras.backend.clear_session()


@pytest.mark.slow
def test_trials_leave_no_training_graph_behind_and_a_users_own_gradient_stays():
    import tensorflow as tf

    @tf.RegisterGradient("CustomGradient-a-users-own")  # registered before the sweep
    def _mine(op, grad):
        return grad

    workload = get_workload("sine_lstm")
    data = workload.load(subset=120, seed=0, validation_split=0.2, window=20)
    trainer = Trainer(parse_space(SPACE), workload, data, seed=0)
    before = custom_gradient_names()
    alive = []
    for units in (8, 16, 24):
        result = trainer.run(Proposal(params={"learning_rate": 1e-2, "units": units}, epochs=1))
        assert result.status == COMPLETE, result.error
        assert custom_gradient_names() == before
        alive.append(training_graphs_alive())
    # The first trial's graphs may hold Keras' one-off caches; none add up after it.
    assert alive[2] <= alive[1], alive
    assert "CustomGradient-a-users-own" in custom_gradient_names()


def test_without_tensorflow_loaded_there_is_nothing_to_drop_and_nothing_is_imported():
    code = ("import sys\n"
            "from tuneyard.engine.gradient_registry import trial_gradients_released as released\n"
            "with released():\n"
            "    pass\n"
            "print('tensorflow' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_what_a_block_registers_is_dropped_even_when_it_fails(monkeypatch):
    # The registry as the module reads it, stood in by a plain dict in a stand-in module:
    # the release is the module's own bookkeeping, exercised here without TensorFlow.
    registry = {"CustomGradient-1": {}, "Other": {}}
    fake_ops = type(sys)("fake_ops")
    fake_ops._gradient_registry = type("Registry", (), {"_registry": registry})()
    monkeypatch.setitem(sys.modules, "tensorflow.python.framework.ops", fake_ops)
    with pytest.raises(RuntimeError), trial_gradients_released():
        registry["CustomGradient-2"] = {}
        registry["Kept-because-not-a-custom-gradient"] = {}
        raise RuntimeError("the trial failed")
    assert set(registry) == {"CustomGradient-1", "Other", "Kept-because-not-a-custom-gradient"}
