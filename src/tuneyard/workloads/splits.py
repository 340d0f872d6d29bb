"""Seeded, stratified subsetting and train/validation splitting (numpy only)."""

from __future__ import annotations

import numpy as np

from ..errors import DataError


def check_fraction(validation_split: float) -> None:
    """Refuse a validation fraction outside (0, 1)."""
    if not 0 < validation_split < 1:
        raise DataError(
            f"validation_split {validation_split!r} is out of range; use a fraction "
            "strictly between 0 and 1, e.g. 0.1"
        )


def class_counts(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the sorted distinct labels and how often each occurs."""
    return np.unique(labels, return_counts=True)


def _allocate(counts: np.ndarray, total: int, minimum: int) -> np.ndarray:
    """Share `total` among classes in proportion to `counts`, at least `minimum` each.

    Largest-remainder rounding keeps the sum exactly `total`. Callers ensure
    `minimum * len(counts) <= total <= counts.sum()` and `counts >= minimum`.
    """
    exact = counts * (total / counts.sum())
    alloc = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - alloc), kind="stable")
    alloc[order[: total - alloc.sum()]] += 1
    # Proportional shares can starve a rare class; take units from the largest shares.
    for cls in np.flatnonzero(alloc < minimum):
        while alloc[cls] < minimum:
            donor = int(np.argmax(alloc))
            alloc[donor] -= 1
            alloc[cls] += 1
    return alloc


def stratified_subset(labels: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Pick `size` indices keeping class proportions, at least two per class.

    Two per class so that the later split can give each class one training
    and one validation sample.
    """
    classes, counts = class_counts(labels)
    alloc = _allocate(counts, size, minimum=2)
    picked = [
        rng.choice(np.flatnonzero(labels == cls), int(n), replace=False)
        for cls, n in zip(classes, alloc, strict=True)
    ]
    return np.sort(np.concatenate(picked))


def stratified_split(
    labels: np.ndarray, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Split positions 0..len(labels)-1 into (train, validation), stratified by class.

    Every class lands in both parts, so every class needs at least two samples.
    Both index arrays come back shuffled so classes are interleaved.
    """
    classes, counts = class_counts(labels)
    k = len(classes)
    n_val = min(max(round(fraction * len(labels)), k), len(labels) - k)
    alloc = _allocate(counts, n_val, minimum=1)
    # A class of two with a large fraction could be all validation; keep one to train on.
    alloc = np.minimum(alloc, counts - 1)
    train, val = [], []
    for cls, n in zip(classes, alloc, strict=True):
        members = rng.permutation(np.flatnonzero(labels == cls))
        val.append(members[:n])
        train.append(members[n:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(val))


def require_two_per_class(labels: np.ndarray, what: str) -> None:
    """Refuse a pool in which some class cannot reach both train and validation."""
    classes, counts = class_counts(labels)
    rare = classes[counts < 2]
    if len(rare):
        raise DataError(
            f"class {rare[0]} has only {counts[counts < 2][0]} of the {len(labels)} {what}; "
            "every class needs at least 2 (one to train on, one to validate on); "
            "use a larger --subset or fuller data files"
        )


def check_subset(subset: object, available: int, what: str, minimum: int) -> int:
    """Validate a --subset request against the `available` samples; return it as int."""
    if isinstance(subset, bool) or not isinstance(subset, int | np.integer):
        raise DataError(f"--subset {subset!r} must be a whole number of {what}")
    subset = int(subset)
    if subset > available:
        raise DataError(
            f"--subset {subset} is larger than the {available} {what}; use at most {available}"
        )
    if subset < minimum:
        raise DataError(
            f"--subset {subset} is too small to give every class one training and one "
            f"validation sample of the {what}; use at least {minimum}"
        )
    return subset
