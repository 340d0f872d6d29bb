"""The workload contract: a dataset loader plus a builder of compiled Keras models.

Nothing here imports TensorFlow or Keras: the CLI imports this package to list
and validate workload names and must start instantly. Each workload imports
Keras inside `load` / `build_model`.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DataError

if TYPE_CHECKING:
    import keras

# Name -> "module:Class"; modules are imported on demand so that listing the
# names costs nothing.
_REGISTRY = {
    "mnist_mlp": "tuneyard.workloads.mnist:MnistMlp",
    "cifar_cnn": "tuneyard.workloads.cifar:CifarCnn",
    "sine_lstm": "tuneyard.workloads.sine:SineLstm",
}
WORKLOAD_NAMES: tuple[str, ...] = tuple(_REGISTRY)


@dataclass
class Dataset:
    """Train / validation / test arrays of one workload, plus facts about them.

    Validation is carved out of the training pool only; the test split is kept
    apart and never used for training or validation. `info` holds at least
    `input_shape`; classifiers add `num_classes` and `class_names`; the sine
    series adds `window`, `noise_floor_val`, `noise_floor_test`, `clean_val`
    and `clean_test` (the noise-free targets).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        # The default repr would print whole arrays; shapes are what a reader wants.
        shapes = ", ".join(
            f"{part}={getattr(self, 'x_' + part).shape}" for part in ("train", "val", "test")
        )
        return f"Dataset({shapes}, info keys={sorted(self.info)})"


class Workload(ABC):
    """A dataset loader plus a model builder turning params into a compiled Keras model."""

    name: str
    task: str  # "classification" or "regression"

    @abstractmethod
    def load(
        self,
        *,
        data_dir: str | None = None,
        subset: int | None = None,
        seed: int = 0,
        validation_split: float = 0.1,
    ) -> Dataset:
        """Load (or generate) the data, split seeded into train, validation and test."""

    @abstractmethod
    def build_model(self, params: dict, dataset: Dataset, options: dict) -> keras.Model:
        """Return a compiled Keras model for `params` sized to `dataset`.

        `options` carries training settings: `batch_size` (default 32) and
        `lr_decay` (a dict with rate / every_epochs / min_lr, or None).
        """

    def __repr__(self) -> str:
        return f"<workload {self.name}>"


def register_keras_objects() -> None:
    """Register tuneyard's custom Keras objects (the floored learning-rate schedule).

    Keras rebuilds a saved model's custom classes only if they are registered
    in the loading process, and never imports a non-Keras module by itself.
    Every `load()` calls this, so any process that trains (and so may resume
    from a saved model) can load models saved with a decaying learning rate.
    """
    importlib.import_module("tuneyard.workloads.builders")


def get_workload(name: str) -> Workload:
    """Return a fresh instance of the workload called `name`."""
    target = _REGISTRY.get(name)
    if target is None:
        raise DataError(f"unknown workload {name!r}; use one of {', '.join(WORKLOAD_NAMES)}")
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)()
