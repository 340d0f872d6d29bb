"""Resident memory of a 30-trial sweep in one process: after trial 1 and after trial 30.

A TPE sweep of mnist_mlp (5,000 samples, 2 epochs a trial, models of 1-3 layers up
to 512 units) through the real runner and store; an Events hook samples VmRSS after
every recorded trial. Target: growth under 100 MB.

    .venv/bin/python bench/memory.py [--data-dir /work/shared/data] [--trials 30]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from overhead import data_dir  # noqa: E402

from tuneyard.runner import Events, Sweep, SweepOptions  # noqa: E402


def rss_mb() -> float:
    """This process's resident set size in MB (VmRSS)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


class Sampler(Events):
    """RSS after each recorded trial."""

    def __init__(self):
        self.rss: list[float] = []

    def trial_done(self, row, done, budget, best):
        self.rss.append(rss_mb())


def bare_loop(folder: str, params: list[dict], epochs: int) -> list[float]:
    """RSS after each trial of a plain Keras loop (clear_session, build, fit) on the same points.

    The reference: what TensorFlow/Keras alone keeps per model in this process.
    """
    import keras

    from tuneyard.space_file import load_space
    from tuneyard.workloads import get_workload

    space = load_space("mnist_mlp")
    workload = get_workload("mnist_mlp")
    data = workload.load(data_dir=folder, subset=5000, seed=0, validation_split=0.1)
    rss = []
    for point in params:
        keras.backend.clear_session()
        model = workload.build_model(point, data, {"batch_size": space.training.batch_size})
        model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                  epochs=epochs, batch_size=space.training.batch_size, verbose=0)
        rss.append(rss_mb())
    return rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("TUNEYARD_DATA_DIR"))
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--bare", help=argparse.SUPPRESS)  # child mode: JSON list of params
    args = parser.parse_args()
    folder = data_dir(args.data_dir)
    if args.bare:
        print(json.dumps(bare_loop(folder, json.loads(Path(args.bare).read_text()), args.epochs)))
        return
    os.environ["TUNEYARD_RESULTS_DIR"] = tempfile.mkdtemp(prefix="tuneyard-bench-memory-")
    sampler = Sampler()
    sweep = Sweep(SweepOptions(space="mnist_mlp", backend="tpe", trials=args.trials,
                               epochs=args.epochs, subset=5000, data_dir=folder, study="memory"))
    sweep.run(sampler)
    rss = sampler.rss
    points = Path(tempfile.mkdtemp()) / "params.json"
    points.write_text(json.dumps([r["params"] for r in sorted(sweep.rows, key=lambda r: r["trial"])]))
    # The same points as a bare Keras loop, in a fresh process so both start alike.
    child = subprocess.run([sys.executable, __file__, "--data-dir", folder, "--epochs",
                            str(args.epochs), "--bare", str(points)],
                           capture_output=True, text=True, check=True)
    bare = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"\n{args.trials} TPE trials x {args.epochs} epochs, mnist_mlp on 5000 samples "
          f"({'real MNIST' if folder == args.data_dir else 'synthetic MNIST-shaped data'})")
    print("RSS after trials 1, 5, 10, 20, 30: "
          + ", ".join(f"{rss[i - 1]:.0f}" for i in (1, 5, 10, 20, 30) if i <= len(rss)) + " MB")
    growth = rss[-1] - rss[0]
    print(f"after trial 1: {rss[0]:8.1f} MB")
    print(f"after trial {len(rss)}: {rss[-1]:7.1f} MB")
    print(f"growth       : {growth:8.1f} MB   (target < 100 MB)")
    print(f"bare Keras loop on the same {len(bare)} points (clear_session, build, fit), "
          f"fresh process: {bare[0]:.0f} -> {bare[-1]:.0f} MB, growth {bare[-1] - bare[0]:.1f} MB")
    print(f"growth per trial: tuneyard {growth / max(len(rss) - 1, 1):.1f} MB, "
          f"bare Keras {(bare[-1] - bare[0]) / max(len(bare) - 1, 1):.1f} MB")


if __name__ == "__main__":
    main()
