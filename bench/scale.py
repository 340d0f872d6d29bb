"""Does a trial cost the same at trial 10 and at trial 10,000? tuneyard's per-trial cost at scale.

An instant trainer (tuneyard.testing.InstantTrainer: no TensorFlow, microseconds a trial)
runs through the real sweep loop and the real store, so what is timed is orchestration
alone: the backend's sampler, the storage calls and tuneyard's own bookkeeping (ledger,
CSV, best model, events). Beside each tuneyard run, plain Optuna runs the same number of
trials with the same sampler (ask, suggest the same space, tell) on the same kind of
storage (a fresh SQLite file in WAL mode) and in memory. Each run is its own fresh
process, one after another. Milliseconds per trial are printed for windows of 50 trials at
the start (trials 10-60), the middle and the end, as wall time and CPU time, and the CPU
split three ways: inside the storage's methods; inside the search strategy (the
backend's ask and tell, Keras Tuner's oracle, Optuna's sampler); and the rest, the
orchestrator's own work (training, a formula here, is left out of it too). Each timed
call is charged only its own CPU (a storage call the sampler makes counts as storage);
CPU, not wall, so that a noisy machine does not charge waiting for a core to a call. The
own work is checked against the 2 ms target and for growth from start to end; tuneyard's
CPU in all is also set beside plain Optuna's on SQLite (its extra storage calls are in
there: user attributes, the ledger's reads). The last line is the verdict: every tuneyard
run's own work within 2 ms a trial in all three windows; the exit status is 1 when not.

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

from verdict import Check, finish  # bench/verdict.py, beside this file

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


class Split:
    """CPU time spent inside the storage's methods, the search strategy's (the backend's
    ask and tell, Keras Tuner's oracle, Optuna's sampler) and training, each call charged
    only its own time (a storage call made by the sampler counts as storage), so what is
    left of a trial's time is the orchestrator's own work.

    CPU time (each thread's own), not wall time: on a shared machine a process waiting for
    a core would otherwise charge the wait to whatever call it was in. The methods are
    wrapped on their classes for the whole (measurement) process; each thread keeps its
    own stack, so a heartbeat thread's storage calls count as storage.
    """

    CATEGORIES = ("storage", "strategy", "training")

    def __init__(self):
        import threading

        self.totals = dict.fromkeys(self.CATEGORIES, 0.0)
        self.local = threading.local()

    def wrap(self, cls: type, category: str, names: list[str] | None = None) -> None:
        """Time `names` (default: every public method) of `cls` as `category`."""
        import inspect

        if names is None:
            names = [n for n, _ in inspect.getmembers(cls, inspect.isfunction) if not n.startswith("_")]
        for name in names:
            if callable(getattr(cls, name, None)):
                setattr(cls, name, self._timed(getattr(cls, name), category))

    def _timed(self, method, category: str):
        import functools

        split = self

        @functools.wraps(method)
        def timed(*args, **kwargs):
            stack = split.local.__dict__.setdefault("stack", [])
            frame = [time.thread_time(), 0.0]  # started, time spent in nested timed calls
            stack.append(frame)
            try:
                return method(*args, **kwargs)
            finally:
                stack.pop()
                elapsed = time.thread_time() - frame[0]
                split.totals[category] += elapsed - frame[1]
                if stack:
                    stack[-1][1] += elapsed

        return timed

    def snapshot(self) -> list[float]:
        """Wall and process CPU seconds so far, then each category's CPU seconds."""
        return [time.perf_counter(), time.process_time(), *(self.totals[c] for c in self.CATEGORIES)]


def instrument(kind: str) -> Split:
    """Wrap what is not the orchestrator's own work, for the run `kind` is about to make."""
    import optuna

    split = Split()
    # Optuna puts its cache (_CachedStorage) in front of every RDBStorage: storage too.
    for storage in (optuna.storages.RDBStorage, optuna.storages._CachedStorage,
                    optuna.storages.InMemoryStorage):
        split.wrap(storage, "storage")
    # A storage query behind a private name: the stale-heartbeat lookup fail_stale_trials makes.
    split.wrap(optuna.storages.RDBStorage, "storage", ["_get_stale_trial_ids"])
    for sampler in (optuna.samplers.TPESampler, optuna.samplers.RandomSampler):
        split.wrap(sampler, "strategy", ["infer_relative_search_space", "sample_relative",
                                         "sample_independent", "before_trial", "after_trial"])
    if kind in ("tuneyard", "shared"):
        from tuneyard.backends import BACKEND_NAMES, get_backend
        from tuneyard.testing import InstantTrainer

        for name in BACKEND_NAMES:
            for shared in (False, True):
                split.wrap(get_backend(name, shared), "strategy", ["ask", "tell"])
        split.wrap(InstantTrainer, "training", ["run"])
        from tuneyard.store import optuna_store

        # Nothing but Optuna's storage calls, in one transaction (their private form).
        optuna_store.finish_trial = split._timed(optuna_store.finish_trial, "storage")
    return split


def run_tuneyard(backend: str, trials: int, folder: Path, shared: bool, split: Split) -> list[list[float]]:
    """Split.snapshot() at each finished trial."""
    from tuneyard.engine.sweep import Events, Sweep, SweepOptions
    from tuneyard.testing import InstantTrainer

    stamps: list[list[float]] = []

    class Stamps(Events):
        def trial_done(self, row, done, budget, best):
            stamps.append(split.snapshot())

    (folder / "scale.yaml").write_text(SPACE)
    os.environ["TUNEYARD_RESULTS_DIR"] = str(folder / "results")
    options = SweepOptions(space=str(folder / "scale.yaml"), backend=backend, trials=trials,
                           shared=shared, trials_per_process=0)
    Sweep(options, trainer=InstantTrainer(objective)).run(Stamps())
    return stamps


def run_optuna(sampler_name: str, trials: int, storage: str | None, split: Split) -> list[list[float]]:
    """Split.snapshot() at each trial of plain Optuna ask/suggest/tell with the same space."""
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
        stamps.append(split.snapshot())
    return stamps


def child(args: argparse.Namespace) -> None:
    """One measurement in this (fresh) process; prints its timestamps as JSON."""
    sys.path.insert(0, str(SRC))
    folder = Path(tempfile.mkdtemp(prefix="tuneyard-scale-"))
    kind, backend = args.child.split(":")
    split = instrument(kind)
    if kind == "tuneyard":
        stamps = run_tuneyard(backend, args.trials, folder, shared=False, split=split)
    elif kind == "shared":
        stamps = run_tuneyard(backend, args.trials, folder, shared=True, split=split)
    elif kind == "optuna-sqlite":
        sqlite = folder / "plain.db"
        from tuneyard.store.optuna_store import _prepare_sqlite

        url = f"sqlite:///{sqlite}"
        sqlite.touch()
        _prepare_sqlite(url)  # WAL, as tuneyard's store
        stamps = run_optuna(backend, args.trials, url, split)
    else:
        stamps = run_optuna(backend, args.trials, None, split)
    print(json.dumps(stamps))


def windows(stamps: list[list[float]]) -> dict[str, dict[str, float]]:
    """Milliseconds per trial over 50 trials at the start (from trial 10), middle and end:
    wall, CPU, and the CPU spent in storage, in the strategy and outside them and training
    (the own work)."""
    n = len(stamps)

    def per_trial(first: int) -> dict[str, float]:
        spent = [(b - a) * 1000 / WINDOW for a, b in zip(stamps[first], stamps[first + WINDOW], strict=True)]
        wall, cpu, storage, strategy, training = spent
        return {"wall": wall, "cpu": cpu, "storage": storage, "strategy": strategy,
                "own": cpu - storage - strategy - training}

    return {"start": per_trial(10), "middle": per_trial(n // 2 - WINDOW // 2),
            "end": per_trial(n - WINDOW - 1)}


def measure(label: str, trials: int) -> dict:
    """One run in a fresh process: its windows, and its wall seconds."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    started = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--child", label, "--trials", str(trials)],
                         capture_output=True, text=True, env=env, check=True)
    stamps = json.loads(out.stdout.strip().splitlines()[-1])
    result = windows(stamps)
    result["seconds"] = time.perf_counter() - started
    return result


PARTS = ("wall", "cpu", "storage", "strategy", "own")
OWN_TARGET_MS = 2.0


def print_run(label: str, trials: int, result: dict) -> None:
    """A run's lines: wall and CPU ms per trial, and the CPU in storage, strategy and the rest."""
    for part in PARTS:
        cells = " ".join(f"{result[w][part]:8.2f}" for w in ("start", "middle", "end"))
        head = f"{label:22} {trials:>7}" if part == "wall" else " " * 30
        tail = f"   ({result['seconds']:.0f} s)" if part == "wall" else ""
        print(f"{head} {part:>9} {cells}{tail}", flush=True)


def own_work(label: str, result: dict) -> tuple[str, Check]:
    """Whether the own work stays within the target, and its growth from start to end:
    the line to print, and the check for the verdict."""
    own = [result[w]["own"] for w in ("start", "middle", "end")]
    within = max(own) <= OWN_TARGET_MS
    text = (f"  own work of {label}: {own[0]:.2f} -> {own[2]:.2f} ms/trial (start -> end): "
            f"{'within' if within else 'OVER'} the {OWN_TARGET_MS:g} ms target, "
            f"{own[2] - own[0]:+.2f} ms from start to end")
    return text, Check(f"own work of {label} at most {max(own):.2f} ms/trial "
                       f"(target <= {OWN_TARGET_MS:g} ms)", within)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--trials", type=int, help="trials per run (default: 10,000; tpe 1,000)")
    parser.add_argument("--quick", action="store_true", help="1,000 trials (tpe 300)")
    parser.add_argument("--only", choices=["grid", "random", "tpe"], help="one backend")
    parser.add_argument("--skip", action="append", default=[], metavar="RUN",
                        help="leave out a run, e.g. --skip shared:random (repeatable)")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    plan = {"grid": ["tuneyard:grid", "shared:grid"], "random": ["tuneyard:random", "shared:random"],
            "tpe": ["tuneyard:tpe", "shared:tpe"]}
    plain = {"grid": "random", "random": "random", "tpe": "tpe"}
    print(f"{'run':22} {'trials':>7} {'ms/trial':>9} {'start':>8} {'middle':>8} {'end':>8}")
    checks = []
    for backend in [args.only] if args.only else ["grid", "random", "tpe"]:
        trials = args.trials or ((300 if backend == "tpe" else 1000) if args.quick
                                 else (1000 if backend == "tpe" else 10_000))
        rows = {}
        labels = [*plan[backend], f"optuna-sqlite:{plain[backend]}", f"optuna-memory:{plain[backend]}"]
        for label in [lb for lb in labels if lb not in args.skip]:
            rows[label] = measure(label, trials)
            print_run(label, trials, rows[label])
        base = rows.get(f"optuna-sqlite:{plain[backend]}")
        for label in [lb for lb in plan[backend] if lb in rows]:
            text, check = own_work(label, rows[label])
            print(text, flush=True)
            checks.append(check)
            if base is not None:
                excess = {k: rows[label][k]["cpu"] - base[k]["cpu"] for k in ("start", "middle", "end")}
                print(f"  CPU of {label} over plain Optuna on SQLite: start {excess['start']:+.2f}, "
                      f"middle {excess['middle']:+.2f}, end {excess['end']:+.2f} ms/trial", flush=True)
    finish("scale", checks)


if __name__ == "__main__":
    main()
