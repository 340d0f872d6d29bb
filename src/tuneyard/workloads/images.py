"""Turn raw uint8 image arrays into a seeded, stratified Dataset (numpy only)."""

from __future__ import annotations

import math

import numpy as np

from . import splits
from .base import Dataset, DataSetup, Workload, register_keras_objects
from .sources import RawImages


def _scale(images: np.ndarray) -> np.ndarray:
    # float32 in [0, 1], as the course scales pixels; float32 halves memory vs float64.
    return images.astype(np.float32) / np.float32(255.0)


def make_dataset(
    raw: RawImages,
    *,
    title: str,
    class_names: list[str],
    subset: int | None,
    seed: int,
    validation_split: float,
) -> Dataset:
    """Subset and split the training pool; keep the official test split apart.

    One generator seeded with `seed` draws the subset, then the split, so the
    same seed always gives the same rows.
    """
    splits.check_fraction(validation_split)
    register_keras_objects()
    y_pool = np.asarray(raw.y_train).reshape(-1).astype(np.int64)
    what = f"{title} training images"
    rng = np.random.default_rng(seed)
    pool = np.arange(len(y_pool))
    if subset is not None:
        n_classes = len(np.unique(y_pool))
        size = splits.check_subset(subset, len(y_pool), what, minimum=2 * n_classes)
        pool = splits.stratified_subset(y_pool, size, rng)
    splits.require_two_per_class(y_pool[pool], what)
    train_pos, val_pos = splits.stratified_split(y_pool[pool], validation_split, rng)
    train, val = pool[train_pos], pool[val_pos]
    return Dataset(
        x_train=_scale(raw.x_train[train]),
        y_train=y_pool[train],
        x_val=_scale(raw.x_train[val]),
        y_val=y_pool[val],
        x_test=_scale(raw.x_test),
        y_test=np.asarray(raw.y_test).reshape(-1).astype(np.int64),
        info={
            "num_classes": len(class_names),
            "input_shape": tuple(raw.x_train.shape[1:]),
            "class_names": list(class_names),
            "source": raw.source,
            "train_indices": train,
            "val_indices": val,
        },
    )


class ImageWorkload(Workload):
    """A classifier on keras' image datasets: subclasses name their `source` and labels."""

    task = "classification"
    title: str
    class_names: list[str]

    @staticmethod
    def source(data_dir: str | None, num_classes: int) -> RawImages:
        """The raw arrays, from `data_dir` or keras' cache, labels checked in 0..num_classes-1."""
        raise NotImplementedError

    def load(
        self,
        *,
        data_dir: str | None = None,
        subset: int | None = None,
        seed: int = 0,
        validation_split: float = 0.1,
    ) -> Dataset:
        """Pixels scaled to [0, 1]; validation is a stratified slice of the training images."""
        return make_dataset(
            self.source(data_dir, num_classes=len(self.class_names)),
            title=self.title,
            class_names=self.class_names,
            subset=subset,
            seed=seed,
            validation_split=validation_split,
        )

    def trivial_baselines(self, setup: DataSetup) -> dict[str, float]:
        """A guess among the classes: cross-entropy ln(classes), error 1 - 1/classes."""
        k = len(self.class_names)
        return {"loss": math.log(k), "crossentropy": math.log(k), "accuracy": 1 - 1 / k}
