"""Trials per minute with --workers 1 and --workers 2, in one run.

The same seeded grid points (mnist_mlp on 5,000 samples, 3 epochs each) through the real
runner three times: one worker and two workers as `tune run` does them (worker processes,
a fresh one every 10 trials), then one worker with every trial in this process. Prints
trials per minute over the whole sweep (start-up included) and in steady state (from the
first result to the last), and the ratios. Target: 2 workers >= 1.5x one worker on 2 cores,
overall and in steady state; the last line is the verdict, and the exit status 1 when missed.

    .venv/bin/python bench/parallel.py [--data-dir /work/shared/data] [--trials 30]

Without a data dir holding mnist.npz it writes a synthetic MNIST-shaped file.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from overhead import data_dir  # noqa: E402
from verdict import Check, finish  # noqa: E402

from tuneyard.engine.options import DEFAULT_TRIALS_PER_PROCESS  # noqa: E402
from tuneyard.engine.sweep import Events, Sweep, SweepOptions  # noqa: E402

TARGET = 1.5  # trials per minute with 2 workers over 1 worker


class Clock(Events):
    """Times each recorded trial."""

    def __init__(self):
        self.done: list[float] = []

    def trial_done(self, row, done, budget, best):
        self.done.append(time.perf_counter())


def sweep(folder: str, workers: int, trials: int, epochs: int,
          per_process: int = DEFAULT_TRIALS_PER_PROCESS) -> tuple[float, float]:
    """(trials per minute overall, trials per minute from the first result on)."""
    clock = Clock()
    start = time.perf_counter()
    Sweep(SweepOptions(space="mnist_mlp", backend="grid", trials=trials, epochs=epochs,
                       subset=5000, data_dir=folder, study=f"parallel-w{workers}-{per_process}",
                       workers=workers, trials_per_process=per_process)).run(clock)
    total = time.perf_counter() - start
    steady = clock.done[-1] - clock.done[0]
    return trials / total * 60, (trials - 1) / steady * 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("TUNEYARD_DATA_DIR"))
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    folder = data_dir(args.data_dir)
    os.environ["TUNEYARD_RESULTS_DIR"] = tempfile.mkdtemp(prefix="tuneyard-bench-parallel-")
    load = os.getloadavg()[0]
    one = sweep(folder, 1, args.trials, args.epochs)
    two = sweep(folder, 2, args.trials, args.epochs)
    # The same one-worker sweep with every trial in this process: what the fresh
    # worker processes cost (or save) a sweep with one worker.
    here = sweep(folder, 1, args.trials, args.epochs, per_process=0)
    print(f"\n{args.trials} grid trials x {args.epochs} epochs, mnist_mlp on 5000 samples "
          f"({'real MNIST' if folder == args.data_dir else 'synthetic MNIST-shaped data'}), "
          f"{os.cpu_count()} cores, load average {load:.1f} -> {os.getloadavg()[0]:.1f}")
    print(f"{'':12}{'overall':>12}{'steady':>12}   (trials per minute)")
    print(f"{'--workers 1':12}{one[0]:12.1f}{one[1]:12.1f}")
    print(f"{'--workers 2':12}{two[0]:12.1f}{two[1]:12.1f}")
    print(f"{'ratio':12}{two[0] / one[0]:12.2f}{two[1] / one[1]:12.2f}   (target >= {TARGET:g})")
    print(f"{'--workers 1, every trial in this process (--trials-per-process 0)':}")
    print(f"{'':12}{here[0]:12.1f}{here[1]:12.1f}   "
          f"(default one-worker sweep / this: {one[0] / here[0]:.2f} overall, "
          f"{one[1] / here[1]:.2f} steady)")
    ratios = {"overall": two[0] / one[0], "steady": two[1] / one[1]}
    finish("parallel", [Check(f"--workers 2 / --workers 1 {part} {ratio:.3f} (target >= {TARGET:g})",
                              ratio >= TARGET) for part, ratio in ratios.items()])


if __name__ == "__main__":
    main()
