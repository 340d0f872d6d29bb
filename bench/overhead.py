"""What does tuneyard cost on top of training? Same proposals, through `tune` and bare.

Runs the same 10 grid proposals x 3 epochs on MNIST of 5,000 samples two ways: through
tuneyard (`Sweep` with the grid backend: runner, store, leaderboard CSV, best model saved)
and as a bare loop of build + fit (validation data in fit, early stopping, as a
hand-written script does), on the trials the tune side ran. Prints each side's seconds,
their ratio and the milliseconds of overhead per trial.

The two sides run as bench/kt_overhead.py runs its sides: each run a fresh process that
imports everything and warms up before its clock starts, then freezes what is alive (as
`tune run` does in its own processes), the two of a round started together and
handed turns of one trial, so that both meet the same stretch of this machine's drifting
speed and neither pays for the other's models. Both sides let each trial's training graph
go, which TensorFlow would keep (tensorflow/tensorflow#97697; engine/gradient_registry.py),
so they differ by tuneyard's own work alone; that work is also printed apart, measured
inside the run (kt_overhead's `Parts`), with each side's time outside Keras' fit. Which
side takes the first turn alternates over rounds.

    .venv/bin/python bench/overhead.py [--data-dir ../shared/data] [--rounds 4] [--kt-rounds 2]

Without a data dir holding mnist.npz it writes a synthetic MNIST-shaped file. Ends with
one verdict line (target: ratio tune/bare <= 1.03 on the wall clock, and the Keras Tuner
comparison's targets unless --grid-only) and exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
from verdict import Check, finish  # bench/verdict.py, beside this file

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TRIALS, EPOCHS, SAMPLES = 10, 3, 5000
TARGET_RATIO = 1.03  # tune / bare, median of the rounds' ratios


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


def report(clock: str, tune: list[float], bare: list[float]) -> list[float]:
    """Print one clock's medians, ratio and overhead per trial; the rounds' ratios."""
    ratios = [t / b for t, b in zip(tune, bare, strict=True)]
    b, t = statistics.median(bare), statistics.median(tune)
    print(f"  {clock}, median of {len(ratios)} rounds:")
    print(f"    bare build+fit : {b:8.2f} s")
    print(f"    tuneyard (grid): {t:8.2f} s")
    print(f"    ratio tune/bare: {statistics.median(ratios):8.3f}   (median of the rounds' ratios)")
    print(f"    overhead       : {(t - b) / TRIALS * 1000:8.0f} ms per trial")
    return ratios


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
    import kt_overhead  # bench/kt_overhead.py: the sides, their turns

    folder = data_dir(args.data_dir)
    wall, cpu, trials = kt_overhead.collect("grid", folder, args.rounds, SAMPLES,
                                            ("tune", "bare"))
    print(f"\n{trials['tune']} trials x {EPOCHS} epochs, mnist_mlp on {SAMPLES} samples "
          f"({'real MNIST' if folder == args.data_dir else 'synthetic MNIST-shaped data'}); "
          f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    ratios = report("wall-clock seconds", wall["tune"], wall["bare"])
    report("CPU seconds of the side's process", cpu["tune"], cpu["bare"])
    checks = [ratio_check(statistics.median(ratios), ratios)]
    if not args.grid_only:
        # The Keras Tuner backends beside Keras Tuner's own tuners (bench/kt_overhead.py).
        backends = ("random", "hyperband")
        checks += kt_overhead.checks(backends, kt_overhead.main(folder, None, args.kt_rounds,
                                                                backends))
    finish("overhead", checks)


if __name__ == "__main__":
    main()
