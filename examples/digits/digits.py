"""Digits: scikit-learn's bundled 8x8 handwritten digits (1,797 images, no download)
through a small multi-layer perceptron.

A user workload as tuneyard sees it: `digits.yaml` beside this file names it as
`workload: digits:Digits`, and tuneyard puts the space file's folder on the import
path, so nothing needs installing. Run it from the repository root:

    tune run --space examples/digits/digits.yaml --backend hyperband
"""

from __future__ import annotations

import numpy as np

import tuneyard
from tuneyard.errors import DataError  # a TuneyardError: the CLI prints it as one line

TEST_FRACTION = 0.2  # held out, stratified, never trained or validated on


def split(positions: np.ndarray, y: np.ndarray, *, seed: int, test_size=None, train_size=None):
    """Positions split stratified by their labels y[positions] (scikit-learn, seeded)."""
    from sklearn.model_selection import train_test_split

    try:
        return train_test_split(positions, test_size=test_size, train_size=train_size,
                                stratify=y[positions], random_state=seed)
    except ValueError as exc:  # too few samples for every class to reach both parts
        raise DataError(f"digits: cannot split {len(positions)} samples stratified: {exc}; "
                         "use a larger subset") from None


class Digits(tuneyard.Workload):
    """Flatten(8x8) -> 1..2 Dense ReLU layers (+ dropout) -> Dense(10, softmax), Adam."""

    name = "digits"
    task = "classification"
    required = ("units", "layers")
    optional = ("dropout", "learning_rate")

    def load(self, *, data_dir=None, subset=None, seed=0, validation_split=0.1):
        """Pixels scaled to [0, 1], shaped (8, 8); a stratified 20% test split held out,
        then a stratified `validation_split` of the rest; `subset` draws N stratified
        samples of the training pool (the test split stays whole)."""
        from sklearn.datasets import load_digits

        if not 0 < validation_split < 1:
            raise DataError(f"digits: validation_split must be in (0, 1), got {validation_split!r}")
        digits = load_digits()
        x = (digits.images / 16.0).astype(np.float32)  # pixel values are 0..16
        y = digits.target.astype(np.int64)
        pool, test = split(np.arange(len(y)), y, seed=seed, test_size=TEST_FRACTION)
        if subset is not None:
            if not 0 < subset <= len(pool):
                raise DataError(f"digits: subset must be between 1 and the {len(pool)} "
                                f"training samples, got {subset}")
            if subset < len(pool):
                pool, _ = split(pool, y, seed=seed, train_size=int(subset))
        train, val = split(pool, y, seed=seed, test_size=validation_split)
        return tuneyard.Dataset(
            x_train=x[train], y_train=y[train], x_val=x[val], y_val=y[val],
            x_test=x[test], y_test=y[test],
            info={"input_shape": (8, 8), "num_classes": 10,
                  "class_names": [str(d) for d in range(10)]},
        )

    def build_model(self, params, dataset, options):
        """A compiled MLP: `layers` Dense(`units`, relu) layers, each followed by dropout."""
        import keras

        layers = int(params["layers"])
        if layers not in (1, 2):
            raise ValueError(f"digits: layers must be 1 or 2, got {layers!r}")
        units = int(params["units"])
        dropout = float(params.get("dropout", 0.0))
        model = keras.Sequential(name="digits_mlp")
        model.add(keras.Input(shape=dataset.info["input_shape"]))
        model.add(keras.layers.Flatten())
        for _ in range(layers):
            model.add(keras.layers.Dense(units, activation="relu"))
            if dropout > 0:
                model.add(keras.layers.Dropout(dropout))
        model.add(keras.layers.Dense(dataset.info["num_classes"], activation="softmax"))
        model.compile(
            optimizer=keras.optimizers.Adam(float(params.get("learning_rate", 1e-3))),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model
