"""Test doubles shipped with tuneyard, for users who test a space or a backend without
waiting on TensorFlow, and for tuneyard's own suite.

`TinyRegression` is a real workload (a few hundred random points, a one-layer
Keras model) that declares no hyperparameters, so a space of any names can name it
(`workload: tuneyard.testing:TinyRegression`) and a stand-in trainer can score it.
"""

from __future__ import annotations

import numpy as np

from tuneyard.workloads.base import Dataset, Workload


class TinyRegression(Workload):
    """y = x . w + noise on 8 features; Dense(units or 8) -> Dense(1), Adam(learning_rate)."""

    name = "tiny_regression"
    task = "regression"

    def load(self, *, data_dir: str | None = None, subset: int | None = None, seed: int = 0,
             validation_split: float = 0.2) -> Dataset:
        """Seeded random points: train, validation (the last fraction) and test."""
        rng = np.random.default_rng(seed)
        n = subset or 300
        x = rng.standard_normal((n + 100, 8)).astype(np.float32)
        y = (x @ rng.standard_normal(8) + 0.1 * rng.standard_normal(len(x))).astype(np.float32)
        cut = int(n * (1 - validation_split))
        return Dataset(x[:cut], y[:cut], x[cut:n], y[cut:n], x[n:], y[n:],
                       info={"input_shape": (8,)})

    def build_model(self, params: dict, dataset: Dataset, options: dict):
        """A compiled two-layer regressor (loss and metric mse)."""
        import keras

        model = keras.Sequential([keras.Input(shape=(8,)),
                                  keras.layers.Dense(int(params.get("units", 8)), activation="relu"),
                                  keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.Adam(float(params.get("learning_rate", 1e-2))),
                      loss="mse", metrics=["mse"])
        return model
