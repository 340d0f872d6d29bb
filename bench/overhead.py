"""What does tuneyard cost on top of training? Same proposals, through `tune` and bare.

Runs the same 10 proposals x 3 epochs on MNIST-shaped data of 5,000 samples twice:
once through tuneyard (runner, store, leaderboard CSV after every trial) and once
as a bare loop of build + fit (validation data in fit, as a hand-written script
does). Prints total seconds of each, their ratio and milliseconds of overhead per
trial. Rounds alternate, and so does which side goes first, so machine noise and the
process's slow growth (TensorFlow keeps every model's graphs) hit both sides alike.

    .venv/bin/python bench/overhead.py [--data-dir ../shared/data] [--rounds 4] [--kt-rounds 2]

Without a data dir holding mnist.npz it writes a synthetic MNIST-shaped file. Ends with
one verdict line (target: ratio tune/bare <= 1.03, and the Keras Tuner comparison's
targets unless --grid-only) and exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from verdict import Check, finish  # bench/verdict.py, beside this file

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TRIALS, EPOCHS, SAMPLES = 10, 3, 5000
TARGET_RATIO = 1.03  # tune / bare, medians over rounds


def data_dir(given: str | None) -> str:
    """A folder with mnist.npz: the one given, or a synthetic file in a temp dir."""
    if given and (Path(given) / "mnist.npz").exists():
        return given
    folder = tempfile.mkdtemp(prefix="tuneyard-bench-")
    rng = np.random.default_rng(0)
    labels = np.arange(6000) % 10
    images = (rng.random((6000, 28, 28)) * 60 + labels[:, None, None] * 19).astype(np.uint8)
    np.savez_compressed(Path(folder) / "mnist.npz", x_train=images, y_train=labels,
                        x_test=images[:1000], y_test=labels[:1000])
    return folder


def proposals(space) -> list:
    """The first 10 points of the seeded grid shuffle: what `tune --backend grid` runs."""
    from tuneyard.backends.grid import GridBackend

    backend = GridBackend(space, seed=0, budget=TRIALS, workdir=Path(tempfile.mkdtemp()),
                          options={"epochs": EPOCHS})
    return [backend.ask() for _ in range(TRIALS)]


def run_tune(folder: str, results: Path, label: str) -> float:
    """Seconds for the whole sweep through tuneyard's runner and store."""
    from tuneyard.engine.sweep import Sweep, SweepOptions

    os.environ["TUNEYARD_RESULTS_DIR"] = str(results)
    start = time.perf_counter()
    Sweep(SweepOptions(space="mnist_mlp", backend="grid", trials=TRIALS, epochs=EPOCHS,
                       subset=SAMPLES, data_dir=folder, study=f"overhead-{label}")).run()
    return time.perf_counter() - start


def run_bare(folder: str, space) -> float:
    """Seconds for the same proposals as a plain loop: load, build, fit with validation."""
    import keras

    from tuneyard.engine.training import execution_seed
    from tuneyard.workloads import get_workload

    start = time.perf_counter()
    workload = get_workload("mnist_mlp")
    data = workload.load(data_dir=folder, subset=SAMPLES, seed=0,
                         validation_split=space.training.validation_split)
    for proposal in proposals(space):
        # What the trainer hands a builder: the space's fixed settings (a schedule's span),
        # and the trial's own batch size where the space searches it.
        batch_size = int(proposal.params.get("batch_size", space.training.batch_size))
        options = {**space.fixed, "batch_size": batch_size, "lr_decay": space.training.lr_decay}
        keras.backend.clear_session()
        keras.utils.set_random_seed(execution_seed(0, proposal.params, 0))
        model = workload.build_model(proposal.params, data, options)
        stop = keras.callbacks.EarlyStopping(monitor=space.metric, mode="max",
                                             patience=space.training.patience)
        model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                  epochs=EPOCHS, batch_size=batch_size, callbacks=[stop], verbose=0)
    return time.perf_counter() - start


def ratio_check(ratio: float, per_round: list[float]) -> Check:
    """The target on the median ratio, with the per-round ratios' noise band (half their range).

    tuneyard does everything the bare loop does and more, so a ratio below 1 by more than
    the noise is a measurement problem (load that hit one side), never a pass.
    """
    noise = (max(per_round) - min(per_round)) / 2
    print(f"per round      : {', '.join(f'{r:.3f}' for r in per_round)}   (noise band "
          f"± {noise:.3f})")
    what = f"ratio tune/bare {ratio:.3f} ± {noise:.3f} (target <= {TARGET_RATIO:g})"
    if ratio < 1 - noise:
        return Check(what, False, "measurement problem: tuneyard ran faster than bare beyond "
                                  "the noise band; no verdict")
    return Check(what, ratio <= TARGET_RATIO)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("TUNEYARD_DATA_DIR"))
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--kt-rounds", type=int, default=2,
                        help="rounds of the Keras Tuner comparison (a hyperband round is minutes)")
    parser.add_argument("--grid-only", action="store_true",
                        help="skip the Keras Tuner comparison (random, hyperband)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from tuneyard.space.file import load_space

    folder, space = data_dir(args.data_dir), load_space("mnist_mlp")
    results = Path(tempfile.mkdtemp(prefix="tuneyard-bench-results-"))
    # Warm-up of both sides: imports (TensorFlow, Optuna, SQLAlchemy), the first graph
    # compilation and the file cache are one-off process costs, not per-trial overhead.
    run_bare(folder, space)
    run_tune(folder, results, "warm-up")
    bare, tune = [], []
    for round_ in range(args.rounds):
        # The order flips every round: TensorFlow keeps every model's graphs, so a
        # process slows a little with each run, and the later side would pay for it.
        if round_ % 2:
            tune.append(run_tune(folder, results, f"r{round_}"))
            bare.append(run_bare(folder, space))
        else:
            bare.append(run_bare(folder, space))
            tune.append(run_tune(folder, results, f"r{round_}"))
        print(f"round {round_ + 1}: bare {bare[-1]:.2f} s, tune {tune[-1]:.2f} s", flush=True)
    b, t = statistics.median(bare), statistics.median(tune)
    print(f"\n{TRIALS} trials x {EPOCHS} epochs, mnist_mlp on {SAMPLES} samples "
          f"({'real MNIST' if folder == args.data_dir else 'synthetic MNIST-shaped data'}), "
          f"median of {args.rounds} rounds")
    print(f"bare build+fit : {b:8.2f} s")
    print(f"tuneyard (grid): {t:8.2f} s")
    print(f"ratio tune/bare: {t / b:8.3f}   (target <= {TARGET_RATIO:g})")
    print(f"overhead       : {(t - b) / TRIALS * 1000:8.0f} ms per trial")
    checks = [ratio_check(t / b, [x / y for x, y in zip(tune, bare, strict=True)])]
    if not args.grid_only:
        # The Keras Tuner backends beside Keras Tuner's own tuners (bench/kt_overhead.py).
        import kt_overhead

        backends = ("random", "hyperband")
        checks += kt_overhead.checks(backends, kt_overhead.main(folder, space, args.kt_rounds, backends))
    finish("overhead", checks)


if __name__ == "__main__":
    main()
