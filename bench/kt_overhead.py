"""The overhead benchmark for the Keras Tuner backends: tuneyard beside Keras Tuner itself.

For `random` (10 trials x 3 epochs) and `hyperband` (max_epochs 9, factor 3: one
iteration, 23 trials) it times three sides doing the same work on the same data:

- tune: `Sweep` with the backend (oracle, store, CSV, saved models), one worker and
  `trials_per_process=0`, so every trial trains in the side's own process;
- bare: a plain loop over the trials tuneyard ran (build, or copy the parent's
  weights in memory for a promotion, then fit from the initial epoch);
- keras_tuner: `keras_tuner.RandomSearch` / `keras_tuner.Hyperband` with the same
  HyperParameters, seed and model builder (its oracle proposes the same first points;
  Hyperband's promotions may differ where scores differ).

Same conditions for every side: each run of each side is a fresh Python process of the
same kind (this file with `--side`), which imports everything it needs and runs a little
of its own work (run_side's docstring says why), freezes what is then alive (as `tune run`
does in its own processes, engine/heap.py) and only then starts its clock, and trains
every trial itself. Without that freeze each side's full garbage collections (Keras'
clear_session runs one per trial) walk everything its warm-up left alive: in one run of
each grid side (2026-12-06), 3.7-3.8 s of CPU for bare's 10 collections against 3.9-4.3 s
for tuneyard's (734,504 objects alive against 657,124: its warm-up sweep's SQLAlchemy,
Optuna and Keras Tuner state), and 0.9 s for tuneyard's with its heap frozen as `tune run`
freezes it. A side's own trials' objects are still walked. TensorFlow keeps every trained
model's graph (its gradient registry, tensorflow/tensorflow#97697), so a process slows as
it trains: tuneyard's trainer lets each trial's go (engine/gradient_registry.py) and the
bare loop does the same, so that tune and bare differ by tuneyard's own work alone; Keras
Tuner's side runs as its users run it, graphs kept. A fresh process per run means no side
pays for another's models. A round starts the three sides at once and hands them turns
(`Baton`): one side at a time runs, for one trial (from one model's build to the next: its
training, then its record and the next ask), while the others wait on a pipe. This
machine's speed drifts by several percent over seconds (other tenants of the host: a fixed
numpy loop's 2-second means ranged from 65.4 to 75.2 ms over a minute), and sides that ran
one after another met different stretches of it: up to 1.5 s apart in 10 trials, more than
the difference the verdict decides. In turns, each side's i-th trial runs within seconds
of the others'. Which side takes the first turn rotates over rounds (tune bare
keras_tuner, bare keras_tuner tune, keras_tuner tune bare, ...). The bare side replays the
trials of a tune run made before round 1, off the record.

Reported per side, on the wall clock and on the side's CPU time (all its threads;
less swayed by other processes on a shared machine): the median over rounds. Beside
them, per round, tuneyard's own parts measured inside the tune side's run (`Parts`: the
CPU of its ask, record, tell, epoch callbacks, best model and checkpoints), its overhead
seen from the inside, free of the drift between the sides; and each side's time outside
Keras' `fit` (`FitClock`): the same fits on both sides carry most of the noise between
them, and what differs outside them is the work only one side does. The verdict is on
the sides' totals.
Overhead per trial is (side - bare) / trials in each round, then the median over
rounds; its noise band is half the range of the per-round values. The verdict
(target: tuneyard's overhead at most a third of Keras Tuner's) is "met" only when
it holds at the edges of both noise bands, "NOT met" when it fails at the edges,
"inconclusive" in between; a tuneyard overhead below zero by more than its noise is
a "measurement problem", never a pass. The last line is one verdict over every backend
and clock (bench/verdict.py); the exit status is 1 unless each of them is "met".

    .venv/bin/python bench/kt_overhead.py --data-dir ../shared/data [--rounds 3] [--quick]

Also called from bench/overhead.py (`main`).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import types
from dataclasses import dataclass, replace
from pathlib import Path

from verdict import Check, finish  # bench/verdict.py, beside this file

TRIALS, EPOCHS, SAMPLES = 10, 3, 5000
HB = {"max_epochs": 9, "factor": 3}


@dataclass(frozen=True)
class Size:
    """How much work a run does: trials and epochs (grid, random), Hyperband's iteration."""

    trials: int = TRIALS
    epochs: int = EPOCHS
    hyperband: tuple = tuple(HB.items())
    samples: int = SAMPLES


# A side's warm-up before its clock starts: a little of its own work on a little data
# (WARM_UP's docstring in side_main says why).
WARM_UP = Size(trials=2, epochs=1, hyperband=(("max_epochs", 3), ("factor", 3)), samples=200)
SIDES = ("tune", "bare", "keras_tuner")
HERE = Path(__file__).resolve()


def ensure_tensorboard() -> str:
    """Keras Tuner's tuners import tensorboard per trial; stand in a stub when it is missing."""
    try:
        from tensorboard.plugins.hparams import api  # noqa: F401

        return "installed"
    except ImportError:
        names = ["tensorboard", "tensorboard.plugins", "tensorboard.plugins.hparams",
                 "tensorboard.plugins.hparams.api"]
        for name in names:
            sys.modules.setdefault(name, types.ModuleType(name))
        return "missing: a stub module stands in (pip install tensorboard, in the dev extra)"


# ---- the sides: each runs in its own fresh process (`--side`) ----------------------------

def _load(folder: str, space, samples: int):
    from tuneyard.workloads import get_workload

    workload = get_workload(space.workload)
    data = workload.load(data_dir=folder, subset=samples, seed=0,
                         validation_split=space.training.validation_split)
    # What tuneyard's Trainer hands the builder: the space's fixed settings and its defaults.
    return workload, data, {**space.fixed, "batch_size": space.training.batch_size,
                            "lr_decay": space.training.lr_decay}


def _batch(params: dict, options: dict) -> dict:
    """The builder's options for one trial: its own batch size when it tunes one."""
    return {**options, "batch_size": int(params.get("batch_size", options["batch_size"]))}


def _stopper(space):
    import keras

    return keras.callbacks.EarlyStopping(monitor=space.metric, mode="max",
                                         patience=space.training.patience)


def run_tune(backend: str, folder: str, space, size: Size) -> tuple[float, list]:
    """Seconds through tuneyard, every trial in this process, and the rows it ran in order."""
    from tuneyard.engine.sweep import Sweep, SweepOptions

    results = tempfile.mkdtemp(prefix=f"tuneyard-bench-{backend}-")
    os.environ["TUNEYARD_RESULTS_DIR"] = results
    hyperband = backend == "hyperband"
    start = time.perf_counter()
    sweep = Sweep(SweepOptions(space="mnist_mlp", backend=backend,
                               trials=None if hyperband else size.trials,
                               epochs=None if hyperband else size.epochs, subset=size.samples,
                               data_dir=folder, study=f"overhead-{backend}", workers=1,
                               trials_per_process=0,
                               backend_options=dict(size.hyperband) if hyperband else {}))
    result = sweep.run()
    seconds = time.perf_counter() - start
    rows = [{"params": r["params"], "extra": r["extra"], "trial": r["trial"],
             "epochs": r["epochs"]} for r in sorted(result.rows, key=lambda r: r["trial"])]
    shutil.rmtree(results, ignore_errors=True)
    return seconds, rows


def run_bare(rows: list, folder: str, space, samples: int) -> float:
    """Seconds for the rows' work as a plain loop; promotions copy weights and optimizer
    state in memory (tuneyard's go through a checkpoint file).

    Each trial trains at most the epochs its tune run trained: the two sides do the same
    work even where early stopping would have cut one side's trial at another epoch.
    """
    from tuneyard.engine.gradient_registry import trial_gradients_released

    start = time.perf_counter()
    workload, data, options = _load(folder, space, samples)
    states: dict = {}  # a promotable trial's weights and optimizer state, by trial number
    for row in rows:
        # TensorFlow keeps every trained model's graph (tensorflow/tensorflow#97697);
        # tuneyard's trainer drops each trial's, and so does this loop, so that the two
        # sides differ by tuneyard's own work only, not by a TensorFlow bug it works around.
        with trial_gradients_released():
            _train_bare(row, rows, workload, data, options, space, states)
    return time.perf_counter() - start


def _train_bare(row: dict, rows: list, workload, data, options: dict, space,
                states: dict) -> None:
    """One of the bare loop's trials: build (or restore a promotion's parent), fit."""
    import keras

    from tuneyard.engine.training import execution_seed

    extra = row["extra"]
    parent = extra.get("parent")  # the number of the trial a promotion continues
    initial = next((r["extra"]["hb_epochs"] for r in rows
                    if parent is not None and r["trial"] == parent), 0)
    epochs = initial + row.get("epochs", extra.get("hb_epochs", EPOCHS))
    keras.backend.clear_session()
    keras.utils.set_random_seed(execution_seed(0, row["params"], 0))
    trial_options = _batch(row["params"], options)
    model = workload.build_model(row["params"], data, trial_options)
    if parent in states:
        _restore(model, *states[parent])
    model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
              initial_epoch=initial, epochs=epochs, batch_size=trial_options["batch_size"],
              callbacks=[_stopper(space)], verbose=0)
    if extra.get("round", 0) < extra.get("bracket", 0):
        states[row["trial"]] = (model.get_weights(),
                                [v.numpy() for v in model.optimizer.variables])


def _restore(model, weights: list, optimizer_state: list) -> None:
    """A promoted trial's start, as tuneyard's trainer makes it from the parent's
    checkpoint: the parent's weights and its optimizer's moments and step count."""
    model.set_weights(weights)
    model.optimizer.build(model.trainable_variables)
    for variable, value in zip(model.optimizer.variables, optimizer_state, strict=True):
        variable.assign(value)


def run_keras_tuner(backend: str, folder: str, space, size: Size) -> tuple[float, int]:
    """Seconds for Keras Tuner's own tuner on the same space, seed and builder; its trials."""
    import keras_tuner

    from tuneyard.space.keras_tuner import from_kt_values, kt_seed, to_hyperparameters

    directory = tempfile.mkdtemp(prefix="tuneyard-bench-kt-")
    start = time.perf_counter()
    workload, data, options = _load(folder, space, size.samples)

    class Model(keras_tuner.HyperModel):
        def build(self, hp):
            params = from_kt_values(space, hp.values)
            return workload.build_model(params, data, _batch(params, options))

        def fit(self, hp, model, *args, **kwargs):
            params = from_kt_values(space, hp.values)
            kwargs["batch_size"] = _batch(params, options)["batch_size"]
            return model.fit(*args, **kwargs)

    common = {"objective": keras_tuner.Objective(space.metric, "max"), "seed": kt_seed(0),
              "hyperparameters": to_hyperparameters(space), "directory": directory,
              "project_name": backend, "overwrite": True}
    if backend == "hyperband":
        tuner = keras_tuner.Hyperband(Model(), hyperband_iterations=1, **dict(size.hyperband),
                                      **common)
        fit = {}
    else:
        tuner = keras_tuner.RandomSearch(Model(), max_trials=size.trials, **common)
        fit = {"epochs": size.epochs}
    tuner.search(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val),
                 batch_size=options["batch_size"], callbacks=[_stopper(space)], verbose=0,
                 **fit)
    seconds = time.perf_counter() - start
    trials = len(tuner.oracle.trials)
    shutil.rmtree(directory, ignore_errors=True)
    return seconds, trials


def warm_up_storage() -> None:
    """Open and drop a throwaway SQLite study store, as bench/overhead.py's warm-up does.

    Optuna imports SQLAlchemy, alembic and its storage models only when a store is first
    opened: about 0.4-0.5 s of CPU, once per process (measured: optuna's import 0.22 s,
    then those modules 0.20 s, then each new store 0.05-0.09 s). Left inside the clock it
    showed up as 40-50 ms "per trial" of a 10-trial run, though no trial pays it.
    """
    import optuna

    with tempfile.TemporaryDirectory(prefix="tuneyard-bench-warm-") as folder:
        storage = optuna.storages.RDBStorage(f"sqlite:///{folder}/warm.db")
        storage.engine.dispose()


class Baton:
    """A side's turns, handed by the parent over two pipes (the module's docstring says
    why): the side runs only while it holds the baton, one trial at a time."""

    def __init__(self, fds: str):
        self.go, self.done = (int(fd) for fd in fds.split(","))
        self.wall = 0.0
        self.started = 0.0
        self.turns: list[tuple[float, float]] = []  # each turn's (wall, CPU) seconds
        self._cpu = 0.0

    def wait(self) -> None:
        """Block until the parent hands this side its next turn."""
        if not os.read(self.go, 1):
            sys.exit(3)  # the parent is gone
        self.started = time.perf_counter()
        self._cpu = time.process_time()

    def end_turn(self) -> None:
        """Count the turn now ending: its wall and CPU time."""
        wall = time.perf_counter() - self.started
        self.wall += wall
        self.turns.append((wall, time.process_time() - self._cpu))

    def pass_on(self, word: bytes = b"t") -> None:
        """End this turn: its time counts, the parent hands the next one out."""
        self.end_turn()
        os.write(self.done, word)

    def at_each_build(self) -> None:
        """Make every build of a model a turn's boundary: all three sides build each trial's
        model through the workload's build_model (tuneyard's trainer, Keras Tuner's
        HyperModel, the bare loop), so a turn is one trial's record, ask and training."""
        from tuneyard.workloads.mnist import MnistMlp

        build = MnistMlp.build_model

        def build_in_turn(workload, *args, **kwargs):
            self.pass_on()
            self.wait()
            return build(workload, *args, **kwargs)

        MnistMlp.build_model = build_in_turn


class FitClock:
    """Wall and CPU seconds a side spends inside Keras' `fit` (every side's trials train
    through `keras.Model.fit`; tuneyard's own epoch callbacks run inside it)."""

    def __init__(self):
        import keras

        self.wall = self.cpu = 0.0
        fit = keras.Model.fit

        def timed_fit(model, *args, **kwargs):
            # In whichever thread fits (tuneyard's trainer: a fresh one), while the side's
            # other threads wait for it: the process's CPU is the fit's.
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return fit(model, *args, **kwargs)
            finally:
                self.wall += time.perf_counter() - wall
                self.cpu += time.process_time() - cpu

        keras.Model.fit = timed_fit


class Parts:
    """tuneyard's own work in the tune side's run, part by part: CPU seconds of the calls
    that only tuneyard makes (bare and Keras Tuner make none of them). Summed over the
    run inside the timed turns, they are its overhead as measured from the inside, free of
    the host's drift between the sides, which the verdict's figures carry as noise."""

    # (label, owner, method): what a trial of tuneyard does besides the build, fit and
    # clear_session that every side does. The owner is "module:Class", "module:factory()"
    # (the class the factory makes), "module" or "backend" (the backend's class).
    WRAPPED = (
        ("ask and start", "tuneyard.engine.sweep:Sweep", "_hand_out"),
        ("record", "tuneyard.engine.sweep:Sweep", "_record"),
        ("tell", "backend", "tell"),
        ("best model", "tuneyard.engine.training:Trainer", "_save_if_better"),
        ("checkpoint", "tuneyard.engine.training", "save_checkpoint"),
        ("resume", "tuneyard.engine.training", "load_checkpoint"),
        ("best epoch's weights", "tuneyard.engine.training:_best_weights_class()",
         "on_epoch_end"),
        ("epoch report", "tuneyard.engine.training:_epoch_report_class()", "on_epoch_end"),
    )

    def __init__(self, backend: str):
        self.cpu: dict[str, float] = {}
        for label, owner, name in self.WRAPPED:
            self._wrap(label, _owner(owner, backend), name)

    def _wrap(self, label: str, owner, name: str) -> None:
        original = getattr(owner, name)
        self.cpu.setdefault(label, 0.0)

        def timed(*args, **kwargs):
            start = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.cpu[label] += time.process_time() - start

        setattr(owner, name, timed)


def _owner(spec: str, backend: str):
    """What `Parts.WRAPPED` names: a module, a class of it, the class a factory of it makes,
    or the backend's class."""
    import importlib

    from tuneyard.backends import get_backend

    if spec == "backend":
        return get_backend(backend)
    module, _, name = spec.partition(":")
    home = importlib.import_module(module)
    if not name:
        return home
    if name.endswith("()"):
        return getattr(home, name[:-2])()
    return getattr(home, name)


def print_parts(parts: dict[str, float], trials: int) -> None:
    """One run's `Parts`, in ms of CPU per trial."""
    total = sum(parts.values())
    print("  tuneyard's own parts inside the run, CPU ms per trial: "
          + ", ".join(f"{label} {seconds / trials * 1000:.1f}" for label, seconds in parts.items()
                      if seconds)
          + f"; all {total / trials * 1000:.1f}", flush=True)


def side_main(side: str, backend: str, folder: str, samples: int, rows_file: str,
              out_file: str, baton_fds: str) -> None:
    """One run of one side in this (fresh) process, in turns; the figures go to `out_file`."""
    sys.path.insert(0, str(HERE.parents[1] / "src"))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    ensure_tensorboard()
    # Every side imports the same modules before its clock starts: imports are a
    # process cost, not a per-trial one.
    import keras  # noqa: F401
    import keras_tuner  # noqa: F401
    import optuna  # noqa: F401

    import tuneyard.engine.sweep  # noqa: F401
    import tuneyard.engine.training  # noqa: F401
    from tuneyard.engine.heap import freeze_what_is_alive
    from tuneyard.space.file import load_space

    warm_up_storage()
    space = load_space("mnist_mlp")
    rows = json.loads(Path(rows_file).read_text()) if side == "bare" else []
    run_side(side, backend, folder, space, WARM_UP, rows)
    # Every side's heap as `tune run` leaves its own after the first trial (engine/heap.py):
    # what is alive now is frozen, so each side's full collections (one per trial, in
    # clear_session) walk what its trials create, not what its warm-up left (the module's
    # docstring gives the figures).
    freeze_what_is_alive()
    baton = Baton(baton_fds)
    baton.at_each_build()
    fits = FitClock()
    parts = Parts(backend) if side == "tune" else None
    out = {"side": side, "pid": os.getpid()}
    os.write(baton.done, b"r")  # ready: imported and warmed up, off the clock
    baton.wait()
    cpu = time.process_time()  # every thread of this process; ~0 while it waits its turn
    out.update(run_side(side, backend, folder, space, replace(Size(), samples=samples), rows))
    out["cpu"] = time.process_time() - cpu
    baton.end_turn()  # the last: the last trial and the close
    out["seconds"], out["turns"] = baton.wall, baton.turns
    out["fit"] = {"wall": fits.wall, "cpu": fits.cpu}
    out["parts"] = parts.cpu if parts else None
    Path(out_file).write_text(json.dumps(out))
    os.write(baton.done, b"e")


def run_side(side: str, backend: str, folder: str, space, size: Size, rows: list) -> dict:
    """One run of `side`'s work of `size` (bare: on the tune run's `rows`); its trials.

    Before its clock starts every side runs the same a little (WARM_UP: 2 trials of 1
    epoch on 200 samples; Hyperband's smallest iteration) in its process: what a process
    does once, on its first trial (the modules a run imports lazily, SQLAlchemy compiling
    each query once, the first CSV and model file written, Keras' first fit), is then
    off the clock, as the imports are. They are a process's costs, not a trial's: in two
    rounds of bench/overhead.py without the warm-up (2026-12-06), tuneyard's first three
    trials took 145-401 ms of CPU more than bare's, its other six -82 to 145.
    """
    if side == "tune":
        _, ran = run_tune(backend, folder, space, size)
        return {"trials": len(ran), "rows": ran}
    if side == "bare":
        if size == WARM_UP:
            rows = [{**row, "epochs": size.epochs} for row in rows[:size.trials]]
        run_bare(rows, folder, space, size.samples)
        return {"trials": len(rows)}
    _, trials = run_keras_tuner(backend, folder, space, size)
    return {"trials": trials}


# ---- --profile: where tuneyard's time per trial goes ----------------------------------------

# (label, file, function): the parts of a trial, as cProfile names them.
PARTS = (
    ("the whole run", "kt_overhead.py", "run_tune"),
    ("  opening the study: the store", "optuna_store.py", "__init__"),
    ("  opening the study: loading the data", "data.py", "load_space_data"),
    ("  ask, claim, trial written RUNNING", "sweep.py", "_hand_out"),
    ("  training (build, fit, clear_session)", "training.py", "_fit_once"),
    ("    Keras fit", "trainer.py", "fit"),
    ("    clear_session", "global_state.py", "clear_session"),
    ("    the workload's build_model", "mnist.py", "build_model"),
    ("    tuneyard's epoch callbacks (best weights, progress)", "training.py", "on_epoch_end"),
    ("  best.keras when a trial is the best", "training.py", "_save_if_better"),
    ("  record: the store's tell", "optuna_store.py", "record"),
    ("  record: the CSV", "sweep.py", "write_csv"),
    ("  backend.tell (the oracle)", "kt_backend.py", "tell"),
    ("bare: the whole loop", "kt_overhead.py", "run_bare"),
    ("  bare: loading the data", "kt_overhead.py", "_load"),
    ("  bare: Keras fit", "trainer.py", "fit"),
    ("  bare: clear_session", "global_state.py", "clear_session"),
    ("  bare: build_model", "mnist.py", "build_model"),
)


def profile_sides(folder: str, samples: int) -> None:
    """Run the random tune side, then the bare side on its trials, under cProfile; print parts.

    Both run in this process after the same imports and warm-up as `--side`, bare on the
    trials tune ran. cProfile slows Python code (tuneyard's, Keras' tracing) more than
    TensorFlow's kernels, so these are an upper bound on tuneyard's parts, for finding
    them, not for the verdict.
    """
    import cProfile
    import pstats

    sys.path.insert(0, str(HERE.parents[1] / "src"))
    ensure_tensorboard()
    import keras  # noqa: F401
    import keras_tuner  # noqa: F401

    from tuneyard.space.file import load_space

    warm_up_storage()
    space = load_space("mnist_mlp")
    stats = {}
    for side in ("tune", "bare"):
        # cProfile's own clock (wall): with process_time it calls the kernel twice per
        # Python call and counts TensorFlow's threads, which doubled every figure here.
        profiler = cProfile.Profile()
        profiler.enable()
        if side == "tune":
            _, rows = run_tune("random", folder, space, replace(Size(), samples=samples))
        else:
            run_bare(rows, folder, space, samples)
        profiler.disable()
        stats[side] = pstats.Stats(profiler).stats
    trials = len(rows)
    print(f"random, {trials} trials x {EPOCHS} epochs, mnist_mlp on {samples} samples; "
          f"time under cProfile (cumulative, wall clock), ms per trial")
    for label, file, function in PARTS:
        side = "bare" if label.lstrip().startswith("bare") else "tune"
        seconds = sum(entry[3] for (path, _, name), entry in stats[side].items()
                      if path.endswith(file) and name == function)
        print(f"  {label:<44} {seconds / trials * 1000:8.1f}")


# ---- the parent: starts the sides, rotates their order, judges --------------------------

def _side_command(side: str, backend: str, folder: str, samples: int, rows_file: Path,
                  out_file: Path, fds: str) -> list[str]:
    return [sys.executable, str(HERE), "--side", side, "--backend", backend, "--data-dir",
            folder, "--samples", str(samples), "--rows", str(rows_file), "--out", str(out_file),
            "--baton", fds]


def run_round(order: tuple[str, ...], backend: str, folder: str, samples: int,
              rows_file: Path, work: Path) -> dict[str, dict]:
    """One round: a fresh process per side, all started at once and handed turns in
    `order` (one trial each) until each has ended; their JSON figures by side."""
    procs, batons = {}, {}
    for side in order:
        go_read, go_write = os.pipe()
        done_read, done_write = os.pipe()
        command = _side_command(side, backend, folder, samples, rows_file,
                                work / f"{backend}-{side}.json", f"{go_read},{done_write}")
        procs[side] = subprocess.Popen(command, pass_fds=(go_read, done_write),
                                       env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
        os.close(go_read)
        os.close(done_write)
        batons[side] = (go_write, done_read)
    try:
        for side in order:  # each imports and warms up (off the clock), then says ready
            _expect(batons[side][1], b"r", side)
        running = list(order)
        while running:
            for side in list(running):
                os.write(batons[side][0], b"g")
                if _expect(batons[side][1], b"te", side) == b"e":
                    running.remove(side)
    finally:  # closed first: a side still waiting for its turn reads the end and exits
        for fd in (fd for pair in batons.values() for fd in pair):
            os.close(fd)
        failed = [f"{side} ({proc.wait()})" for side, proc in procs.items() if proc.wait() != 0]
        if failed:
            raise RuntimeError(f"sides that exited with an error: {', '.join(failed)}")
    return {side: json.loads((work / f"{backend}-{side}.json").read_text()) for side in order}


def _expect(fd: int, words: bytes, side: str) -> bytes:
    word = os.read(fd, 1)
    if not word or word not in words:
        raise RuntimeError(f"the {side} side ended before its turn was over")
    return word


def verdict(tune_ms: float, tune_noise: float, kt_ms: float, kt_noise: float,
            rounds: int) -> str:
    """Target: tuneyard's overhead at most a third of Keras Tuner's, judged at the noise edges."""
    if rounds < 2:
        return "inconclusive: one round measures no noise band (use --rounds 3)"
    if tune_ms < -tune_noise:
        return (f"measurement problem: tuneyard ran faster than bare by {-tune_ms:.0f} ms/trial, "
                f"beyond the noise band of {tune_noise:.0f}; no verdict")
    if kt_ms - kt_noise <= 0:
        return "inconclusive: Keras Tuner's overhead is within the noise"
    if tune_ms + tune_noise <= (kt_ms - kt_noise) / 3:
        return "met (at the edges of both noise bands)"
    if tune_ms - tune_noise > (kt_ms + kt_noise) / 3:
        return "NOT met (even at the edges of both noise bands)"
    return "inconclusive: met or not depending on where in the noise bands the truth lies"


def judge(backend: str, figures: dict[str, list[float]], trials: int, rounds: int,
          unit: str) -> str:
    """Print one clock's medians, overheads with their noise bands and the verdict."""
    per_round = {s: [(x - b) / trials * 1000 for x, b in zip(figures[s], figures["bare"],
                                                            strict=True)]
                 for s in ("tune", "keras_tuner")}
    ms = {s: statistics.median(v) for s, v in per_round.items()}
    noise = {s: (max(v) - min(v)) / 2 for s, v in per_round.items()}
    med = {s: statistics.median(v) for s, v in figures.items()}
    print(f"  {unit}, median of {rounds} rounds:")
    print(f"    bare build+fit     : {med['bare']:8.2f} s")
    for side, name in (("tune", f"tuneyard {backend}"), ("keras_tuner", "keras_tuner")):
        print(f"    {name:<19}: {med[side]:8.2f} s   ratio {med[side] / med['bare']:6.3f}   "
              f"overhead {ms[side]:6.0f} ± {noise[side]:4.0f} ms/trial   (per round: "
              f"{', '.join(f'{v:.0f}' for v in per_round[side])})")
    text = verdict(ms["tune"], noise["tune"], ms["keras_tuner"], noise["keras_tuner"], rounds)
    print(f"    target: tuneyard overhead <= 1/3 of Keras Tuner's: {text}", flush=True)
    return text


def collect(backend: str, folder: str, rounds: int, samples: int,
            sides: tuple[str, ...] = SIDES) -> tuple[dict, dict, dict]:
    """Run `rounds` rounds of `sides` on one backend's work, in turns, printing each round;
    each side's wall and CPU seconds per round, and the trials each ran."""
    work = Path(tempfile.mkdtemp(prefix=f"tuneyard-bench-kt-{backend}-"))
    rows_file = work / "rows.json"
    wall: dict[str, list[float]] = {s: [] for s in sides}
    cpu: dict[str, list[float]] = {s: [] for s in sides}
    trials: dict[str, int] = {}
    own: list[float] = []  # tuneyard's own parts, ms of CPU per trial, per round
    outside: list[tuple[float, float]] = []  # tune - bare outside the fits, per round
    print(f"\n{backend}: each side a fresh `python bench/kt_overhead.py --side ...` process, "
          "every trial trained in it (tuneyard: --workers 1 --trials-per-process 0); the "
          f"{len(sides)} sides of a round run at once, in turns of one trial", flush=True)
    # The trials the bare side replays: one tune run first, off the record.
    first = run_round(("tune",), backend, folder, samples, rows_file, work)["tune"]
    rows_file.write_text(json.dumps(first["rows"]))
    for round_ in range(rounds):
        order = sides[round_ % len(sides):] + sides[:round_ % len(sides)]
        outs = run_round(order, backend, folder, samples, rows_file, work)
        if [(r["params"], r["extra"]) for r in outs["tune"]["rows"]] != [
                (r["params"], r["extra"]) for r in first["rows"]]:
            print("  note: this tune run's trials differ from the first run's", flush=True)
        for side in order:
            wall[side].append(outs[side]["seconds"])
            cpu[side].append(outs[side]["cpu"])
            trials[side] = outs[side]["trials"]
        print(f"round {round_ + 1}, turns in order {' -> '.join(order)}: " + ", ".join(
            f"{side} {outs[side]['seconds']:.2f} s wall {outs[side]['cpu']:.2f} s cpu "
            f"(pid {outs[side]['pid']})" for side in order), flush=True)
        print_turns(outs)
        outside.append(print_outside_fits(outs, order))
        print_parts(outs["tune"]["parts"], outs["tune"]["trials"])
        own.append(sum(outs["tune"]["parts"].values()) / outs["tune"]["trials"] * 1000)
    print(f"tuneyard's own parts, median of {rounds} rounds: {statistics.median(own):.1f} ms of "
          "CPU per trial (bench/kt_overhead.py's Parts)", flush=True)
    print(f"tune - bare outside the fits, median of {rounds} rounds: " + ", ".join(
        f"{clock} {statistics.median(r[i] for r in outside):.0f} ms"
        for i, clock in enumerate(("wall", "CPU"))) + " per trial", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return wall, cpu, trials


def print_turns(outs: dict[str, dict]) -> None:
    """Where in a run tuneyard's time goes: tune's turns less bare's, on both clocks.

    The first turn opens the run (data, and for tune the store) up to the first build;
    each middle one is a trial's training, its record and the next ask; the last trains
    the last trial and closes the run. Only where both sides ran the same trials."""
    tune, bare = outs["tune"]["turns"], outs["bare"]["turns"]
    if len(tune) != len(bare) or len(tune) < 3:
        return
    for clock, i in (("wall", 0), ("CPU", 1)):
        diff = [(t[i] - b[i]) * 1000 for t, b in zip(tune, bare, strict=True)]
        print(f"  tune - bare by turn, {clock} ms: opening {diff[0]:.0f}, a trial "
              f"{statistics.median(diff[1:-1]):.0f} (median of {len(diff) - 2}; "
              f"{', '.join(f'{d:.0f}' for d in diff[1:-1])}), last trial and closing "
              f"{diff[-1]:.0f}", flush=True)


def print_outside_fits(outs: dict[str, dict], order: tuple[str, ...]) -> tuple[float, float]:
    """Each side's seconds outside Keras' fit (FitClock), in ms per trial; tune - bare's."""
    trials = outs["tune"]["trials"]

    def outside(side: str, clock: str) -> float:
        total = outs[side]["seconds"] if clock == "wall" else outs[side]["cpu"]
        return (total - outs[side]["fit"][clock]) / trials * 1000

    print("  outside Keras' fit, ms per trial (wall, CPU): " + ", ".join(
        f"{side} {outside(side, 'wall'):.0f}, {outside(side, 'cpu'):.0f}" for side in order)
        + "; tune - bare " + ", ".join(
            f"{outside('tune', c) - outside('bare', c):.0f}" for c in ("wall", "cpu")),
        flush=True)
    return tuple(outside("tune", c) - outside("bare", c) for c in ("wall", "cpu"))


def compare(backend: str, folder: str, rounds: int, samples: int) -> list[str]:
    """Time tune, bare and Keras Tuner on one backend's work; print the figures; the verdicts."""
    wall, cpu, trials = collect(backend, folder, rounds, samples)
    n = trials["tune"]
    print(f"{backend}: {n} trials (keras_tuner ran {trials['keras_tuner']}), mnist_mlp on "
          f"{samples} samples; load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return [judge(backend, wall, n, rounds, "wall-clock seconds"),
            judge(backend, cpu, n, rounds, "CPU seconds of the side's process")]


def checks(backends, verdicts: list[str]) -> list[Check]:
    """`main`'s verdicts (per backend: wall clock, then CPU) as checks for bench/verdict.py."""
    clocks = [(backend, clock) for backend in backends for clock in ("wall", "CPU")]
    return [Check(f"{backend} {clock} overhead <= 1/3 of Keras Tuner's", text.startswith("met"),
                  "" if text.startswith(("met", "NOT met")) else text)
            for (backend, clock), text in zip(clocks, verdicts, strict=True)]


def main(folder: str, space=None, rounds: int = 3, backends=("random", "hyperband"),
         samples: int = SAMPLES) -> list[str]:
    """Run the comparisons (`space` is unused: each side loads mnist_mlp itself)."""
    print(f"\ntensorboard for Keras Tuner: {ensure_tensorboard()}")
    return [v for backend in backends for v in compare(backend, folder, rounds, samples)]


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Keras Tuner backends' overhead only.")
    parser.add_argument("--data-dir", default=os.environ.get("TUNEYARD_DATA_DIR"))
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds; a multiple of 3 puts every side in every position")
    parser.add_argument("--backends", default="random,hyperband")
    parser.add_argument("--samples", type=int, default=SAMPLES)
    parser.add_argument("--quick", action="store_true",
                        help="1,000 samples: the same trials in about a third of the time")
    parser.add_argument("--profile", action="store_true",
                        help="where tuneyard's time per trial goes (cProfile; no verdict)")
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--rows", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--baton", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.profile:
        sys.path[:0] = [str(HERE.parent)]
        from overhead import data_dir

        profile_sides(data_dir(args.data_dir), 1000 if args.quick else args.samples)
        sys.exit(0)
    if args.side:
        side_main(args.side, args.backend, args.data_dir, args.samples, args.rows, args.out,
                  args.baton)
        sys.exit(0)
    sys.path[:0] = [str(HERE.parent), str(HERE.parents[1] / "src")]
    from overhead import data_dir

    backends = args.backends.split(",")
    verdicts = main(data_dir(args.data_dir), None, args.rounds, backends,
                    1000 if args.quick else args.samples)
    finish("kt_overhead", checks(backends, verdicts))
