"""mnist_mlp: MNIST digits through a 1-3 layer ReLU perceptron (the course's first exercise)."""

from __future__ import annotations

from .base import COMMON_OPTIONAL, Dataset
from .images import ImageWorkload
from .sources import load_mnist

CLASS_NAMES = [str(digit) for digit in range(10)]


class MnistMlp(ImageWorkload):
    """Flatten(28x28) -> num_layers Dense ReLU layers (units_1..units_3) -> Dense(10, softmax)."""

    name = "mnist_mlp"
    required = ("num_layers", "units_1")
    optional = ("units_2", "units_3", *COMMON_OPTIONAL)
    # The course's small network, held fixed by comparisons.
    course_network = {"num_layers": 1, "units_1": 128}
    title = "MNIST"
    class_names = CLASS_NAMES
    source = staticmethod(load_mnist)

    def build_model(self, params: dict, dataset: Dataset, options: dict):
        """Compiled MLP; units_i is read only for i <= num_layers (conditional params)."""
        # heavy: keras
        import keras

        from . import builders

        params = builders.model_params(params, options)
        common = builders.common_params(params, self.name)
        num_layers = builders.int_param(params, "num_layers", self.name, 1, 3)
        layers = [keras.Input(shape=dataset.info["input_shape"]), keras.layers.Flatten()]
        for i in range(1, num_layers + 1):
            units = builders.int_param(params, f"units_{i}", self.name, 1, 1_000_000)
            layers.append(
                keras.layers.Dense(
                    units,
                    activation="relu",
                    kernel_initializer="he_normal",
                    kernel_regularizer=builders.regularizer(common),
                )
            )
            layers += builders.maybe_dropout(common)
        # float32 under a mixed precision policy: the softmax, loss and metrics stay exact.
        layers.append(keras.layers.Dense(dataset.info["num_classes"], activation="softmax",
                                         dtype="float32"))
        model = keras.Sequential(layers, name=self.name)
        optimizer = builders.make_optimizer(common, params, dataset, options, self.name)
        return builders.compile_classifier(model, optimizer, options)
