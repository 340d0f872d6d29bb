"""The workload contract: a dataset loader plus a builder of compiled Keras models.

Nothing here imports TensorFlow or Keras: the CLI imports this package to list
and validate workload names and must start instantly. Each workload imports
Keras inside `load` / `build_model`.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    import keras

@dataclass
class Dataset:
    """Train / validation / test data of one workload, plus facts about them.

    Validation is carved out of the training pool only; the test split is kept
    apart and never used for training or validation. `info` holds at least
    `input_shape`; classifiers add `num_classes` and `class_names`; the sine
    series adds `window`, `noise_floor_val`, `noise_floor_test`, `clean_val`
    and `clean_test` (the noise-free targets).

    Each `x_` is numpy arrays (or a list / dict of them, a multi-input model's) with its
    `y_`, or a `tf.data.Dataset` or `keras.utils.PyDataset` yielding batches of (x, y) or
    (x, y, sample_weight), with its `y_` None: `fit` gets it as given. `w_train` / `w_val`:
    optional sample weights of array data, one per sample (a pipeline yields its own).
    `x_test` may be None: no test split (`tune evaluate` says so).
    """

    x_train: Any
    y_train: Any
    x_val: Any
    y_val: Any
    x_test: Any = None
    y_test: Any = None
    info: dict[str, Any] = field(default_factory=dict)
    w_train: np.ndarray | None = None
    w_val: np.ndarray | None = None

    def __repr__(self) -> str:
        # The default repr would print whole arrays; shapes are what a reader wants.
        shapes = ", ".join(
            f"{part}={_shape(getattr(self, 'x_' + part))}" for part in ("train", "val", "test")
        )
        return f"Dataset({shapes}, info keys={sorted(self.info)})"


def _shape(values: Any) -> Any:
    """An array's shape, else its type's name (a pipeline, None)."""
    return getattr(values, "shape", None) or type(values).__name__


class Workload(ABC):
    """The contract every workload implements, the shipped ones and a user's alike.

    A workload loads its data (`load` -> Dataset: train / validation / test plus
    `info`) and turns a params dict into a compiled Keras model (`build_model`).
    It declares the hyperparameters it reads: `required` ones a space must
    search or fix, `optional` ones it reads when given. A space naming one it
    does not read, or missing a required one, is refused when it loads.
    `batch_size` is read by the trainer for every workload. A workload that
    declares nothing (both empty) is watched instead: after its first trial the
    hyperparameters it never read are refused.

    Name one in a space as `workload: module:object` (the space file's folder is
    on the import path) or register it under the `tuneyard.workloads` entry-point
    group, as the shipped mnist_mlp, cifar_cnn and sine_lstm are.
    """

    name: str = ""
    task: str = "classification"  # or "regression"
    required: ClassVar[tuple[str, ...]] = ()
    optional: ClassVar[tuple[str, ...]] = ()
    # Optional: the small network a comparison holds fixed while it varies a training setting
    # (`tune compare`'s base point, `tune compare-regularisation`): its architecture's
    # hyperparameters. Empty: a comparison takes the space's middle values instead.
    course_network: ClassVar[dict[str, Any]] = {}

    @abstractmethod
    def load(
        self,
        *,
        data_dir: str | None = None,
        subset: int | None = None,
        seed: int = 0,
        validation_split: float = 0.1,
    ) -> Dataset:
        """Load (or generate) the data, split seeded into train, validation and test.

        A space's `fixed` settings that `load` names as keyword arguments (the
        sine window) are passed to it as well.
        """

    @abstractmethod
    def build_model(self, params: dict, dataset: Dataset, options: dict) -> keras.Model:
        """Return a compiled Keras model for `params` sized to `dataset`.

        `options` carries the space's `fixed` settings and training settings:
        `batch_size` (the trial's own when it tunes one) and `lr_decay` (a dict with rate /
        every_epochs / min_lr, or None); it has no epoch count, so a schedule that spans the
        training reads its length from a fixed setting (`decay_epochs`).
        """

    def fit_options(self, params: dict, dataset: Dataset) -> dict:
        """What this trial's `fit` gets besides what tuneyard passes: optional.

        Called before every fit (each trial, each repeat), so the callbacks it returns are
        fresh ones: `callbacks` (a list of keras.callbacks.Callback, run beside tuneyard's
        own early stopping, pruning, timeouts and progress), `class_weight` ({class: weight}),
        `steps_per_epoch`, `validation_steps` (for a pipeline that repeats), `shuffle`.
        tuneyard sets x, y, epochs, batch_size and validation_data itself; sample weights
        come with the data (`Dataset.w_train`, or a pipeline's third element). Default: none.
        """
        return {}

    @property
    def declares(self) -> bool:
        """Whether the workload says which hyperparameters it reads."""
        return bool(self.required or self.optional)

    def hyperparameter_problem(self, names: set[str]) -> str | None:
        """What is wrong with a space giving these hyperparameters (and fixed settings)."""
        if not self.declares:
            return None
        unread = sorted(names - set(self.required) - set(self.optional) - TRAINER_PARAMS)
        if unread:
            return (f"workload {self.name} does not read {', '.join(unread)} (it reads "
                    f"{', '.join([*self.required, *self.optional])}); remove it from the space")
        missing = sorted(set(self.required) - names)
        if missing:
            return (f"workload {self.name} needs {', '.join(missing)}; add it to the space's "
                    "hyperparameters or fixed settings")
        return None

    # Optional hooks for what analysis needs of a workload; the defaults know nothing.

    def trivial_baselines(self, setup: DataSetup) -> dict[str, float]:
        """A trivial model's value of the curves this workload's models report, by curve name.

        For the diagnosis: a trial whose best training and validation values stay above half
        of it is underfitting. A maximised curve is given as its shortfall (`accuracy`:
        1 - the accuracy of guessing). A key matches the curves whose name ends with it
        (`accuracy` matches `sparse_categorical_accuracy`). Default: none known.
        """
        return {}

    def best_possible(self, setup: DataSetup, params: dict | None) -> Bound | None:
        """The best validation value any model can reach on a trial's inputs, if known.

        For the diagnosis: a trial within 1% of it is told that its inputs, not the search,
        limit it. `params` are the trial's hyperparameters (None when unknown).
        Default: none known.
        """
        return None

    def references(self, setup: DataSetup) -> References | None:
        """Validation scores a race reports beside each seed's best, if the workload has them.

        Default: none.
        """
        return None

    def __repr__(self) -> str:
        return f"<workload {self.name}>"


@dataclass(frozen=True)
class DataSetup:
    """How a study draws its data: what the optional hooks need to redraw what they judge by.

    `fixed` holds the space's fixed settings; `searched` names its hyperparameters.
    """

    seed: int = 0
    subset: int | None = None
    validation_split: float = 0.1
    fixed: dict = field(default_factory=dict, compare=False)
    searched: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Bound:
    """The best validation value any model reaches on `inputs` input values (a window of
    past values), and whether `inputs` is already the most the space offers."""

    value: float
    inputs: int
    longest: bool = False


@dataclass(frozen=True)
class References:
    """A race's references on one seed's validation split: the noise floor (no model does
    better), the best linear filter on the inputs, and that filter fitted on the training
    split only (what the data teaches a linear model)."""

    floor: float
    bound: float
    fitted: float


# Hyperparameters the trainer reads for every workload, as Keras Tuner users expect.
TRAINER_PARAMS = frozenset({"batch_size"})
# What the shipped builders read with a default (builders.common_params, lr_decay_settings,
# builders.learning_rate: lr_schedule none|cosine, decay_epochs the cosine's span).
COMMON_OPTIONAL = ("learning_rate", "optimizer", "dropout", "l2", "lr_decay", "lr_schedule", "decay_epochs")


def register_keras_objects() -> None:
    """Register tuneyard's custom Keras objects (the floored learning-rate schedule).

    Keras rebuilds a saved model's custom classes only if they are registered
    in the loading process, and never imports a non-Keras module by itself.
    Every `load()` calls this, so any process that trains (and so may resume
    from a saved model) can load models saved with a decaying learning rate.
    """
    importlib.import_module("tuneyard.workloads.builders")


