"""Raw MNIST and CIFAR-10 arrays from a data directory or keras' download cache.

Resolution order: the `data_dir` argument, else the TUNEYARD_DATA_DIR
environment variable, else `keras.datasets` (which downloads into its cache).
Files in a data directory use keras' own layouts: `mnist.npz` and
`cifar-10-batches-py/`. Keras is imported only for the download fallback.

Every array is checked as it is loaded (labels whole numbers in 0..classes-1,
one per image; float images finite; image shapes as the dataset has them), so
a damaged file fails here, naming the file, the array and the first bad value,
rather than every trial failing later inside TensorFlow.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..errors import DataError
from . import checks
from .checks import check_finite

ENV_VAR = "TUNEYARD_DATA_DIR"
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST_FILE = "test_batch"
NUM_CLASSES = 10  # MNIST digits and CIFAR-10 classes alike

# Globals a CIFAR batch pickle may need: numpy array, dtype and scalar
# reconstruction (numpy < 2 and >= 2 spellings, protocol 2-5) and the bytes
# helpers Python 2 era pickles use. Anything else (os.system, eval, ...) is
# refused, so a tampered file cannot run code when it is read.
_SAFE_GLOBALS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("_codecs", "encode"),
        ("builtins", "bytearray"),
    }
)


class RawImages(NamedTuple):
    """Images (channels last) as stored, checked int64 labels (n,), and where they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str


class _RefusedGlobal(pickle.UnpicklingError):
    pass


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        raise _RefusedGlobal(f"it asks to load {module}.{name}, which a dataset never needs")


def _data_dir(data_dir: str | os.PathLike | None) -> tuple[Path, str] | None:
    """Return the chosen data folder and how it was chosen, or None for keras' cache."""
    if data_dir:
        return Path(data_dir).expanduser(), "--data-dir"
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser(), ENV_VAR
    return None


def _how_to_provide(file_name: str) -> str:
    return (
        f"pass --data-dir DIR (or set {ENV_VAR}) to a folder holding keras' {file_name}, "
        "or connect to the internet so keras can download it"
    )


def _one_line(err: BaseException) -> str:
    # Library messages can span lines; a DataError is shown as one line.
    text = " ".join(str(err).split())
    return text[:200] or type(err).__name__


def _not_found(title: str, path: Path, chosen_by: str, file_name: str) -> DataError:
    missing = "" if path.parent.is_dir() else f"; folder {path.parent} does not exist"
    return DataError(
        f"{title} not found: looked for {path} (data dir from {chosen_by}{missing}); "
        f"{_how_to_provide(file_name)}"
    )


def _keras_cache_path(file_name: str) -> Path:
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets" / file_name


def load_mnist(data_dir: str | os.PathLike | None = None, num_classes: int = NUM_CLASSES) -> RawImages:
    """Read MNIST from `<dir>/mnist.npz`, or through keras.datasets.mnist when no dir is set.

    Labels must lie in 0..num_classes-1; a bad array raises DataError.
    """
    chosen = _data_dir(data_dir)
    if chosen is None:
        raw = _from_keras("MNIST", "mnist.npz", "mnist")
        return _checked(raw, (28, 28), num_classes, str(_keras_cache_path("mnist.npz")))
    path = chosen[0] / "mnist.npz"
    if not path.is_file():
        raise _not_found("MNIST", path, chosen[1], "mnist.npz")
    try:
        # allow_pickle=False: the real file holds plain uint8 arrays only.
        with np.load(path, allow_pickle=False) as arrays:
            parts = [arrays[key] for key in ("x_train", "y_train", "x_test", "y_test")]
    except KeyError as err:
        raise DataError(
            f"cannot read MNIST file {path}: key {err} is missing; it needs x_train, y_train, "
            "x_test and y_test like keras' mnist.npz"
        ) from err
    except Exception as err:  # corrupt zip, object arrays, truncated file...
        raise DataError(
            f"cannot read MNIST file {path}: {_one_line(err)}; replace it with keras' mnist.npz"
        ) from None
    raw = RawImages(*parts, source=str(path))
    return _checked(raw, (28, 28), num_classes, raw.source)


def load_cifar10(data_dir: str | os.PathLike | None = None, num_classes: int = NUM_CLASSES) -> RawImages:
    """Read CIFAR-10 from `<dir>/cifar-10-batches-py/`, or through keras.datasets.cifar10.

    Labels must lie in 0..num_classes-1; a bad batch raises DataError naming it.
    """
    chosen = _data_dir(data_dir)
    if chosen is None:
        raw = _from_keras("CIFAR-10", CIFAR_FOLDER, "cifar10")
        return _checked(raw, (32, 32, 3), num_classes, str(_keras_cache_path(CIFAR_FOLDER)))
    folder = chosen[0] / CIFAR_FOLDER
    batches = []
    for name in (*CIFAR_TRAIN_FILES, CIFAR_TEST_FILE):
        if not (folder / name).is_file():
            raise _not_found("CIFAR-10", folder / name, chosen[1], f"{CIFAR_FOLDER}/ folder")
        batches.append(_read_cifar_batch(folder / name, num_classes))
    # Each batch was checked as it was read, where the error can name its file.
    x_train = np.concatenate([x for x, _ in batches[:-1]])
    y_train = np.concatenate([y for _, y in batches[:-1]])
    return RawImages(x_train, y_train, *batches[-1], source=str(folder))


def _read_cifar_batch(path: Path, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """One pickled batch -> (images (n, 32, 32, 3) uint8, checked int64 labels (n,))."""
    try:
        with open(path, "rb") as handle:
            batch = _RestrictedUnpickler(handle, encoding="bytes").load()
    except _RefusedGlobal as err:
        raise DataError(
            f"refusing to read {path}: {err}; the file may be corrupted or malicious, "
            "replace it with the original CIFAR-10 python batch"
        ) from None
    except Exception as err:  # truncated or non-pickle files raise many types
        raise DataError(
            f"cannot read CIFAR-10 batch {path}: {_one_line(err)}; replace it"
        ) from None
    if not isinstance(batch, dict):
        raise DataError(f"cannot read CIFAR-10 batch {path}: expected a pickled dict; replace it")
    # Python 2 era pickles read with encoding="bytes" have bytes keys.
    batch = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    try:
        data = np.asarray(batch["data"])
        if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
            raise ValueError(f"'data' is {data.dtype} {data.shape}")
        # No dtype here: casting would silently turn a label 2.5 into 2.
        labels = np.asarray(batch["labels"])
        # Stored as rows of 3072 bytes in channel, row, column order.
        images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    except (KeyError, ValueError, TypeError) as err:
        raise DataError(
            f"cannot read CIFAR-10 batch {path}: {_one_line(err)}; it needs 'data' (N, 3072) uint8 "
            "and 'labels' like the original python batches"
        ) from None
    labels = check_labels(labels, len(images), num_classes, str(path), "labels", "'data'")
    return images, labels


def _checked(raw: RawImages, image_shape: tuple, num_classes: int, where: str) -> RawImages:
    """Check both splits of `raw` (read from file `where`); return it with int64 labels."""
    labels = {}
    for part in ("train", "test"):
        x, y = getattr(raw, "x_" + part), getattr(raw, "y_" + part)
        if x.shape[1:] != image_shape:
            raise DataError(
                f"{where}: x_{part} has shape {x.shape}; expected "
                f"(n, {', '.join(map(str, image_shape))}) images; fix or replace the file"
            )
        check_images(x, where, "x_" + part)
        labels[part] = check_labels(y, len(x), num_classes, where, "y_" + part, "x_" + part)
    return raw._replace(y_train=labels["train"], y_test=labels["test"])


_FIX = "fix or replace the file"


def check_images(images: np.ndarray, where: str, array: str) -> None:
    """Refuse non-numeric images, and float images holding NaN or infinity.

    Keras' files are uint8 and need no scan; a user's npz may store floats.
    """
    if images.dtype.kind not in "buif":
        raise DataError(
            f"{where}: {array} holds {images.dtype} values; images must be numbers "
            f"(uint8 pixels 0..255); {_FIX}"
        )
    check_finite(images, where, array, "image values must be finite", _FIX)


def check_labels(
    labels: np.ndarray, count: int, num_classes: int, where: str, array: str, images: str
) -> np.ndarray:
    """Return `labels` as int64 (n,), or raise DataError naming the file and the first bad one.

    `count` is the number of images in the array called `images`; see checks.check_labels.
    """
    return checks.check_labels(labels, count, num_classes, where, array, images, _FIX, unit="images")


def _from_keras(title: str, file_name: str, module: str) -> RawImages:
    """Fall back on keras.datasets, which downloads into its cache when online."""
    # heavy: keras
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, module).load_data()
    except Exception as err:
        # Only reached when no data dir was given: say where keras looked and the way out.
        raise DataError(
            f"{title} not found: looked for {_keras_cache_path(file_name)} and keras could "
            f"not download it ({_one_line(err)}); {_how_to_provide(file_name)}"
        ) from None
    return RawImages(x_train, y_train, x_test, y_test, source=f"keras.datasets.{module}")
