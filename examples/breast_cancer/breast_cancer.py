"""Breast cancer: scikit-learn's bundled Wisconsin diagnostic data (569 tumours, 30
measurements each, no download) through a small MLP with one sigmoid output.

The course's optimizer exercise on tabular data: which of sgd, rmsprop, adam and adamw,
at which learning rate, trains the best binary classifier? `breast_cancer.yaml` beside
this file names the workload as `workload: breast_cancer:BreastCancer`. From the
repository root:

    tune run --space examples/breast_cancer/breast_cancer.yaml --backend tpe
    tune evaluate breast_cancer-tpe-s0      # test accuracy and ROC AUC
"""

from __future__ import annotations

import numpy as np

import tuneyard
from tuneyard.errors import DataError  # a TuneyardError: the CLI prints it as one line

TEST_FRACTION = 0.2  # held out, stratified, never trained or validated on
# scikit-learn's labels: 0 malignant, 1 benign; the sigmoid gives P(benign).
CLASS_NAMES = ["malignant", "benign"]


def split(positions: np.ndarray, y: np.ndarray, *, seed: int, test_size=None, train_size=None):
    """Positions split stratified by their labels y[positions] (scikit-learn, seeded)."""
    from sklearn.model_selection import train_test_split

    try:
        return train_test_split(positions, test_size=test_size, train_size=train_size,
                                stratify=y[positions], random_state=seed)
    except ValueError as exc:  # too few samples for both classes to reach both parts
        raise DataError(f"breast_cancer: cannot split {len(positions)} samples stratified: "
                        f"{exc}; use a larger subset") from None


class BreastCancer(tuneyard.Workload):
    """Dense(units, relu) -> Dropout -> Dense(1, sigmoid), binary cross-entropy."""

    name = "breast_cancer"
    task = "classification"
    required = ("optimizer", "learning_rate", "units")
    optional = ("dropout",)

    def load(self, *, data_dir=None, subset=None, seed=0, validation_split=0.1):
        """Features standardised with the training split's mean and deviation only (the
        validation and test rows never inform the scaling); a stratified 20% test split
        held out, then a stratified `validation_split` of the rest; `subset` draws N
        stratified samples of the training pool (the test split stays whole)."""
        from sklearn.datasets import load_breast_cancer

        if not 0 < validation_split < 1:
            raise DataError(f"breast_cancer: validation_split must be in (0, 1), "
                            f"got {validation_split!r}")
        data = load_breast_cancer()
        x = data.data.astype(np.float32)
        y = data.target.astype(np.int64)
        pool, test = split(np.arange(len(y)), y, seed=seed, test_size=TEST_FRACTION)
        if subset is not None:
            if not 0 < subset <= len(pool):
                raise DataError(f"breast_cancer: subset must be between 1 and the {len(pool)} "
                                f"training samples, got {subset}")
            if subset < len(pool):
                pool, _ = split(pool, y, seed=seed, train_size=int(subset))
        train, val = split(pool, y, seed=seed, test_size=validation_split)
        mean = x[train].mean(axis=0)
        std = x[train].std(axis=0)
        std[std == 0] = 1.0

        def scale(rows: np.ndarray) -> np.ndarray:
            return ((x[rows] - mean) / std).astype(np.float32)

        return tuneyard.Dataset(
            x_train=scale(train), y_train=y[train], x_val=scale(val), y_val=y[val],
            x_test=scale(test), y_test=y[test],
            info={"input_shape": (x.shape[1],), "num_classes": 2,
                  "class_names": list(CLASS_NAMES)},
        )

    def build_model(self, params, dataset, options):
        """A compiled one-hidden-layer MLP with the optimizer and learning rate asked for."""
        import keras

        optimizers = {"sgd": lambda lr: keras.optimizers.SGD(lr, momentum=0.9),
                      "rmsprop": keras.optimizers.RMSprop,
                      "adam": keras.optimizers.Adam,
                      "adamw": keras.optimizers.AdamW}
        name = params["optimizer"]
        if name not in optimizers:
            raise ValueError(f"breast_cancer: optimizer must be one of {', '.join(optimizers)}, "
                             f"got {name!r}")
        dropout = float(params.get("dropout", 0.0))
        model = keras.Sequential(name="breast_cancer_mlp")
        model.add(keras.Input(shape=dataset.info["input_shape"]))
        model.add(keras.layers.Dense(int(params["units"]), activation="relu"))
        if dropout > 0:
            model.add(keras.layers.Dropout(dropout))
        model.add(keras.layers.Dense(1, activation="sigmoid"))
        model.compile(
            optimizer=optimizers[name](float(params["learning_rate"])),
            loss="binary_crossentropy",
            # named "accuracy" so the history has val_accuracy, the space's objective
            metrics=[keras.metrics.BinaryAccuracy(name="accuracy")],
        )
        return model
