"""TensorFlow's start-up lines kept off the user's terminal.

On CPUs with AVX512_VNNI TensorFlow turns oneDNN on and says so on stderr while it
is imported, through absl before its logging is set up, so TF_CPP_MIN_LOG_LEVEL
does not hide it. Bad input must get one line, so the import of `tensorflow` runs
with file descriptor 2 pointed at /dev/null, wherever it happens in a process of
tuneyard's own: the `tune` command installs the hook (cli/main.py), and so does each
worker process (engine/worker_process.py); `import tuneyard` does not, so a user's
program keeps its import system and stderr as they were. `--verbose`
(TF_CPP_MIN_LOG_LEVEL=0) shows everything.
An import that fails still raises its exception as usual.

The same processes drop TensorFlow's "triggered tf.function retracing" warnings: every
trial builds a new model, so Keras' step functions retrace by design in a sweep, and the
warning's advice (define the function outside the loop) is not the user's to follow. Only
that warning, through a filter on the `tensorflow` logger; every other one still shows.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from typing import Any

QUIET_MODULE = "tensorflow"
RETRACING = "triggered tf.function retracing"


class _NoRetracing(logging.Filter):
    """Drops TensorFlow's retracing warning, passes every other record (and, under
    `--verbose`, which sets TF_CPP_MIN_LOG_LEVEL=0 after this is installed, that one too)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0" or RETRACING not in record.getMessage()


def quiet_retracing() -> None:
    """Drop TensorFlow's retracing warnings in this process (once; `--verbose` keeps them).

    The `tensorflow` logger is the one TensorFlow logs through (tf.get_logger()); made
    here before TensorFlow loads, it is the same object TensorFlow finds.
    """
    logger = logging.getLogger(QUIET_MODULE)
    if any(isinstance(f, _NoRetracing) for f in logger.filters):
        return
    logger.addFilter(_NoRetracing())


@contextlib.contextmanager
def stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 (C libraries' stderr included) at /dev/null for the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader: Any, finder: Any):
        self.loader, self.finder = loader, finder

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        if self.finder in sys.meta_path:  # once: the first import is the one that logs
            sys.meta_path.remove(self.finder)
        if os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0":
            self.loader.exec_module(module)
            return
        with stderr_silenced():
            self.loader.exec_module(module)


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Wraps tensorflow's loader; stays on sys.meta_path until tensorflow is imported, since a
    bare `importlib.util.find_spec("tensorflow")` (keras_backend's check) asks it too."""

    def __init__(self) -> None:
        self.asking = False

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != QUIET_MODULE or self.asking or QUIET_MODULE in sys.modules:
            return None
        self.asking = True  # the real finders locate the module; this one steps aside
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self.asking = False
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader, self)
        return spec


def install() -> None:
    """Silence the next first import of tensorflow in this process (no-op if imported), and
    its retracing warnings."""
    quiet_retracing()
    if QUIET_MODULE in sys.modules or any(isinstance(f, _QuietFinder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _QuietFinder())


@contextlib.contextmanager
def quieted(verbose: bool = False) -> Iterator[None]:
    """What the `tune` command installs, for the length of a block only (a `tuneyard.search`
    call in a user's program or notebook, whose import system and logging are the user's
    once it returns): TensorFlow's import lines (C++ chatter included, through
    TF_CPP_MIN_LOG_LEVEL=2 unless the user set it), its retracing warnings and tqdm's
    "IProgress not found". `verbose`: nothing is hidden."""
    if verbose:
        yield
        return
    level = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
    if level is None and QUIET_MODULE not in sys.modules:  # read once, when TensorFlow loads
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    finders = list(sys.meta_path)
    logger = logging.getLogger(QUIET_MODULE)
    filters = list(logger.filters)
    install()
    try:
        with warnings.catch_warnings():
            # Optuna imports tqdm.auto, which in a notebook without ipywidgets warns about
            # a widget no progress of tuneyard's uses (the search draws its own display).
            warnings.filterwarnings("ignore", message="IProgress not found")
            yield
    finally:
        sys.meta_path[:] = [f for f in sys.meta_path if f in finders or not isinstance(f, _QuietFinder)]
        logger.filters[:] = filters
        if level is None:
            os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)
