"""Loaders: tiny files in keras' own layouts, seeded stratified splits, clear errors."""

import os
import pickle

import numpy as np
import pytest

from tuneyard.errors import DataError
from tuneyard.workloads import get_workload

N_TRAIN, N_TEST, BATCH_ROWS = 200, 50, 40


def unique_images(n: int, shape: tuple, seed: int) -> np.ndarray:
    """Random uint8 images whose first two pixels encode the row number, so all differ."""
    images = np.random.default_rng(seed).integers(0, 256, (n, *shape), dtype=np.uint8)
    flat = images.reshape(n, -1)
    flat[:, 0], flat[:, 1] = np.arange(n) % 256, np.arange(n) // 256
    return images


def balanced_labels(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).permutation(np.arange(n) % 10).astype(np.uint8)


@pytest.fixture
def mnist_dir(tmp_path):
    np.savez_compressed(
        tmp_path / "mnist.npz",
        x_train=unique_images(N_TRAIN, (28, 28), 1),
        y_train=balanced_labels(N_TRAIN, 2),
        x_test=unique_images(N_TEST, (28, 28), 3),
        y_test=balanced_labels(N_TEST, 4),
    )
    return tmp_path


def write_batch(path, data, labels, protocol=pickle.HIGHEST_PROTOCOL):
    # Bytes keys and a list of labels, like the original python batches.
    batch = {b"batch_label": b"test", b"labels": list(map(int, labels)), b"data": data}
    path.write_bytes(pickle.dumps(batch, protocol=protocol))


@pytest.fixture
def cifar_dir(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    images = unique_images(5 * BATCH_ROWS, (3072,), 5)
    labels = balanced_labels(5 * BATCH_ROWS, 6)
    for i in range(5):
        rows = slice(i * BATCH_ROWS, (i + 1) * BATCH_ROWS)
        # Protocol 2 takes numpy's _reconstruct path, the newest protocol _frombuffer.
        write_batch(folder / f"data_batch_{i + 1}", images[rows], labels[rows], 2 + 3 * (i % 2))
    test = np.zeros((BATCH_ROWS, 3072), np.uint8)
    test[0, :1024] = 255  # image 0: red channel only, to check the CHW -> HWC transpose
    write_batch(folder / "test_batch", test, balanced_labels(BATCH_ROWS, 7))
    return tmp_path


def rows(x: np.ndarray) -> set:
    return {row.tobytes() for row in x}


def check_split(ds, pool_size):
    assert len(ds.x_train) + len(ds.x_val) == pool_size
    assert set(ds.y_train) == set(ds.y_val) == set(range(10))
    assert not rows(ds.x_train) & rows(ds.x_val)
    assert len(rows(ds.x_train) | rows(ds.x_val)) == pool_size


@pytest.mark.slow
def test_mnist_shapes_dtypes_and_scaling(mnist_dir):
    ds = get_workload("mnist_mlp").load(data_dir=str(mnist_dir), validation_split=0.2)
    assert ds.x_train.shape == (160, 28, 28) and ds.x_val.shape == (40, 28, 28)
    assert ds.x_test.shape == (N_TEST, 28, 28)
    assert ds.x_train.dtype == np.float32 and 0 <= ds.x_train.min() and ds.x_train.max() <= 1
    assert ds.x_train.max() == 1.0
    assert ds.y_train.shape == (160,) and np.issubdtype(ds.y_train.dtype, np.integer)
    assert np.bincount(ds.y_val).tolist() == [4] * 10  # stratified: 20% of 20 per class
    assert ds.info["num_classes"] == 10 and ds.info["input_shape"] == (28, 28)
    check_split(ds, N_TRAIN)


def test_test_split_is_the_official_one(mnist_dir):
    ds = get_workload("mnist_mlp").load(data_dir=mnist_dir)
    with np.load(mnist_dir / "mnist.npz") as raw:
        np.testing.assert_allclose(ds.x_test, raw["x_test"] / 255.0, rtol=1e-6)
        np.testing.assert_array_equal(ds.y_test, raw["y_test"])


def test_split_is_seeded(mnist_dir):
    mnist = get_workload("mnist_mlp")
    a, b = mnist.load(data_dir=mnist_dir, seed=3), mnist.load(data_dir=mnist_dir, seed=3)
    c = mnist.load(data_dir=mnist_dir, seed=4)
    np.testing.assert_array_equal(a.x_val, b.x_val)
    assert rows(a.x_val) != rows(c.x_val)


def test_subset_is_stratified_and_split(mnist_dir):
    ds = get_workload("mnist_mlp").load(data_dir=mnist_dir, subset=60, validation_split=0.5)
    check_split(ds, 60)
    assert np.bincount(ds.y_train).tolist() == [3] * 10
    assert len(ds.x_test) == N_TEST  # the test split is never subset


@pytest.mark.parametrize(
    ("subset", "expected"),
    [(201, "larger than the 200 MNIST training images; use at most 200"), (0, "at least 20")],
)
def test_bad_subset_is_a_data_error(mnist_dir, subset, expected):
    with pytest.raises(DataError, match=expected):
        get_workload("mnist_mlp").load(data_dir=mnist_dir, subset=subset)


def test_subset_too_small_for_every_class(mnist_dir):
    with pytest.raises(DataError, match="use at least 20"):
        get_workload("mnist_mlp").load(data_dir=mnist_dir, subset=19)


def test_env_variable_points_at_the_data(mnist_dir, monkeypatch):
    monkeypatch.setenv("TUNEYARD_DATA_DIR", str(mnist_dir))
    assert len(get_workload("mnist_mlp").load(subset=40).x_train) > 0


def test_argument_wins_over_env(mnist_dir, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("TUNEYARD_DATA_DIR", str(tmp_path_factory.mktemp("empty")))
    assert len(get_workload("mnist_mlp").load(data_dir=mnist_dir).x_test) == N_TEST


@pytest.mark.parametrize(
    ("workload", "missing"),
    [("mnist_mlp", "mnist.npz"), ("cifar_cnn", "cifar-10-batches-py/data_batch_1")],
)
def test_missing_file_names_the_path(tmp_path, workload, missing):
    with pytest.raises(DataError) as error:
        get_workload(workload).load(data_dir=tmp_path)
    message = str(error.value)
    assert str(tmp_path / missing) in message and "--data-dir" in message
    assert "\n" not in message


def test_missing_key_in_npz(tmp_path):
    np.savez_compressed(tmp_path / "mnist.npz", x_train=np.zeros((4, 28, 28), np.uint8))
    with pytest.raises(DataError, match="y_train"):
        get_workload("mnist_mlp").load(data_dir=tmp_path)


def test_cifar_shapes_transpose_and_split(cifar_dir):
    ds = get_workload("cifar_cnn").load(data_dir=cifar_dir, seed=1)
    assert ds.x_train.shape[1:] == (32, 32, 3) and ds.x_train.dtype == np.float32
    assert len(ds.x_val) == 20 and ds.x_test.shape == (BATCH_ROWS, 32, 32, 3)
    assert ds.y_train.ndim == 1 and ds.info["class_names"][0] == "airplane"
    assert (ds.x_test[0, ..., 0] == 1).all() and (ds.x_test[0, ..., 1:] == 0).all()
    check_split(ds, 5 * BATCH_ROWS)


def test_cifar_subset(cifar_dir):
    ds = get_workload("cifar_cnn").load(data_dir=cifar_dir, subset=30, seed=2)
    check_split(ds, 30)


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_malicious_pickle_is_refused_and_not_run(cifar_dir):
    marker = cifar_dir / "pwned"
    target = cifar_dir / "cifar-10-batches-py" / "data_batch_3"
    target.write_bytes(pickle.dumps({b"data": _Payload(marker), b"labels": [0]}))
    with pytest.raises(DataError, match="refusing to read .*data_batch_3"):
        get_workload("cifar_cnn").load(data_dir=cifar_dir)
    assert not marker.exists()


def test_garbage_batch_is_a_data_error(cifar_dir):
    (cifar_dir / "cifar-10-batches-py" / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="test_batch"):
        get_workload("cifar_cnn").load(data_dir=cifar_dir)


def test_bad_validation_split(mnist_dir):
    with pytest.raises(DataError, match="validation_split"):
        get_workload("mnist_mlp").load(data_dir=mnist_dir, validation_split=1.5)


def noisy_sine(seed):
    rng = np.random.default_rng(seed)
    t = np.arange(0, 100, 0.1)
    return np.sin(t) + 0.1 * rng.standard_normal(1000), rng


def test_sine_shapes_and_chronological_split():
    ds = get_workload("sine_lstm").load(seed=0, validation_split=0.2)
    assert ds.x_train.shape == (784, 20, 1) and ds.y_train.shape == (784,)
    assert ds.x_val.shape == (196, 20, 1) and ds.x_test.shape == (180, 20, 1)
    assert ds.x_train.dtype == np.float32
    series, rng = noisy_sine(0)
    np.testing.assert_allclose(ds.x_val[0, :, 0], series[784:804], rtol=1e-6)
    np.testing.assert_allclose(ds.y_val, series[804:], rtol=1e-5)  # the value after each window
    test_t = np.arange(100, 120, 0.1)
    test_series = np.sin(test_t) + 0.1 * rng.standard_normal(len(test_t))
    np.testing.assert_allclose(ds.y_test, test_series[20:], rtol=1e-5)


def test_sine_is_seeded_and_has_a_noise_floor():
    sine = get_workload("sine_lstm")
    a, b, c = sine.load(seed=0), sine.load(seed=0), sine.load(seed=1)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_train, c.x_train)
    for key in ("noise_floor_val", "noise_floor_test"):
        assert 0.005 < a.info[key] < 0.02
    assert len(a.info["clean_val"]) == len(a.y_val)


def test_sine_subset_and_window():
    ds = get_workload("sine_lstm").load(subset=100, window=10, validation_split=0.2)
    assert ds.x_train.shape == (80, 10, 1) and len(ds.x_val) == 20
    series, _ = noisy_sine(0)
    np.testing.assert_allclose(ds.x_train[0, :, 0], series[:10], rtol=1e-6)
    with pytest.raises(DataError, match="use at most 980"):
        get_workload("sine_lstm").load(subset=981)


def test_sine_points_set_the_series_length_and_the_test_stretch_follows_it():
    ds = get_workload("sine_lstm").load(seed=2, points=3000, validation_split=0.2)
    assert len(ds.y_train) + len(ds.y_val) == 3000 - 20 and len(ds.y_val) == 596
    rng = np.random.default_rng(2)
    series = np.sin(np.arange(3000) * 0.1) + 0.1 * rng.standard_normal(3000)
    np.testing.assert_allclose(ds.y_val, series[-596:], rtol=1e-5, atol=1e-6)
    test_t = 300 + np.arange(200) * 0.1  # the 200 points after the series
    np.testing.assert_allclose(ds.y_test, (np.sin(test_t) + 0.1 * rng.standard_normal(200))[20:],
                               rtol=1e-5, atol=1e-6)
    # The course's length stays the default, point for point.
    np.testing.assert_array_equal(get_workload("sine_lstm").load(seed=2, points=1000).x_train,
                                  get_workload("sine_lstm").load(seed=2).x_train)
    for bad in (50, 2.5, True, "many", 10**7):
        with pytest.raises(DataError, match="sine points .* whole number from 100"):
            get_workload("sine_lstm").load(points=bad)


@pytest.mark.slow
def test_the_best_linear_filter_shows_what_a_window_allows():
    from tuneyard.workloads.sine import linear_bound

    # The clean wave is a linear recurrence, so a long window averages the noise away
    # and a short one cannot: the bound falls toward the floor as the window grows.
    sine = get_workload("sine_lstm")
    gaps = {}
    for window in (5, 20, 100):
        ds = sine.load(seed=3, window=window, validation_split=0.2)
        floor, bound = ds.info["noise_floor_val"], linear_bound(window, ds.x_val, ds.y_val)
        assert bound > floor * 0.9  # no predictor beats the noise by much on ~200 points
        gaps[window] = bound / floor - 1
    assert gaps[5] > gaps[20] > gaps[100]
    assert 0.05 < gaps[20] < 0.3
