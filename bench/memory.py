"""Resident memory of a 30-trial sweep: after trial 1 and after trial 30.

A TPE sweep of mnist_mlp (5,000 samples, 2 epochs a trial, models of 1-3 layers up
to 512 units) through the real runner and store; an Events hook samples the resident
memory of the sweep (this process and its worker processes) after every recorded
trial. Three sides in one run: the default (a fresh worker process every 10 trials),
every trial in this one process (--trials-per-process 0), and a bare Keras loop on
the same points. Target: growth under 100 MB from trial 1 to the last, on the default side
(the sweep as `tune run` makes it); the last line is the verdict, and the exit status 1
when it is missed.

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
from verdict import Check, finish  # noqa: E402

from tuneyard.engine.options import DEFAULT_TRIALS_PER_PROCESS  # noqa: E402
from tuneyard.engine.sweep import Events, Sweep, SweepOptions  # noqa: E402

TARGET_MB = 100  # growth of the default side's RSS from trial 1 to the last

def rss_mb(pid: int | str = "self") -> float:
    """A process's resident set size in MB (VmRSS); 0 when it is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return next((int(line.split()[1]) / 1024 for line in lines if line.startswith("VmRSS:")), 0.0)


def children(pid: int) -> list[int]:
    """Every live descendant of `pid` (read from /proc/*/stat)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        kids = [p for p, parent in parents.items() if parent in frontier]
        found += kids
        frontier = kids
    return found


def tree_rss_mb() -> tuple[float, int]:
    """RSS of this process plus its worker processes, and how many processes that is."""
    kids = children(os.getpid())
    return rss_mb() + sum(rss_mb(k) for k in kids), 1 + len(kids)


class Sampler(Events):
    """The sweep's RSS (and process count) after each recorded trial."""

    def __init__(self):
        self.rss: list[float] = []
        self.processes: list[int] = []

    def trial_done(self, row, done, budget, best):
        rss, count = tree_rss_mb()
        self.rss.append(rss)
        self.processes.append(count)


def bare_loop(folder: str, params: list[dict], epochs: int) -> list[float]:
    """RSS after each trial of a plain Keras loop (clear_session, build, fit) on the same points.

    The reference: what TensorFlow/Keras alone keeps per model in this process.
    """
    import keras

    from tuneyard.space.file import load_space
    from tuneyard.workloads import get_workload

    space = load_space("mnist_mlp")
    workload = get_workload("mnist_mlp")
    data = workload.load(data_dir=folder, subset=5000, seed=0, validation_split=0.1)
    rss = []
    for point in params:
        keras.backend.clear_session()
        # What tuneyard's trainer hands the builder: the space's fixed settings (the cosine
        # schedule's decay_epochs among them) and the trial's own batch size.
        batch = int(point.get("batch_size", space.training.batch_size))
        options = {**space.fixed, "batch_size": batch, "lr_decay": space.training.lr_decay}
        model = workload.build_model(point, data, options)
        model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                  epochs=epochs, batch_size=batch, verbose=0)
        rss.append(rss_mb())
    return rss


def run_sweep(folder: str, trials: int, epochs: int, per_process: int, points: Path) -> dict:
    """One TPE sweep; its RSS after each trial. Writes the points it ran to `points`."""
    os.environ["TUNEYARD_RESULTS_DIR"] = tempfile.mkdtemp(prefix="tuneyard-bench-memory-")
    sampler = Sampler()
    sweep = Sweep(SweepOptions(space="mnist_mlp", backend="tpe", trials=trials, epochs=epochs,
                               subset=5000, data_dir=folder, study="memory",
                               trials_per_process=per_process))
    result = sweep.run(sampler)
    points.write_text(json.dumps([r["params"] for r in sorted(result.rows, key=lambda r: r["trial"])]))
    return {"rss": sampler.rss, "processes": sampler.processes}


def side(args: argparse.Namespace, name: str, points: Path) -> dict:
    """Run one side in a fresh process, so that every side starts alike."""
    child = subprocess.run([sys.executable, __file__, "--data-dir", args.data_dir or "",
                            "--trials", str(args.trials), "--epochs", str(args.epochs),
                            "--side", name, "--points", str(points)],
                           capture_output=True, text=True, check=True)
    return json.loads(child.stdout.strip().splitlines()[-1])


def child_main(args: argparse.Namespace, folder: str) -> None:
    points = Path(args.points)
    if args.side == "bare":
        print(json.dumps({"rss": bare_loop(folder, json.loads(points.read_text()), args.epochs)}))
        return
    per_process = DEFAULT_TRIALS_PER_PROCESS if args.side == "default" else 0
    print(json.dumps(run_sweep(folder, args.trials, args.epochs, per_process, points)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("TUNEYARD_DATA_DIR"))
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--side", help=argparse.SUPPRESS)  # child mode
    parser.add_argument("--points", help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = data_dir(args.data_dir)
    if args.side:
        child_main(args, folder)
        return
    real = folder == args.data_dir
    args.data_dir = folder
    points = Path(tempfile.mkdtemp()) / "params.json"
    sides = {"default": side(args, "default", points),
             "inprocess": side(args, "inprocess", Path(tempfile.mkdtemp()) / "params.json"),
             "bare": side(args, "bare", points)}
    print(f"\n{args.trials} TPE trials x {args.epochs} epochs, mnist_mlp on 5000 samples "
          f"({'real MNIST' if real else 'synthetic MNIST-shaped data'})")
    labels = {"default": f"tuneyard, a fresh worker every {DEFAULT_TRIALS_PER_PROCESS} trials (default)",
              "inprocess": "tuneyard, every trial in one process (--trials-per-process 0)",
              "bare": "bare Keras loop, same points, one process"}
    print(f"{'RSS in MB after trial':66}{'1':>7}{'10':>7}{'20':>7}{args.trials:>7}{'growth':>9}{'max':>7}")
    for key, result in sides.items():
        rss = result["rss"]
        marks = [rss[i - 1] for i in (1, 10, 20) if i <= len(rss)] + [rss[-1]]
        print(f"{labels[key]:66}" + "".join(f"{v:7.0f}" for v in marks)
              + f"{rss[-1] - rss[0]:9.1f}{max(rss):7.0f}")
    default = sides["default"]
    print(f"processes alive at each sample (default side): max {max(default['processes'])}")
    print(f"target: growth < {TARGET_MB} MB (this process and its workers together)")
    growth = default["rss"][-1] - default["rss"][0]
    finish("memory", [Check(f"growth of the default side {growth:.1f} MB (target < {TARGET_MB} MB)",
                            growth < TARGET_MB)])


if __name__ == "__main__":
    main()
