"""Is mixed bfloat16 faster than float32 for the CIFAR ResNet on this CPU, at the same accuracy?

Trains the ResNet of the `cifar_resnet` space (width 16, the point below) on N real CIFAR-10
training images for E epochs with the same seed, once in float32 and once under
`--precision mixed_bfloat16`, each side in a fresh process through tuneyard's own trainer
(the policy set as a sweep sets it). Rounds alternate which side goes first. Prints, side by
side, the first epoch's seconds (it includes tracing), the mean seconds of the later epochs,
the validation accuracy after E epochs, and the ratios mixed/float32.

    .venv/bin/python bench/precision.py --data-dir ../shared/data [--epochs 2] [--train-size 10000]
        [--rounds 1] [--tolerance 0.02]

Verdict: "mixed is faster at the same accuracy" when mixed's seconds per epoch (the later
epochs'; the first's when E is 1) are below float32's and its accuracy is at most
`--tolerance` (absolute) below float32's; else it says which is not so and exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from verdict import Check, finish  # bench/verdict.py, beside this file

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SIDES = ("float32", "mixed_bfloat16")
# A point of the cifar_resnet space, width 16 as the question fixes it.
PARAMS = {"learning_rate": 0.1, "l2": 5.0e-4, "width": 16, "blocks": 2, "translate": 0.125,
          "dropout": 0.0}
MARK = "PRECISION-RESULT "


def child(policy: str, args: argparse.Namespace) -> None:
    """One side in this fresh process: train, print the epoch times and curve as JSON."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import keras

    from tuneyard.engine.training import Trainer
    from tuneyard.records.trial import Proposal
    from tuneyard.space.data import load_space_data
    from tuneyard.space.file import load_space

    space = load_space("cifar_resnet")
    split = space.training.validation_split
    # The subset is split into training and validation: N training images need N / (1 - split).
    subset = round(args.train_size / (1 - split))
    workload, data = load_space_data(space, data_dir=args.data_dir, subset=subset, seed=args.seed)

    class Clock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):  # after the epoch's validation
            self.seconds.append(time.perf_counter() - self.started)

    clock = Clock()
    trainer = Trainer(space, workload, data, seed=args.seed, precision=policy)
    result = trainer.run(Proposal(params=dict(PARAMS), epochs=args.epochs), [clock])
    print(MARK + json.dumps({
        "policy": result.precision, "status": result.status, "error": result.error,
        "seconds": clock.seconds, "val_accuracy": result.history.get("val_accuracy", []),
        "train": len(data.x_train), "val": len(data.x_val), "backend": keras.config.backend(),
    }), flush=True)


def run_side(policy: str, args: argparse.Namespace) -> dict:
    """One side in its own process (nothing traced or cached carries over between sides)."""
    command = [sys.executable, __file__, "--child", policy, "--data-dir", args.data_dir,
               "--epochs", str(args.epochs), "--train-size", str(args.train_size),
               "--seed", str(args.seed)]
    done = subprocess.run(command, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARK)]
    if done.returncode != 0 or not lines:
        sys.exit(f"the {policy} side failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    found = json.loads(lines[-1].removeprefix(MARK))
    if found["status"] != "COMPLETE" or found["policy"] != policy:
        sys.exit(f"the {policy} side did not train as asked: {found}")
    return found


def epoch_time(run: dict) -> float:
    """Seconds per epoch: the later epochs' mean (no tracing), the first's when it is alone."""
    seconds = run["seconds"]
    return statistics.mean(seconds[1:]) if len(seconds) > 1 else seconds[0]


def summary(runs: list[dict]) -> dict:
    """Means over rounds: the first epoch, the later epochs, accuracy after the last epoch."""
    return {"first": statistics.mean(r["seconds"][0] for r in runs),
            "later": statistics.mean(epoch_time(r) for r in runs),
            "accuracy": statistics.mean(r["val_accuracy"][-1] for r in runs)}


def report(results: dict[str, list[dict]], args: argparse.Namespace) -> None:
    """The table, then the verdict (exit 1 unless mixed is faster at the same accuracy)."""
    first = results[SIDES[0]][0]
    print(f"\ncifar_resnet {PARAMS}, {first['train']} training / {first['val']} validation images, "
          f"{args.epochs} epochs, seed {args.seed}, {args.rounds} round(s), Keras backend "
          f"{first['backend']}, {os.cpu_count()} cores")
    f32, mixed = summary(results["float32"]), summary(results["mixed_bfloat16"])
    later = "later epochs s/epoch" if args.epochs > 1 else "(only 1 epoch: the first)"
    print(f"{'':28}{'float32':>12}{'mixed_bf16':>12}{'mixed/f32':>11}")
    print(f"{'first epoch s (tracing)':28}{f32['first']:12.2f}{mixed['first']:12.2f}"
          f"{mixed['first'] / f32['first']:11.3f}")
    print(f"{later:28}{f32['later']:12.2f}{mixed['later']:12.2f}{mixed['later'] / f32['later']:11.3f}")
    print(f"{'val_accuracy after last':28}{f32['accuracy']:12.4f}{mixed['accuracy']:12.4f}"
          f"{mixed['accuracy'] - f32['accuracy']:+11.4f}")
    for policy in SIDES:
        rounds = "; ".join(" ".join(f"{s:.2f}" for s in r["seconds"]) for r in results[policy])
        print(f"  {policy} epoch seconds by round: {rounds}")
    ratio = mixed["later"] / f32["later"]
    gap = mixed["accuracy"] - f32["accuracy"]
    faster = Check(f"mixed/float32 seconds per epoch {ratio:.3f} (target < 1)", ratio < 1)
    same = Check(f"mixed accuracy {gap:+.4f} from float32's (tolerance -{args.tolerance:g})",
                 gap >= -args.tolerance)
    if faster.met and same.met:
        print("mixed is faster at the same accuracy")
    else:
        why = [w for w, ok in (("it is not faster", faster.met),
                               (f"its accuracy is more than {args.tolerance:g} lower", same.met)) if not ok]
        print(f"mixed is NOT faster at the same accuracy: {' and '.join(why)}")
    finish("precision", [faster, same])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("TUNEYARD_DATA_DIR", "../shared/data"))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-size", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tolerance", type=float, default=0.02,
                        help="how far below float32's validation accuracy mixed's may be")
    parser.add_argument("--child", choices=SIDES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args)
        return
    results: dict[str, list[dict]] = {side: [] for side in SIDES}
    for round_ in range(args.rounds):
        # Which side goes first alternates: a machine that warms up or slows down hits both.
        for policy in SIDES if round_ % 2 == 0 else SIDES[::-1]:
            run = run_side(policy, args)
            results[policy].append(run)
            print(f"round {round_ + 1} {policy}: epochs {', '.join(f'{s:.2f}' for s in run['seconds'])}"
                  f" s, val_accuracy {run['val_accuracy'][-1]:.4f}", flush=True)
    report(results, args)


if __name__ == "__main__":
    main()
