"""A warm-started study against its cold twin, at equal trials, on several seeds.

The practitioner's loop of issue 22: an earlier TPE study of sine_lstm (units up to 64),
then the space widened (units up to 128) and searched again for the same number of
trials, once warm-started from the earlier study (`warm_from`: its trials that fit, told
to TPE, not counted against the budget) and once cold. Each study's figure is the best
val_mse among the trials it ran itself (the carried trials' values are not counted for
the warm one). Target: the warm studies' best is lower than the cold twins' on average.
Tiny training (3 epochs, 1,000 points) keeps it to minutes on two cores; `--stand-in`
scores each configuration with a formula instead (seconds, no TensorFlow).

    .venv/bin/python bench/warm_start.py [--earlier 10] [--trials 8] [--seeds 2] [--stand-in]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from verdict import Check, finish  # noqa: E402

from tuneyard.engine.sweep import Sweep, SweepOptions  # noqa: E402
from tuneyard.testing import InstantTrainer  # noqa: E402

SPACE = """\
name: sine_small
workload: sine_lstm
objective: {metric: val_mse, direction: minimize}
training: {epochs: 3, batch_size: 32, patience: 0, validation_split: 0.2}
fixed: {window: 20, dropout: 0.0, l2: 1.0e-6}
hyperparameters:
  learning_rate: {type: float, low: 1.0e-4, high: 3.0e-2, log: true}
  optimizer: {type: choice, values: [sgd, rmsprop, adam]}
  lstm_layers: {type: int, low: 1, high: 2}
  units: {type: int, low: 16, high: UNITS_HIGH, step: 16}
"""


def stand_in(params: dict) -> float:
    """An MSE-like score without TensorFlow: best near learning rate 10**-2 with adam."""
    score = 0.01 + 0.02 * (math.log10(params["learning_rate"]) + 2) ** 2
    return score + 0.01 * (params["optimizer"] != "adam") + 0.002 * params["lstm_layers"] \
        + 0.02 / params["units"]


def sweep(folder: Path, high: int, study: str, trials: int, seed: int, warm: str | None,
          instant: bool) -> float:
    """Best val_mse among the trials the study ran itself."""
    path = folder / f"sine_{high}.yaml"
    path.write_text(SPACE.replace("UNITS_HIGH", str(high)))
    trainer = InstantTrainer(stand_in, metric="val_mse") if instant else None
    frame = Sweep(SweepOptions(space=str(path), backend="tpe", trials=trials, seed=seed,
                               study=study, warm_from=warm), trainer=trainer).run().leaderboard
    own = frame[frame["status"] == "COMPLETE"]
    return float(own["val_mse"].min())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--earlier", type=int, default=10, help="trials of the earlier study")
    parser.add_argument("--trials", type=int, default=8, help="trials of each new study")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--stand-in", action="store_true", help="a formula, not sine_lstm")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tuneyard-bench-warm-"))
    os.environ["TUNEYARD_RESULTS_DIR"] = str(folder / "results")
    load, start = os.getloadavg()[0], time.perf_counter()
    rows = []
    for seed in range(args.seeds):
        # The earlier study runs on another seed than its twins, as a real earlier study would.
        sweep(folder, 64, f"earlier-s{seed}", args.earlier, 100 + seed, None, args.stand_in)
        warm = sweep(folder, 128, f"warm-s{seed}", args.trials, seed, f"earlier-s{seed}", args.stand_in)
        cold = sweep(folder, 128, f"cold-s{seed}", args.trials, seed, None, args.stand_in)
        rows.append((seed, warm, cold))
    workload = "stand-in formula" if args.stand_in else "sine_lstm, 3 epochs, 1000 points"
    print(f"\nTPE, {args.trials} trials per study (warm: plus the fitting trials of a "
          f"{args.earlier}-trial study with units <= 64), units <= 128, {workload}; "
          f"load average {load:.1f}, {time.perf_counter() - start:.0f} s")
    print(f"{'seed':>4}  {'warm best val_mse':>18}  {'cold best val_mse':>18}  {'warm/cold':>9}")
    for seed, warm, cold in rows:
        print(f"{seed:>4}  {warm:>18.5f}  {cold:>18.5f}  {warm / cold:>9.3f}")
    mean_warm = sum(r[1] for r in rows) / len(rows)
    mean_cold = sum(r[2] for r in rows) / len(rows)
    ratio = mean_warm / mean_cold
    print(f"{'mean':>4}  {mean_warm:>18.5f}  {mean_cold:>18.5f}  {ratio:>9.3f}")
    wins = sum(r[1] < r[2] for r in rows)
    finish("warm_start", [Check(f"mean best warm/cold {ratio:.3f} (target < 1; warm better on "
                                f"{wins} of {len(rows)} seeds)", ratio < 1)])


if __name__ == "__main__":
    main()
