"""Workloads: the public contract (Workload, Dataset) and how a space names one.

Importing this package does not import TensorFlow or Keras.
"""

from .base import TRAINER_PARAMS, Dataset, Workload
from .registry import (
    ENTRY_POINT_GROUP,
    get_workload,
    installed_workloads,
    load_kwargs,
    resolve_workload,
)

__all__ = ["Dataset", "Workload", "get_workload", "resolve_workload", "installed_workloads",
           "load_kwargs", "ENTRY_POINT_GROUP", "TRAINER_PARAMS"]
