"""Workloads: registry, lazy Keras import, and real Keras training on tiny data."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tuneyard.errors import SpaceError
from tuneyard.workloads import Dataset, Workload, get_workload, installed_workloads

keras = pytest.importorskip("keras")

OPTIONS = {"batch_size": 32}


@pytest.fixture(autouse=True)
def seeded():
    keras.utils.set_random_seed(0)
    yield
    keras.backend.clear_session()


def image_dataset(shape, n_train=64, n_eval=16):
    """Random pixels with balanced labels: enough to build, fit and predict."""
    rng = np.random.default_rng(0)

    def part(n):
        return rng.random((n, *shape), dtype=np.float32), np.arange(n) % 10

    (x_train, y_train), (x_val, y_val), (x_test, y_test) = (
        part(n) for n in (n_train, n_eval, n_eval)
    )
    info = {"num_classes": 10, "input_shape": shape, "class_names": list("0123456789")}
    return Dataset(x_train, y_train, x_val, y_val, x_test, y_test, info)


@pytest.fixture(scope="module")
def mnist_data():
    return image_dataset((28, 28))


@pytest.fixture(scope="module")
def cifar_data():
    return image_dataset((32, 32, 3), n_train=32)


@pytest.fixture(scope="module")
def sine_data():
    return get_workload("sine_lstm").load(subset=80, validation_split=0.2)


def fit(model, ds, epochs=1):
    return model.fit(
        ds.x_train,
        ds.y_train,
        validation_data=(ds.x_val, ds.y_val),
        epochs=epochs,
        batch_size=OPTIONS["batch_size"],
        verbose=0,
    ).history


def schedule_of(model):
    """The learning-rate schedule, rebuilt from the optimizer's config (so it must serialize)."""
    return keras.optimizers.schedules.deserialize(model.optimizer.get_config()["learning_rate"])


def count(model, layer_type):
    return sum(isinstance(layer, layer_type) for layer in model.layers)


def test_the_shipped_workloads_are_found_through_their_entry_points():
    shipped = ("mnist_mlp", "cifar_cnn", "cifar_resnet", "sine_lstm")
    assert set(shipped) <= set(installed_workloads())
    for name in shipped:
        workload = get_workload(name)
        assert isinstance(workload, Workload) and workload.name == name
        assert workload.declares  # each says which hyperparameters it reads
    assert get_workload("sine_lstm").task == "regression"
    with pytest.raises(SpaceError, match="cifar_cnn, cifar_resnet, mnist_mlp, sine_lstm"):
        get_workload("mnist")


def run_python(code: str) -> None:
    """Run `code` in a fresh interpreter that imports tuneyard from this checkout."""
    src = Path(__file__).resolve().parents[1] / "src"
    env = {**os.environ, "PYTHONPATH": str(src), "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)


def test_import_does_not_load_tensorflow():
    run_python(
        "import sys, tuneyard.workloads as w\n"
        "w.get_workload('cifar_cnn')\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'loaded'\n"
    )


# Keras' own variable saving trips a numpy 2 deprecation; not ours to fix.
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
@pytest.mark.slow
def test_saved_model_with_lr_decay_loads_in_a_fresh_process(sine_data, tmp_path):
    # A resumed Hyperband run reloads saved models before it builds any.
    options = {"batch_size": 32, "lr_decay": True}
    model = get_workload("sine_lstm").build_model({"units": 4}, sine_data, options)
    fit(model, sine_data)
    model.save(tmp_path / "trial.keras")
    run_python(
        "import keras, tuneyard.workloads as w\n"
        "w.get_workload('sine_lstm').load(subset=50)\n"
        f"keras.models.load_model({str(tmp_path / 'trial.keras')!r}, compile=True)\n"
    )


@pytest.mark.slow
def test_mnist_one_layer_without_later_units(mnist_data):
    params = {"num_layers": 1, "units_1": 16, "learning_rate": 0.01, "optimizer": "sgd"}
    model = get_workload("mnist_mlp").build_model(params, mnist_data, OPTIONS)
    assert count(model, keras.layers.Dense) == 2 and count(model, keras.layers.Dropout) == 0
    assert isinstance(model.optimizer, keras.optimizers.SGD) and model.optimizer.momentum == 0.9
    history = fit(model, mnist_data)
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(history)
    assert model.predict(mnist_data.x_test, verbose=0).shape == (16, 10)
    assert not model.losses  # l2 defaults to 0: no penalty terms


@pytest.mark.slow
def test_mnist_three_layers_dropout_l2(mnist_data):
    params = {
        "num_layers": 3,
        **{f"units_{i}": 8 for i in (1, 2, 3)},
        "learning_rate": 1e-3,
        "optimizer": "rmsprop",
        "dropout": 0.5,
        "l2": 1e-3,
    }
    model = get_workload("mnist_mlp").build_model(params, mnist_data, OPTIONS)
    assert count(model, keras.layers.Dropout) == 3
    assert len(model.losses) == 3  # one L2 term per hidden layer, none on the output
    hidden = model.layers[1]
    assert isinstance(hidden.kernel_initializer, keras.initializers.HeNormal)
    x = mnist_data.x_test[:4]
    # Dropout acts in training only: inference is deterministic.
    np.testing.assert_allclose(model(x, training=False), model(x, training=False))
    assert not np.allclose(model(x, training=True), model(x, training=False))
    fit(model, mnist_data)


def test_mnist_missing_or_bad_params(mnist_data):
    mnist = get_workload("mnist_mlp")
    with pytest.raises(ValueError, match="units_2"):
        mnist.build_model({"num_layers": 2, "units_1": 8}, mnist_data, OPTIONS)
    with pytest.raises(ValueError, match="num_layers"):
        mnist.build_model({"units_1": 8}, mnist_data, OPTIONS)
    with pytest.raises(ValueError, match="optimizer"):
        mnist.build_model({"num_layers": 1, "units_1": 8, "optimizer": "lbfgs"}, mnist_data, {})


@pytest.mark.slow
def test_cifar_cnn_trains(cifar_data):
    params = {
        "conv_blocks": 2,
        "filters_1": 4,
        "filters_2": 8,
        "kernel_size": 3,
        "dense_units": 16,
        "optimizer": "adam",
        "learning_rate": 1e-3,
        "dropout": 0.25,
        "l2": 1e-3,
    }
    model = get_workload("cifar_cnn").build_model(params, cifar_data, OPTIONS)
    assert count(model, keras.layers.Conv2D) == 2 and count(model, keras.layers.Dropout) == 3
    assert len(model.losses) == 3  # two convolutions and the hidden dense layer
    history = fit(model, cifar_data)
    assert {"accuracy", "val_accuracy"} <= set(history)
    assert model.predict(cifar_data.x_test, verbose=0).shape == (16, 10)


def test_fixed_settings_arrive_through_options(cifar_data):
    options = {"batch_size": 32, "lr_decay": None, "conv_blocks": 1, "kernel_size": 3}
    params = {"filters_1": 4, "dense_units": 8}
    model = get_workload("cifar_cnn").build_model(params, cifar_data, options)
    assert count(model, keras.layers.Conv2D) == 1


def test_cifar_course_names_and_adamw(cifar_data):
    # The course's one-conv network: `filters` and `units`, no conv_blocks.
    params = {"filters": 4, "kernel_size": 5, "units": 8, "optimizer": "adamw"}
    model = get_workload("cifar_cnn").build_model(params, cifar_data, OPTIONS)
    assert count(model, keras.layers.Conv2D) == 1
    assert model.layers[0].kernel_size == (5, 5)
    assert isinstance(model.optimizer, keras.optimizers.AdamW)


@pytest.mark.slow
def test_cifar_resnet_trains_and_augments_only_in_training(cifar_data, tmp_path):
    params = {"width": 4, "blocks": 2, "translate": 0.1, "optimizer": "sgd", "learning_rate": 0.05,
              "l2": 1e-4, "dropout": 0.1, "lr_schedule": "cosine", "decay_epochs": 2}
    model = get_workload("cifar_resnet").build_model(params, cifar_data, OPTIONS)
    # A stem, 3 stages x 2 blocks x 2 convolutions, and a 1x1 projection where a stage widens.
    assert count(model, keras.layers.Conv2D) == 1 + 12 + 2
    assert count(model, keras.layers.BatchNormalization) == 1 + 12 + 2
    assert count(model, keras.layers.GlobalAveragePooling2D) == 1
    assert count(model, keras.layers.RandomFlip) == 1 and count(model, keras.layers.RandomTranslation) == 1
    assert len(model.losses) == 15 + 1  # every convolution and the classifier
    assert model.layers[-1].kernel.shape == (16, 10)  # 4 x 2 x 2 filters at the last stage
    history = fit(model, cifar_data)
    assert {"accuracy", "val_accuracy"} <= set(history)
    images = cifar_data.x_test
    first = model.predict(images, verbose=0)
    assert first.shape == (16, 10)
    # Flips and shifts are off outside training: the same images give the same answers,
    # and so does the model saved and loaded again (as a Hyperband promotion loads it).
    np.testing.assert_allclose(model.predict(images, verbose=0), first, rtol=1e-5, atol=1e-6)
    model.save(tmp_path / "resnet.keras")
    loaded = keras.saving.load_model(tmp_path / "resnet.keras")
    np.testing.assert_allclose(loaded.predict(images, verbose=0), first, rtol=1e-5, atol=1e-6)
    trained = model(images[:8], training=True)
    assert not np.allclose(keras.ops.convert_to_numpy(trained), first[:8], atol=1e-6)


def test_cifar_resnet_without_augmentation_and_bad_params(cifar_data):
    resnet = get_workload("cifar_resnet")
    model = resnet.build_model({"width": 4, "blocks": 1, "translate": 0.0, "flip": False}, cifar_data,
                               OPTIONS)
    assert count(model, keras.layers.RandomFlip) == 0 and count(model, keras.layers.RandomTranslation) == 0
    assert count(model, keras.layers.Conv2D) == 1 + 6 + 2
    for bad, match in (({"translate": 0.5}, "translate"), ({"blocks": 0}, "blocks"),
                       ({"flip": "yes"}, "flip"), ({"width": 2.5}, "width")):
        with pytest.raises(ValueError, match=match):
            resnet.build_model({"width": 4, "blocks": 1, **bad}, cifar_data, OPTIONS)


@pytest.mark.slow
def test_sine_lstm_trains_with_mse_metric(sine_data):
    params = {"lstm_layers": 2, "units": 8, "optimizer": "adamw", "learning_rate": 1e-2}
    params["l2"] = 1e-4
    model = get_workload("sine_lstm").build_model(params, sine_data, OPTIONS)
    assert count(model, keras.layers.LSTM) == 2 and len(model.losses) == 2
    history = fit(model, sine_data)
    assert {"loss", "mse", "val_loss", "val_mse"} <= set(history)
    assert history["val_loss"][0] > history["val_mse"][0]  # the L2 penalty is not in mse
    assert model.predict(sine_data.x_val, verbose=0).shape == (len(sine_data.x_val), 1)


@pytest.mark.slow
def test_sine_without_lstm_is_a_feed_forward_model_on_the_window(sine_data):
    sine = get_workload("sine_lstm")
    linear = sine.build_model({"lstm_layers": 0, "units": 8}, sine_data, OPTIONS)
    assert count(linear, keras.layers.LSTM) == 0 and count(linear, keras.layers.Dense) == 1
    assert linear.count_params() == sine_data.x_train.shape[1] + 1  # a linear filter and its bias
    params = {"lstm_layers": 0, "dense_layers": 2, "units": 8, "l2": 1e-4}
    model = sine.build_model(params, sine_data, OPTIONS)
    hidden = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)][:-1]
    assert [(h.units, h.activation.__name__) for h in hidden] == [(8, "tanh"), (8, "tanh")]
    assert len(model.losses) == 2
    history = fit(model, sine_data)
    assert np.isfinite(history["val_mse"]).all()
    # After LSTMs, dense layers go on the last state; out of range, one clear error.
    assert count(sine.build_model({"lstm_layers": 1, "dense_layers": 1, "units": 4}, sine_data,
                                  OPTIONS), keras.layers.Dense) == 2
    for bad in ({"dense_layers": 4}, {"dense_layers": -1}, {"lstm_layers": 3}):
        with pytest.raises(ValueError, match="must be an integer in"):
            sine.build_model({"units": 4, "lstm_layers": 0, **bad}, sine_data, OPTIONS)


@pytest.mark.slow
def test_lr_decay_option_floors_and_trains(sine_data):
    decay = {"rate": 0.5, "every_epochs": 1, "min_lr": 2e-3}
    options = {"batch_size": 32, "lr_decay": decay}
    params = {"lstm_layers": 1, "units": 4, "learning_rate": 1e-2, "optimizer": "sgd"}
    model = get_workload("sine_lstm").build_model(params, sine_data, options)
    schedule = schedule_of(model)
    assert schedule.decay_steps == 2  # 64 training windows / batch 32
    assert [float(schedule(step)) for step in (0, 2, 4, 100)] == pytest.approx(
        [1e-2, 5e-3, 2.5e-3, 2e-3]
    )
    assert schedule.get_config()["min_lr"] == 2e-3
    history = fit(model, sine_data, epochs=2)
    assert np.isfinite(history["loss"]).all()
    assert float(model.optimizer.learning_rate) == pytest.approx(2.5e-3)


def test_lr_decay_param_uses_course_defaults(mnist_data):
    params = {"num_layers": 1, "units_1": 8, "lr_decay": True, "learning_rate": 0.01}
    model = get_workload("mnist_mlp").build_model(params, mnist_data, {"batch_size": 16})
    config = schedule_of(model).get_config()
    assert config["decay_rate"] == 0.5 and config["min_lr"] == 1e-6
    assert config["decay_steps"] == 5 * 4  # every 5 epochs of 64 / 16 steps
