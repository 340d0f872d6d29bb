"""Shared fixtures: every test writes its results into its own temporary folder."""

import os
import signal

import pytest

from tuneyard.engine.heap import freeze_what_is_alive

# A suite started in the background (`make test &`, nohup) inherits SIGINT ignored, and so
# would every `tune` process it starts (an ignored signal stays ignored across exec): the
# Ctrl-C tests need what a terminal gives, the default handler.
signal.signal(signal.SIGINT, signal.default_int_handler)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# One TensorFlow thread for what trains in the test processes and the `tune` commands they
# start: `make test` runs two test workers on two cores, and the tiny models here gain
# nothing from a second thread, only contention. Worker processes a sweep spawns still set
# their own share of the cores (engine/worker_process.py), as in a user's sweep.
for _name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_name, "1")


# Keras' clear_session() runs a full garbage collection before every trial, and a test
# worker holds the objects of TensorFlow, Keras, Optuna and pandas (over half a million):
# each collection walked all of them, some 0.3 s per trial. Once a test has imported more
# modules, what is alive between tests is collected once and frozen (gc.freeze: kept out
# of later collections; freed as usual when its count drops to zero). Only what a test
# creates is walked afterwards, so a test of what a collection frees still sees it.
@pytest.fixture(autouse=True)
def _freeze_imported_objects():
    freeze_what_is_alive()  # the same freeze as a tune process's before a trial (engine/heap.py)
    yield


@pytest.fixture(autouse=True)
def results_in_tmp(tmp_path, monkeypatch):
    """Studies, leaderboards and backend state go to tmp_path/results, never the repo."""
    folder = tmp_path / "results"
    monkeypatch.setenv("TUNEYARD_RESULTS_DIR", str(folder))
    return folder


# `make test` is the full suite: under TUNEYARD_FULL_SUITE a run that deselects any test (a `-m`
# or `-k` slipped into the target or addopts) fails, so CI cannot go green on part of the suite.
# Under pytest-xdist (`make test` runs `-n 2`) the workers collect and deselect, and the
# controller ignores a worker's exit status: each worker hands its count back in workeroutput.
_DESELECTED: list = []
_WORKERS_DESELECTED: list[int] = []


def pytest_deselected(items):
    """Counts the tests a `-m`/`-k` left out, for the full-suite check below."""
    _DESELECTED.extend(items)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """xdist's controller: notes how many tests a finished worker deselected."""
    _WORKERS_DESELECTED.append(getattr(node, "workeroutput", {}).get("deselected", 0))


def pytest_sessionfinish(session, exitstatus):
    """Fails a full-suite run (TUNEYARD_FULL_SUITE=1) that did not select every collected test."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller judges (pytest_testnodedown)
        workeroutput["deselected"] = len(_DESELECTED)
        return
    deselected = max([len(_DESELECTED), *_WORKERS_DESELECTED])  # every worker deselects the same
    if os.environ.get("TUNEYARD_FULL_SUITE") and deselected:
        print(f"\nerror: the full suite deselected {deselected} tests; `make test` runs them all")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# The files that take longest, measured (wall seconds per file, 2026-12-06 02:56 UTC on a quiet
# machine: 8 to 50 s each of a suite of about 580 s), start first. `make test` hands whole
# files to two workers in collection order (`--dist loadfile --no-loadscope-reorder`); a long
# file left for the end would keep one worker busy while the other idles. A stale list costs
# only that balance, never a test.
LONGEST_FIRST = ("test_user_workloads.py", "test_backend_contract.py", "test_data_and_disk.py",
                 "test_faults.py", "test_limits_cli.py", "test_workloads.py", "test_devices.py",
                 "test_ray.py", "test_data_safety.py", "test_pruning.py",
                 "test_keras_backends.py", "test_limits.py", "test_cli.py",
                 "test_regularisation.py", "test_postgres.py", "test_compare.py",
                 "test_training.py", "test_race.py", "test_report.py", "test_notebook.py",
                 "test_hostile_spaces.py", "test_worker_processes.py", "test_ray_nodes.py",
                 "test_tracking.py", "test_your_fit.py", "test_user_errors.py",
                 "test_parallel.py", "test_kt_resume.py", "test_precision.py",
                 "test_examples.py")


def pytest_collection_modifyitems(items):
    """Orders the longest files first; the rest keep their order after them."""
    def rank(item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: tests within a file keep their order
