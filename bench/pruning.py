"""The same TPE sweep with and without median pruning: epochs spent and best objective.

mnist_mlp on 5,000 samples, 30 trials x 10 epochs (early stopping with the space's
patience in both runs), seeds 0-2 (one seed's best is a lottery: the two sweeps part
ways at the first pruned trial). Target: at least 40% fewer epochs with pruning for a
mean best validation accuracy within 0.005 of the unpruned sweeps'. The last line is the
verdict on both, and the exit status 1 when either is missed.

    .venv/bin/python bench/pruning.py [--data-dir /work/shared/data] [--trials 30] [--seeds 3]
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

from tuneyard.engine.sweep import Sweep, SweepOptions  # noqa: E402

SAVED_TARGET = 0.40  # share of the unpruned sweeps' epochs that pruning saves, at least
BEST_TARGET = 0.005  # the mean best val_accuracy, within this of the unpruned sweeps'

def sweep(folder: str, prune: str, trials: int, epochs: int, seed: int) -> dict:
    """Epochs spent, best objective, pruned trials and seconds of one sweep."""
    start = time.perf_counter()
    frame = Sweep(SweepOptions(space="mnist_mlp", backend="tpe", trials=trials, epochs=epochs,
                               subset=5000, data_dir=folder, study=f"pruning-{prune}-s{seed}",
                               prune=prune, seed=seed)).run().leaderboard
    return {"epochs": int(frame["epochs"].sum()), "best": float(frame["val_accuracy"].max()),
            "pruned": int((frame["status"] == "PRUNED").sum()),
            "seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("TUNEYARD_DATA_DIR"))
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    folder = data_dir(args.data_dir)
    os.environ["TUNEYARD_RESULTS_DIR"] = tempfile.mkdtemp(prefix="tuneyard-bench-pruning-")
    load = os.getloadavg()[0]
    runs = {"none": [], "median": []}
    for seed in range(args.seeds):  # alternating, so machine noise hits both alike
        for prune in runs:
            runs[prune].append(sweep(folder, prune, args.trials, args.epochs, seed))
    print(f"\n{args.trials} TPE trials x up to {args.epochs} epochs, mnist_mlp on 5000 samples "
          f"({'real MNIST' if folder == args.data_dir else 'synthetic MNIST-shaped data'}), "
          f"seeds 0-{args.seeds - 1}, load average {load:.1f}")
    print(f"{'':16}{'seed':>5}{'epochs':>8}{'best val_accuracy':>20}{'pruned':>8}{'seconds':>9}")
    for prune, results in runs.items():
        for seed, r in enumerate(results):
            print(f"{'--prune ' + prune:16}{seed:5d}{r['epochs']:8d}{r['best']:20.4f}"
                  f"{r['pruned']:8d}{r['seconds']:9.0f}")
    plain, pruned = (summed(runs[k]) for k in ("none", "median"))
    saved = 1 - pruned["epochs"] / plain["epochs"]
    print(f"over {args.seeds} seeds: epochs {plain['epochs']} -> {pruned['epochs']}, "
          f"saved {saved:.0%} (target >= {SAVED_TARGET:.0%}); seconds {plain['seconds']:.0f} -> "
          f"{pruned['seconds']:.0f}")
    difference = pruned["best"] - plain["best"]
    print(f"mean best val_accuracy {plain['best']:.4f} -> {pruned['best']:.4f}, difference "
          f"{difference:+.4f} (target within {BEST_TARGET:g})")
    finish("pruning", [
        Check(f"epochs saved {saved:.1%} (target >= {SAVED_TARGET:.0%})", saved >= SAVED_TARGET),
        Check(f"mean best val_accuracy {difference:+.4f} (target within {BEST_TARGET:g})",
              abs(difference) <= BEST_TARGET),
    ])


def summed(results: list[dict]) -> dict:
    """Epochs and seconds summed over seeds; the best objective averaged."""
    return {"epochs": sum(r["epochs"] for r in results),
            "seconds": sum(r["seconds"] for r in results),
            "best": sum(r["best"] for r in results) / len(results)}


if __name__ == "__main__":
    main()
