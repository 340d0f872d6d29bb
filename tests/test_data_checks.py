"""Data checked at load: a bad label or pixel names the file, the array, the index and the value."""

import inproc
import numpy as np
import optuna
import pytest
from test_loaders import BATCH_ROWS, N_TEST, N_TRAIN, balanced_labels, unique_images, write_batch

from tuneyard.errors import DataError
from tuneyard.workloads import get_workload


def write_mnist(folder, **replace):
    """A small keras-layout mnist.npz in `folder`, with some arrays replaced."""
    arrays = {
        "x_train": unique_images(N_TRAIN, (28, 28), 1),
        "y_train": balanced_labels(N_TRAIN, 2),
        "x_test": unique_images(N_TEST, (28, 28), 3),
        "y_test": balanced_labels(N_TEST, 4),
    }
    np.savez_compressed(folder / "mnist.npz", **{**arrays, **replace})
    return folder / "mnist.npz"


def load_error(workload, folder) -> str:
    with pytest.raises(DataError) as error:
        get_workload(workload).load(data_dir=folder)
    message = str(error.value)
    assert "\n" not in message
    return message


def labels_with(value, index, dtype=np.int64, n=N_TRAIN):
    labels = balanced_labels(n, 2).astype(dtype)
    labels[index] = value
    return labels


def test_label_255_names_file_array_index_and_value(tmp_path):
    path = write_mnist(tmp_path, y_train=labels_with(255, 37, np.uint8))
    message = load_error("mnist_mlp", tmp_path)
    assert message.startswith(f"{path}: y_train[37] is 255;")
    assert "labels must be integers in 0..9; fix or replace the file" in message


def test_negative_label_in_the_test_split(tmp_path):
    write_mnist(tmp_path, y_test=labels_with(-1, 5, n=N_TEST))
    assert "mnist.npz: y_test[5] is -1; labels must be integers in 0..9" in load_error("mnist_mlp", tmp_path)


@pytest.mark.parametrize("value", [2.5, np.nan, np.inf])
def test_non_integer_float_label_is_refused(tmp_path, value):
    write_mnist(tmp_path, y_train=labels_with(value, 11, np.float64))
    assert f"y_train[11] is {np.float64(value)}; labels must be integers" in load_error("mnist_mlp", tmp_path)


@pytest.mark.slow
def test_whole_float_labels_and_a_label_column_are_accepted(tmp_path):
    write_mnist(
        tmp_path,
        y_train=balanced_labels(N_TRAIN, 2).astype(np.float32),
        y_test=balanced_labels(N_TEST, 4).reshape(-1, 1),
    )
    ds = get_workload("mnist_mlp").load(data_dir=tmp_path)
    assert ds.y_train.dtype == ds.y_test.dtype == np.int64
    np.testing.assert_array_equal(ds.y_test, balanced_labels(N_TEST, 4))


def test_label_count_differs_from_image_count(tmp_path):
    write_mnist(tmp_path, y_train=balanced_labels(N_TRAIN - 1, 2))
    message = load_error("mnist_mlp", tmp_path)
    assert f"y_train has {N_TRAIN - 1} labels but x_train has {N_TRAIN} images" in message


def test_two_dimensional_labels_are_refused(tmp_path):
    write_mnist(tmp_path, y_test=balanced_labels(N_TEST, 4).reshape(-1, 2))
    assert f"y_test has shape ({N_TEST // 2}, 2); expected ({N_TEST},)" in load_error("mnist_mlp", tmp_path)


def test_string_labels_are_refused(tmp_path):
    write_mnist(tmp_path, y_test=balanced_labels(N_TEST, 4).astype(str))
    assert "y_test holds <U3 values; labels must be integers in 0..9" in load_error("mnist_mlp", tmp_path)


def test_nan_pixel_in_float_images_names_its_index(tmp_path):
    images = unique_images(N_TRAIN, (28, 28), 1).astype(np.float32)
    images[12, 3, 4] = np.nan
    path = write_mnist(tmp_path, x_train=images)
    message = load_error("mnist_mlp", tmp_path)
    assert message.startswith(f"{path}: x_train[12, 3, 4] is nan; image values must be finite")


def test_finite_float_images_load(tmp_path):
    write_mnist(tmp_path, x_test=unique_images(N_TEST, (28, 28), 3).astype(np.float64))
    assert get_workload("mnist_mlp").load(data_dir=tmp_path).x_test.max() <= 1


def test_wrong_image_shape_names_the_array(tmp_path):
    write_mnist(tmp_path, x_test=unique_images(N_TEST, (28, 27), 3))
    assert f"x_test has shape ({N_TEST}, 28, 27); expected (n, 28, 28)" in load_error("mnist_mlp", tmp_path)


def cifar_folder(tmp_path, bad_batch, labels):
    """Keras-layout CIFAR-10 batches, `bad_batch` holding `labels`."""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        rows = labels if name == bad_batch else balanced_labels(BATCH_ROWS, 6)
        write_batch(folder / name, unique_images(BATCH_ROWS, (3072,), 5), rows)
    return folder / bad_batch


def test_cifar_label_10_names_the_batch_file(tmp_path):
    path = cifar_folder(tmp_path, "data_batch_3", labels_with(10, 7, n=BATCH_ROWS))
    message = load_error("cifar_cnn", tmp_path)
    assert message.startswith(f"{path}: labels[7] is 10; labels must be integers in 0..9")


def test_cifar_label_count_names_the_batch_file(tmp_path):
    path = cifar_folder(tmp_path, "test_batch", balanced_labels(BATCH_ROWS + 1, 6))
    message = load_error("cifar_cnn", tmp_path)
    assert f"{path}: labels has {BATCH_ROWS + 1} labels but 'data' has {BATCH_ROWS} images" in message


@pytest.mark.slow
def test_cli_refuses_bad_labels_in_one_line_without_a_study(tmp_path, results_in_tmp):
    data = tmp_path / "data"
    data.mkdir()
    write_mnist(data, y_train=labels_with(255, 37, np.uint8))
    # In this process (tests/inproc.py): the refusal is tuneyard's, not the process's.
    done = inproc.tune("run", "--space", "mnist_mlp", "--trials", "1", "--epochs", "1",
                       "--subset", "100", "--data-dir", data, cwd=tmp_path,
                       env={"TUNEYARD_RESULTS_DIR": results_in_tmp})
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    assert "y_train[37] is 255" in lines[0] and str(data / "mnist.npz") in lines[0]
    assert "Traceback" not in done.stderr
    db = results_in_tmp / "tuneyard.db"  # refused before any study: none, if a store was made
    assert not db.exists() or optuna.get_all_study_names(f"sqlite:///{db}") == []
