"""Workloads: dataset loaders and Keras model builders (mnist_mlp, cifar_cnn, sine_lstm).

Importing this package does not import TensorFlow or Keras.
"""

from .base import WORKLOAD_NAMES, Dataset, Workload, get_workload

__all__ = ["Dataset", "Workload", "get_workload", "WORKLOAD_NAMES"]
