"""TensorFlow's gradient registry, emptied of what a finished trial put in it.

In graph mode every call of a `tf.custom_gradient` function registers its gradient under
a fresh name ("CustomGradient-<n>") in a registry global to the process, and nothing ever
removes it (tensorflow/tensorflow#97697). Keras' TensorFlow optimizer makes such a call in
every traced train step (the all-reduce of the gradients), and the registered closure
holds the step's tensors: each trial's whole training graph outlives `clear_session()` for
the life of the process. For an MNIST MLP that is some 11,000 Python objects and 16 MB a
trial, so memory grows trial after trial, and so does every garbage collection's walk
(and the CPU of every later trial with it).

`trial_gradients_released()` drops, when a trial ends, the custom gradients registered
during it; the trial's graphs are gone by then (its train step has built its backward pass
when it was traced). What was registered before (a notebook's own) is left alone; what
another thread of the process registers during the trial is dropped with the trial's own
(tuneyard trains one trial at a time in a process: in_process.py's lock).

The registry is private TensorFlow API (`ops._gradient_registry`): this is the one module
that reads it, and tests/test_gradient_registry.py pins what tuneyard relies on. Under
another Keras backend, or before TensorFlow is imported, there is nothing to drop; should a
later TensorFlow move the registry, nothing is dropped and nothing fails.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

PREFIX = "CustomGradient-"  # tensorflow/python/ops/custom_gradient.py generate_name()
_OPS_MODULE = "tensorflow.python.framework.ops"


def _registry() -> dict | None:
    """TensorFlow's gradient registry (name -> entry), None where there is none to read.
    Looked up, never imported: a process that has not loaded TensorFlow has none."""
    ops = sys.modules.get(_OPS_MODULE)
    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    return registry if isinstance(registry, dict) else None


def custom_gradient_names() -> set[str]:
    """The names of the custom gradients registered in this process now."""
    return {name for name in list(_registry() or ()) if name.startswith(PREFIX)}


@contextlib.contextmanager
def trial_gradients_released() -> Iterator[None]:
    """Around one trial: the custom gradients it registered are dropped when it ends,
    however it ends."""
    before = custom_gradient_names()
    try:
        yield
    finally:
        registry = _registry()
        for name in custom_gradient_names() - before:
            registry.pop(name, None)
