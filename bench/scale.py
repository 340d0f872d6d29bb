"""Does a trial cost the same at trial 10 and at trial 10,000? tuneyard's per-trial cost at scale.

An instant trainer (tuneyard.testing.InstantTrainer: no TensorFlow, microseconds a trial)
runs through the real sweep loop and the real store, so what is timed is orchestration
alone: the backend's sampler, the storage calls and tuneyard's own bookkeeping (ledger,
CSV, best model, events). Beside each tuneyard run, plain Optuna runs the same number of
trials with the same sampler (ask, suggest the same space, tell) on the same kind of
storage (a fresh SQLite file in WAL mode) and in memory. Each run is its own fresh
process, one after another. Milliseconds per trial are printed for windows of 50 trials at
the start (trials 10-60), the middle and the end, and tuneyard's excess over plain Optuna
on SQLite: the cost of everything tuneyard adds (including its own extra storage reads and
writes: the user attributes and the ledger's reads).

    .venv/bin/python bench/scale.py                # grid, random 10,000; tpe 1,000 (~15 min)
    .venv/bin/python bench/scale.py --quick        # 1,000 and 300
    .venv/bin/python bench/scale.py --only grid --trials 2000

`random` on SQLite is Keras Tuner's RandomSearch in `tune run`; the shared path (the same
loop with SharedClaims) uses Optuna's RandomSampler: both are measured.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
WINDOW = 50

# 20 x 3 x 10 x 20 = 12,000 grid points; the same ranges for the samplers.
SPACE = """\
name: scale
workload: tuneyard.testing:TinyRegression
objective: {metric: val_loss, direction: minimize}
training: {epochs: 2, batch_size: 16}
hyperparameters:
  learning_rate: {type: float, low: 1.0e-4, high: 1.0e-1, log: true,
                  grid: [1.0e-4, 1.4e-4, 2.0e-4, 2.8e-4, 4.0e-4, 5.6e-4, 8.0e-4, 1.1e-3, 1.6e-3, 2.2e-3,
                         3.2e-3, 4.5e-3, 6.3e-3, 8.9e-3, 1.3e-2, 1.8e-2, 2.5e-2, 3.5e-2, 5.0e-2, 7.1e-2]}
  optimizer: {type: choice, values: [adam, sgd, rmsprop]}
  units: {type: int, low: 16, high: 160, step: 16}
  dropout: {type: float, low: 0.0, high: 0.475, grid: [0.0, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.175,
                                                   0.2, 0.225, 0.25, 0.275, 0.3, 0.325, 0.35, 0.375,
                                                   0.4, 0.425, 0.45, 0.475]}
"""


def objective(params: dict) -> float:
    """A smooth bowl: best near learning rate 1e-2.5, adam, 64 units, dropout 0.2."""
    import math

    return ((math.log10(params["learning_rate"]) + 2.5) ** 2 + 0.1 * (params["optimizer"] != "adam")
            + ((params["units"] - 64) / 160) ** 2 + (params["dropout"] - 0.2) ** 2)


def run_tuneyard(backend: str, trials: int, folder: Path, shared: bool) -> list[float]:
    """Timestamps of each finished trial of one tuneyard sweep."""
    from tuneyard.engine.sweep import Events, Sweep, SweepOptions
    from tuneyard.testing import InstantTrainer

    stamps: list[float] = []

    class Stamps(Events):
        def trial_done(self, row, done, budget, best):
            stamps.append(time.perf_counter())

    (folder / "scale.yaml").write_text(SPACE)
    os.environ["TUNEYARD_RESULTS_DIR"] = str(folder / "results")
    options = SweepOptions(space=str(folder / "scale.yaml"), backend=backend, trials=trials,
                           shared=shared, trials_per_process=0)
    Sweep(options, trainer=InstantTrainer(objective)).run(Stamps())
    return stamps


def run_optuna(sampler_name: str, trials: int, storage: str | None) -> list[float]:
    """Timestamps of each trial of plain Optuna ask/suggest/tell with the same space."""
    import optuna

    sys.path.insert(0, str(SRC))
    from tuneyard.space.file import parse_space
    from tuneyard.space.optuna import suggest_space

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = parse_space(SPACE, "<bench>")
    if sampler_name == "tpe":
        sampler = optuna.samplers.TPESampler(seed=0, constant_liar=True)
    else:
        sampler = optuna.samplers.RandomSampler(seed=0)
    study = optuna.create_study(storage=storage, sampler=sampler, study_name="plain")
    stamps = []
    for _ in range(trials):
        trial = study.ask()
        study.tell(trial, objective(suggest_space(trial, space)))
        stamps.append(time.perf_counter())
    return stamps


def child(args: argparse.Namespace) -> None:
    """One measurement in this (fresh) process; prints its timestamps as JSON."""
    sys.path.insert(0, str(SRC))
    folder = Path(tempfile.mkdtemp(prefix="tuneyard-scale-"))
    kind, backend = args.child.split(":")
    if kind == "tuneyard":
        stamps = run_tuneyard(backend, args.trials, folder, shared=False)
    elif kind == "shared":
        stamps = run_tuneyard(backend, args.trials, folder, shared=True)
    elif kind == "optuna-sqlite":
        sqlite = folder / "plain.db"
        from tuneyard.store.optuna_store import _prepare_sqlite

        url = f"sqlite:///{sqlite}"
        sqlite.touch()
        _prepare_sqlite(url)  # WAL, as tuneyard's store
        stamps = run_optuna(backend, args.trials, url)
    else:
        stamps = run_optuna(backend, args.trials, None)
    print(json.dumps(stamps))


def windows(stamps: list[float]) -> dict[str, float]:
    """Milliseconds per trial over 50 trials at the start (from trial 10), middle and end."""
    n = len(stamps)

    def per_trial(first: int) -> float:
        return 1000 * (stamps[first + WINDOW] - stamps[first]) / WINDOW

    return {"start": per_trial(10), "middle": per_trial(n // 2 - WINDOW // 2),
            "end": per_trial(n - WINDOW - 1)}


def measure(label: str, trials: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "TUNEYARD_QUIET": "1"}
    started = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--child", label, "--trials", str(trials)],
                         capture_output=True, text=True, env=env, check=True)
    stamps = json.loads(out.stdout.strip().splitlines()[-1])
    result = windows(stamps)
    result["wall"] = time.perf_counter() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--trials", type=int, help="trials per run (default: 10,000; tpe 1,000)")
    parser.add_argument("--quick", action="store_true", help="1,000 trials (tpe 300)")
    parser.add_argument("--only", choices=["grid", "random", "tpe"], help="one backend")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    plan = {"grid": ["tuneyard:grid", "shared:grid"], "random": ["tuneyard:random", "shared:random"],
            "tpe": ["tuneyard:tpe", "shared:tpe"]}
    plain = {"grid": "random", "random": "random", "tpe": "tpe"}
    print(f"{'run':28} {'trials':>7} {'start':>8} {'middle':>8} {'end':>8}  ms/trial  (wall s)")
    for backend in [args.only] if args.only else ["grid", "random", "tpe"]:
        trials = args.trials or ((300 if backend == "tpe" else 1000) if args.quick
                                 else (1000 if backend == "tpe" else 10_000))
        rows = {}
        for label in [*plan[backend], f"optuna-sqlite:{plain[backend]}", f"optuna-memory:{plain[backend]}"]:
            rows[label] = measure(label, trials)
            w = rows[label]
            print(f"{label:28} {trials:>7} {w['start']:8.2f} {w['middle']:8.2f} {w['end']:8.2f}"
                  f"            ({w['wall']:.0f})", flush=True)
        base = rows[f"optuna-sqlite:{plain[backend]}"]
        for label in plan[backend]:
            excess = {k: rows[label][k] - base[k] for k in ("start", "middle", "end")}
            print(f"  excess of {label} over plain Optuna on SQLite: start {excess['start']:+.2f}, "
                  f"middle {excess['middle']:+.2f}, end {excess['end']:+.2f} ms/trial", flush=True)


if __name__ == "__main__":
    main()
