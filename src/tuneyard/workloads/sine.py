"""sine_lstm: predict the next value of a noisy sine wave from a window of past values."""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from .base import COMMON_OPTIONAL, Dataset, Workload, register_keras_objects
from .splits import check_fraction

STEP = 0.1
NOISE = 0.1
TRAIN_SPAN = (0.0, 100.0)  # 1,000 points, as in the course
TEST_SPAN = (100.0, 120.0)  # a later stretch of the same wave, never seen in training
BOUND_SEED = 2**31 - 1  # the long series `linear_bound` fits on, apart from every sweep seed


def windows(series: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """(n - window, window, 1) inputs and (n - window,) next values of `series`."""
    x = np.lib.stride_tricks.sliding_window_view(series[:-1], window)
    return x[..., np.newaxis].astype(np.float32), series[window:].astype(np.float32)


def _noisy_wave(span: tuple[float, float], rng: np.random.Generator):
    t = np.arange(span[0], span[1], STEP)
    clean = np.sin(t)
    return clean + NOISE * rng.standard_normal(len(t)), clean


def linear_bound(window: int, x_val: np.ndarray, y_val: np.ndarray) -> float:
    """Validation MSE of the best linear filter on `window` past values.

    Fitted by least squares on 100,000 windows of an independent series of the same
    wave and noise, so it is what this window allows rather than what 1,000 points
    teach: about 15% above the noise floor for windows of 20, 2% for 100.
    """
    rng = np.random.default_rng(BOUND_SEED)
    series, _ = _noisy_wave((0.0, 10_000.0 + window * STEP), rng)
    x, y = windows(series, window)
    design = np.c_[x[..., 0], np.ones(len(y))].astype(np.float64)
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    predicted = np.c_[x_val[..., 0], np.ones(len(y_val))] @ coef
    return float(np.mean((predicted - y_val) ** 2))


def _check_window(window: object) -> int:
    whole = isinstance(window, int | np.integer) and not isinstance(window, bool)
    if not whole or not 1 <= window < 200:
        raise DataError(f"sine window {window!r} is invalid; use a whole number from 1 to 199")
    return int(window)


class SineLstm(Workload):
    """Stacked LSTM(units) x lstm_layers (1-2, default 2 as in the course) -> Dense(1)."""

    name = "sine_lstm"
    task = "regression"
    required = ("units",)
    optional = ("lstm_layers", "window", *COMMON_OPTIONAL)

    def load(
        self,
        *,
        data_dir: str | None = None,
        subset: int | None = None,
        seed: int = 0,
        validation_split: float = 0.1,
        window: int = 20,
    ) -> Dataset:
        """Generate the series from `seed`; validation is the chronologically last slice.

        `data_dir` is accepted for a uniform call and ignored. `subset=N` keeps
        the first N windows. The test set is windowed from a separate
        continuation (t in [100, 120)) whose noise is drawn after the main series.
        """
        check_fraction(validation_split)
        window = _check_window(window)
        register_keras_objects()
        rng = np.random.default_rng(seed)
        series, clean = _noisy_wave(TRAIN_SPAN, rng)
        test_series, test_clean = _noisy_wave(TEST_SPAN, rng)
        x, y = windows(series, window)
        clean_y = clean[window:]
        if subset is not None:
            x, y, clean_y = (a[: _check_subset(subset, len(y))] for a in (x, y, clean_y))
        # Like keras' fit(validation_split=...): the tail, no shuffling across the split.
        split_at = int(len(y) * (1 - validation_split))
        if not 0 < split_at < len(y):
            raise DataError(
                f"validation_split {validation_split} leaves no training or no validation "
                f"windows out of {len(y)}; use a fraction such as 0.2 or a larger --subset"
            )
        x_test, y_test = windows(test_series, window)
        clean_val, clean_test = clean_y[split_at:], test_clean[window:]
        return Dataset(
            x_train=x[:split_at],
            y_train=y[:split_at],
            x_val=x[split_at:],
            y_val=y[split_at:],
            x_test=x_test,
            y_test=y_test,
            info={
                "input_shape": (window, 1),
                "window": window,
                "clean_val": clean_val,
                "clean_test": clean_test,
                # The MSE of predicting the clean wave exactly: no model can do better.
                "noise_floor_val": float(np.mean((y[split_at:] - clean_val) ** 2)),
                "noise_floor_test": float(np.mean((y_test - clean_test) ** 2)),
            },
        )

    def build_model(self, params: dict, dataset: Dataset, options: dict):
        """Compiled LSTM regressor: loss mse, metric mse (history: mse / val_mse)."""
        import keras

        from . import builders

        params = builders.model_params(params, options)
        common = builders.common_params(params, self.name)
        depth = builders.int_param(params, "lstm_layers", self.name, 1, 2, default=2)
        units = builders.int_param(params, "units", self.name, 1, 100_000)
        layers = [keras.Input(shape=dataset.info["input_shape"])]
        for i in range(1, depth + 1):
            layers.append(
                keras.layers.LSTM(
                    units,
                    return_sequences=i < depth,
                    kernel_regularizer=builders.regularizer(common),
                )
            )
            layers += builders.maybe_dropout(common)
        layers.append(keras.layers.Dense(1))
        model = keras.Sequential(layers, name=self.name)
        optimizer = builders.make_optimizer(common, params, dataset, options, self.name)
        return builders.compile_regressor(model, optimizer, options)


def _check_subset(subset: object, available: int) -> int:
    if isinstance(subset, bool) or not isinstance(subset, int | np.integer):
        raise DataError(f"--subset {subset!r} must be a whole number of sine windows")
    if subset > available:
        raise DataError(
            f"--subset {subset} is larger than the {available} sine windows; "
            f"use at most {available}"
        )
    if subset < 2:
        raise DataError(
            f"--subset {subset} is too small: the sine series needs at least 2 windows "
            "(one to train on, one to validate on); use at least 2"
        )
    return int(subset)
