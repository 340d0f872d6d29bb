"""The overhead benchmark for the Keras Tuner backends: tuneyard beside Keras Tuner itself.

For `random` (10 trials x 3 epochs) and `hyperband` (max_epochs 9, factor 3: one
iteration, 23 trials) it times three runs of the same work on the same data:

- bare: a plain loop over tuneyard's proposals (build, or copy the parent's
  weights in memory for a promotion, then fit from the initial epoch);
- tuneyard: `Sweep` with the backend (oracle, store, CSV, saved models);
- keras_tuner: `keras_tuner.RandomSearch` / `keras_tuner.Hyperband` with the
  same HyperParameters, seed and model builder (its oracle proposes the same
  first points; Hyperband's promotions may differ where scores differ).

Each is reported as a ratio to bare and as milliseconds of overhead per trial.
Called from bench/overhead.py.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path

TRIALS, EPOCHS, SAMPLES = 10, 3, 5000
HB = {"max_epochs": 9, "factor": 3}


def ensure_tensorboard() -> str:
    """Keras Tuner's tuners import tensorboard per trial; stand in a stub when it is missing."""
    try:
        from tensorboard.plugins.hparams import api  # noqa: F401

        return "installed"
    except ImportError:
        names = ["tensorboard", "tensorboard.plugins", "tensorboard.plugins.hparams",
                 "tensorboard.plugins.hparams.api"]
        for name in names:
            sys.modules.setdefault(name, types.ModuleType(name))
        return "missing: a stub module stands in (pip install tensorboard, in the dev extra)"


def _load(folder: str, space):
    from tuneyard.workloads import get_workload

    workload = get_workload(space.workload)
    data = workload.load(data_dir=folder, subset=SAMPLES, seed=0,
                         validation_split=space.training.validation_split)
    return workload, data, {"batch_size": space.training.batch_size, "lr_decay": None}


def _stopper(space):
    import keras

    return keras.callbacks.EarlyStopping(monitor=space.metric, mode="max",
                                         patience=space.training.patience)


def run_tune(backend: str, folder: str, results: Path, label: str) -> tuple[float, list]:
    """Seconds through tuneyard, and the rows it ran (in order) for the bare loop."""
    from tuneyard.engine.sweep import Sweep, SweepOptions

    os.environ["TUNEYARD_RESULTS_DIR"] = str(results)
    hyperband = backend == "hyperband"
    sweep = Sweep(SweepOptions(space="mnist_mlp", backend=backend,
                               trials=None if hyperband else TRIALS,
                               epochs=None if hyperband else EPOCHS, subset=SAMPLES,
                               data_dir=folder, study=f"overhead-{backend}-{label}",
                               backend_options=HB if hyperband else {}))
    start = time.perf_counter()
    sweep.run()
    return time.perf_counter() - start, sorted(sweep.rows, key=lambda r: r["trial"])


def run_bare(rows: list, folder: str, space) -> float:
    """Seconds for the rows' work as a plain loop; promotions copy weights in memory."""
    import keras

    from tuneyard.engine.training import execution_seed

    start = time.perf_counter()
    workload, data, options = _load(folder, space)
    weights: dict = {}
    for row in rows:
        extra = row["extra"]
        epochs = extra.get("hb_epochs", EPOCHS)
        parent = extra.get("parent")
        initial = next((r["extra"]["hb_epochs"] for r in rows
                        if parent and r["extra"]["kt_trial"] == parent), 0)
        keras.backend.clear_session()
        keras.utils.set_random_seed(execution_seed(0, row["params"], 0))
        model = workload.build_model(row["params"], data, options)
        if parent in weights:
            model.set_weights(weights[parent])
        model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                  initial_epoch=initial, epochs=epochs, batch_size=options["batch_size"],
                  callbacks=[_stopper(space)], verbose=0)
        if extra.get("round", 0) < extra.get("bracket", 0):
            weights[extra["kt_trial"]] = model.get_weights()
    return time.perf_counter() - start


def run_keras_tuner(backend: str, folder: str, space) -> float:
    """Seconds for Keras Tuner's own tuner on the same space, seed and builder."""
    import keras_tuner

    from tuneyard.space.keras_tuner import from_kt_values, kt_seed, to_hyperparameters

    directory = tempfile.mkdtemp(prefix="tuneyard-bench-kt-")
    start = time.perf_counter()
    workload, data, options = _load(folder, space)

    def build(hp):
        return workload.build_model(from_kt_values(space, hp.values), data, options)

    common = {"objective": keras_tuner.Objective(space.metric, "max"), "seed": kt_seed(0),
              "hyperparameters": to_hyperparameters(space), "directory": directory,
              "project_name": backend, "overwrite": True}
    if backend == "hyperband":
        tuner = keras_tuner.Hyperband(build, hyperband_iterations=1, **HB, **common)
        fit = {}
    else:
        tuner = keras_tuner.RandomSearch(build, max_trials=TRIALS, **common)
        fit = {"epochs": EPOCHS}
    tuner.search(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                 batch_size=options["batch_size"], callbacks=[_stopper(space)], verbose=0,
                 **fit)
    seconds = time.perf_counter() - start
    shutil.rmtree(directory, ignore_errors=True)
    return seconds


def compare(backend: str, folder: str, space, rounds: int) -> None:
    """Time bare, tuneyard and Keras Tuner on one backend's work; print the figures."""
    results = Path(tempfile.mkdtemp(prefix=f"tuneyard-bench-{backend}-"))
    bare, tune, kt = [], [], []
    trials = 0
    for round_ in range(rounds):
        seconds, rows = run_tune(backend, folder, results, f"r{round_}")
        tune.append(seconds)
        trials = len(rows)
        bare.append(run_bare(rows, folder, space))
        kt.append(run_keras_tuner(backend, folder, space))
        print(f"{backend} round {round_ + 1}: bare {bare[-1]:.2f} s, tune {tune[-1]:.2f} s, "
              f"keras_tuner {kt[-1]:.2f} s", flush=True)
    # The fastest round of each is the one least disturbed by other processes on the machine.
    b, t, k = (min(x) for x in (bare, tune, kt))
    tune_ms, kt_ms = (t - b) / trials * 1000, (k - b) / trials * 1000
    medians = ", ".join(f"{n} {statistics.median(x):.2f} s" for n, x in
                        (("bare", bare), ("tune", tune), ("keras_tuner", kt)))
    print(f"\n{backend}: {trials} trials, mnist_mlp on {SAMPLES} samples, fastest of {rounds} "
          f"rounds (medians: {medians})")
    print(f"  bare build+fit     : {b:8.2f} s")
    print(f"  tuneyard {backend:<10}: {t:8.2f} s   ratio {t / b:6.3f}   {tune_ms:6.0f} ms/trial")
    print(f"  keras_tuner        : {k:8.2f} s   ratio {k / b:6.3f}   {kt_ms:6.0f} ms/trial")
    verdict = "met" if kt_ms > 0 and tune_ms <= kt_ms / 3 else "NOT met"
    print(f"  target: tuneyard overhead <= 1/3 of Keras Tuner's: {verdict}")


def main(folder: str, space, rounds: int, backends=("random", "hyperband")) -> None:
    """Run the random and hyperband comparisons."""
    print(f"\ntensorboard for Keras Tuner: {ensure_tensorboard()}")
    for backend in backends:
        compare(backend, folder, space, rounds)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Keras Tuner backends' overhead only.")
    parser.add_argument("--data-dir", default=os.environ.get("TUNEYARD_DATA_DIR"))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--backends", default="random,hyperband")
    args = parser.parse_args()
    here = Path(__file__).resolve().parent
    sys.path[:0] = [str(here), str(here.parent / "src")]
    from overhead import data_dir
    from overhead import run_bare as grid_bare

    from tuneyard.space.file import load_space

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    mnist = load_space("mnist_mlp")
    data = data_dir(args.data_dir)
    grid_bare(data, mnist)  # warm-up: imports, first graph compilation, file cache
    main(data, mnist, args.rounds, args.backends.split(","))
