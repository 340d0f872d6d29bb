"""cifar_cnn: CIFAR-10 through 1-3 convolution blocks and one dense layer."""

from __future__ import annotations

from .base import COMMON_OPTIONAL, Dataset
from .images import ImageWorkload
from .sources import load_cifar10

CLASS_NAMES = [
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
]  # fmt: skip


class CifarCnn(ImageWorkload):
    """conv_blocks x [Conv2D(filters_i) -> MaxPool(2)] -> Flatten -> Dense(dense_units) -> 10.

    The course's single-conv network uses `filters` and `units`: they are read
    when `filters_i` / `dense_units` are absent, and conv_blocks defaults to 1.
    """

    name = "cifar_cnn"
    required = ("kernel_size",)
    optional = ("conv_blocks", "filters", "filters_1", "filters_2", "filters_3", "units",
                "dense_units", *COMMON_OPTIONAL)
    # The course's small network, held fixed by comparisons.
    course_network = {"conv_blocks": 1, "filters_1": 32, "kernel_size": 3, "dense_units": 128}
    title = "CIFAR-10"
    class_names = CLASS_NAMES
    source = staticmethod(load_cifar10)

    def hyperparameter_problem(self, names: set[str]) -> str | None:
        """The declared check, plus: filters_1 (or the course's filters) and dense_units
        (or the course's units) must be given."""
        for either in (("filters_1", "filters"), ("dense_units", "units")):
            if not names & set(either):
                return (f"workload {self.name} needs {either[0]} (or {either[1]}); add it to "
                        "the space's hyperparameters or fixed settings")
        return super().hyperparameter_problem(names)

    def build_model(self, params: dict, dataset: Dataset, options: dict):
        """Compiled CNN; filters_i is read only for i <= conv_blocks."""
        # heavy: keras
        import keras

        from . import builders

        params = builders.model_params(params, options)
        common = builders.common_params(params, self.name)
        blocks = builders.int_param(params, "conv_blocks", self.name, 1, 3, default=1)
        kernel = builders.int_param(params, "kernel_size", self.name, 1, 32)
        hidden = {
            "activation": "relu",
            "kernel_initializer": "he_normal",
            "kernel_regularizer": builders.regularizer(common),
        }
        layers = [keras.Input(shape=dataset.info["input_shape"])]
        for i in range(1, blocks + 1):
            key = f"filters_{i}"
            if key not in params and "filters" in params:
                key = "filters"
            filters = builders.int_param(params, key, self.name, 1, 4096)
            layers.append(keras.layers.Conv2D(filters, kernel, padding="same", **hidden))
            layers.append(keras.layers.MaxPooling2D(2))
            layers += builders.maybe_dropout(common)
        units_key = "units" if "dense_units" not in params and "units" in params else "dense_units"
        units = builders.int_param(params, units_key, self.name, 1, 1_000_000)
        layers += [keras.layers.Flatten(), keras.layers.Dense(units, **hidden)]
        layers += builders.maybe_dropout(common)
        # float32 under a mixed precision policy: the softmax, loss and metrics stay exact.
        layers.append(keras.layers.Dense(dataset.info["num_classes"], activation="softmax",
                                         dtype="float32"))
        model = keras.Sequential(layers, name=self.name)
        optimizer = builders.make_optimizer(common, params, dataset, options)
        return builders.compile_classifier(model, optimizer, options)
