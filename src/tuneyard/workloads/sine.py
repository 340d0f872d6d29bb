"""sine_lstm: predict the next value of a noisy sine wave from a window of past values."""

from __future__ import annotations

import functools

import numpy as np

from ..errors import DataError
from .base import COMMON_OPTIONAL, Bound, Dataset, DataSetup, References, Workload, register_keras_objects
from .splits import check_fraction

STEP = 0.1
NOISE = 0.1
POINTS = 1_000  # the series' length, as in the course: t in [0, 100)
TEST_POINTS = 200  # a later stretch of the same wave, never seen in training
MAX_POINTS = 1_000_000
BOUND_SEED = 2**31 - 1  # the long series `linear_bound` fits on, apart from every sweep seed


def windows(series: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """(n - window, window, 1) inputs and (n - window,) next values of `series`."""
    x = np.lib.stride_tricks.sliding_window_view(series[:-1], window)
    return x[..., np.newaxis].astype(np.float32), series[window:].astype(np.float32)


def noisy_wave(span: tuple[float, float], rng: np.random.Generator):
    """(noisy, clean) values of the wave for t in [start, end) by STEP, the noise from `rng`."""
    # Cut to the count: with a float end, arange can give one value more.
    t = np.arange(span[0], span[1], STEP)[: round((span[1] - span[0]) / STEP)]
    clean = np.sin(t)
    return clean + NOISE * rng.standard_normal(len(t)), clean


def linear_bound(window: int, x_val: np.ndarray, y_val: np.ndarray) -> float:
    """Validation MSE of the best linear filter on `window` past values.

    Fitted by least squares on 100,000 windows of an independent series of the same
    wave and noise, so it is what this window allows rather than what 1,000 points
    teach (a fit on the ~800 training windows overfits: at a window of 100 it scores
    12-19% above the floor where the filter itself is 3-7%): about 15% above the noise
    floor for windows of 20, a few % for 100.
    """
    coef = _linear_filter(int(window))
    predicted = np.c_[x_val[..., 0], np.ones(len(y_val))] @ coef
    return float(np.mean((predicted - y_val) ** 2))


@functools.cache
def _linear_filter(window: int) -> np.ndarray:
    rng = np.random.default_rng(BOUND_SEED)
    series, _ = noisy_wave((0.0, 10_000.0 + window * STEP), rng)
    x, y = windows(series, window)
    design = np.c_[x[..., 0], np.ones(len(y))].astype(np.float64)
    # The normal equations: the same least-squares fit as lstsq, well conditioned here
    # (the noise alone gives every direction ~1,000), in milliseconds.
    return np.linalg.solve(design.T @ design, design.T @ y)


def window_bound(data: Dataset, window: int) -> float:
    """`linear_bound` for a model that sees only the last `window` values of each sample.

    Samples hold `data.info["window"]` values (the longest window of the space); every
    window size predicts the same validation targets, so the bounds compare directly.
    """
    return linear_bound(window, data.x_val[:, data.x_val.shape[1] - window:], data.y_val)


def fitted_filter(data: Dataset, window: int) -> float:
    """Validation MSE of the least-squares linear filter on the last `window` values, fitted
    on the training split only: what the same data teaches a linear model.

    Beside `window_bound` it tells the limits apart: a model near this one but far above
    the bound is held back by the ~800 training windows, not by its window.
    """
    def design(x: np.ndarray) -> np.ndarray:
        return np.c_[x[:, x.shape[1] - window:, 0], np.ones(len(x))].astype(np.float64)

    coef = np.linalg.lstsq(design(data.x_train), data.y_train, rcond=None)[0]
    return float(np.mean((design(data.x_val) @ coef - data.y_val) ** 2))


def spans(points: int = POINTS) -> tuple[tuple[float, float], tuple[float, float]]:
    """The (start, end) of t for the series of `points` values and for its test stretch."""
    end = points * STEP
    return (0.0, end), (end, end + TEST_POINTS * STEP)


def _check_points(points: object) -> int:
    whole = isinstance(points, int | np.integer) and not isinstance(points, bool)
    if not whole or not 100 <= points <= MAX_POINTS:
        raise DataError(f"sine points {points!r} is invalid; use a whole number from 100 to "
                        f"{MAX_POINTS:,} (the course's series has {POINTS:,})")
    return int(points)


def _check_window(window: object) -> int:
    whole = isinstance(window, int | np.integer) and not isinstance(window, bool)
    if not whole or not 1 <= window < 200:
        raise DataError(f"sine window {window!r} is invalid; use a whole number from 1 to 199")
    return int(window)


class SineLstm(Workload):
    """Stacked LSTM(units) x lstm_layers (0-2, default 2 as in the course), then
    Dense(units, tanh) x dense_layers (0-3, default 0) -> Dense(1).

    `lstm_layers: 0` is a feed-forward model on the flattened window: with no dense
    layer either, a linear filter learned by gradient descent. A feed-forward model
    trains in a fraction of an LSTM's time, so it can learn from long series (`points`).

    The window is a fixed setting (`window: 20`: the data is windowed to 20 values) or a
    hyperparameter: the data is loaded once per sweep, windowed to the fixed
    `max_window` (the longest the space offers), and a trial whose `window` is shorter
    crops the oldest values off inside its model (Cropping1D). So every trial predicts
    the same targets on the same validation split, whatever its window, and its val_mse
    compares with every other trial's and with the linear bound on its own window.
    """

    name = "sine_lstm"
    task = "regression"
    required = ("units",)
    optional = ("lstm_layers", "dense_layers", "window", "max_window", "points", *COMMON_OPTIONAL)
    # The course's small network, held fixed by comparisons.
    course_network = {"lstm_layers": 2, "units": 64}

    def load(
        self,
        *,
        data_dir: str | None = None,
        subset: int | None = None,
        seed: int = 0,
        validation_split: float = 0.1,
        window: int = 20,
        max_window: int | None = None,
        points: int = POINTS,
    ) -> Dataset:
        """Generate the series from `seed`; validation is the chronologically last slice.

        Samples hold `max(window, max_window)` values (`info["window"]`): a space
        searching the window fixes `max_window` to its longest one. `points` is the
        series' length (the course's 1,000 by default): more points, more training and
        validation windows.
        `data_dir` is accepted for a uniform call and ignored. `subset=N` keeps
        the first N windows. The test set is windowed from a separate
        continuation (200 more points: t in [100, 120) by default) whose noise is drawn
        after the main series.
        """
        register_keras_objects()
        return generate(subset=subset, seed=seed, validation_split=validation_split, window=window,
                        max_window=max_window, points=points)

    def build_model(self, params: dict, dataset: Dataset, options: dict):
        """Compiled regressor: loss mse, metric mse (history: mse / val_mse)."""
        # heavy: keras
        import keras

        from . import builders

        params = builders.model_params(params, options)
        common = builders.common_params(params, self.name)
        depth = builders.int_param(params, "lstm_layers", self.name, 0, 2, default=2)
        dense = builders.int_param(params, "dense_layers", self.name, 0, 3, default=0)
        units = builders.int_param(params, "units", self.name, 1, 100_000)
        layers = [keras.Input(shape=dataset.info["input_shape"]), *self._crop(params, dataset)]
        for i in range(1, depth + 1):
            layers.append(
                keras.layers.LSTM(
                    units,
                    return_sequences=i < depth,
                    kernel_regularizer=builders.regularizer(common),
                )
            )
            layers += builders.maybe_dropout(common)
        if not depth:
            layers.append(keras.layers.Flatten())  # the window's values side by side
        for _ in range(dense):
            # tanh: smooth and bounded like the wave (relu did worse in bench/RESULTS.md).
            layers.append(keras.layers.Dense(units, activation="tanh",
                                             kernel_regularizer=builders.regularizer(common)))
            layers += builders.maybe_dropout(common)
        layers.append(keras.layers.Dense(1, dtype="float32"))  # float32 under a mixed policy
        model = keras.Sequential(layers, name=self.name)
        optimizer = builders.make_optimizer(common, params, dataset, options, self.name)
        return builders.compile_regressor(model, optimizer, options)

    def trivial_baselines(self, setup: DataSetup) -> dict[str, float]:
        """The variance of the series' targets: the MSE of predicting their mean."""
        _, width, points = fixed_shape(setup.fixed)
        variance = target_variance(setup.seed, setup.subset, width, points)
        return {"loss": variance, "mse": variance}

    def best_possible(self, setup: DataSetup, params: dict | None) -> Bound | None:
        """The best linear filter on the trial's window (a searched window: from `params`)."""
        fixed_window, width, points = fixed_shape(setup.fixed)
        window = (params or {}).get("window") if "window" in setup.searched else fixed_window
        if window is None or not 1 <= int(window) <= width:
            return None
        value = _window_bound(setup.seed, setup.subset, setup.validation_split, width,
                              int(window), points)
        return Bound(value, int(window), longest=int(window) >= width)

    def references(self, setup: DataSetup) -> References:
        """The noise floor, the best linear filter on the longest window and that filter
        fitted on the training split, on the seed's validation split (regenerated: seeded,
        milliseconds)."""
        data = self.load(subset=setup.subset, seed=setup.seed,
                         validation_split=setup.validation_split,
                         **{k: v for k, v in setup.fixed.items()
                            if k in ("window", "max_window", "points")})
        window = data.info["window"]
        return References(data.info["noise_floor_val"], linear_bound(window, data.x_val, data.y_val),
                          fitted_filter(data, window))

    def _crop(self, params: dict, dataset: Dataset) -> list:
        """A Cropping1D keeping the last `window` values when the trial's window is shorter."""
        # heavy: keras
        import keras

        from . import builders

        width = int(dataset.info["window"])
        if params.get("window", width) > width:
            raise ValueError(
                f"{self.name}: window {params['window']} is longer than the {width} values each "
                f"sample holds; fix max_window to the longest window the space searches"
            )
        window = builders.int_param(params, "window", self.name, 1, width, default=width)
        return [keras.layers.Cropping1D((width - window, 0))] if window < width else []


def fixed_shape(fixed: dict) -> tuple[int, int, int]:
    """(fixed window, values per sample, points in the series) from a space's fixed settings;
    the course's window of 20 and 1,000 points where they are not set."""
    window = int(fixed.get("window", 20))
    return window, max(window, int(fixed.get("max_window") or 0)), int(fixed.get("points", POINTS))


@functools.cache
def target_variance(seed: int, subset: int | None, window: int, points: int) -> float:
    """The variance of the targets of a series windowed to `window` values (the series
    redrawn alone: windowing every value would cost more, for a number that barely moves)."""
    series, _ = noisy_wave(spans(points)[0], np.random.default_rng(seed))
    targets = series[window:][:subset] if subset else series[window:]
    return float(targets.var())


@functools.cache
def _window_bound(seed: int, subset: int | None, split: float, width: int, window: int,
                  points: int) -> float:
    data = generate(subset=subset, seed=seed, validation_split=split, window=width, points=points)
    return window_bound(data, window)


def generate(*, subset: int | None = None, seed: int = 0, validation_split: float = 0.1,
             window: int = 20, max_window: int | None = None, points: int = POINTS) -> Dataset:
    """The sine Dataset of `SineLstm.load`, with numpy only (no Keras: reports call it)."""
    check_fraction(validation_split)
    window = _check_window(window)
    if max_window is not None:
        window = max(window, _check_window(max_window))
    train_span, test_span = spans(_check_points(points))
    rng = np.random.default_rng(seed)
    series, clean = noisy_wave(train_span, rng)
    test_series, test_clean = noisy_wave(test_span, rng)
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
