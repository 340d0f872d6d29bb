"""The `tune` command line. The only module that prints, draws progress or exits.

Importing it does not import TensorFlow, Optuna or pandas: `tune --help` is instant.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.table import Table
from rich.text import Text

from tuneyard import quiet_import
from tuneyard.cli.base import (
    Json,
    MlflowUri,
    Storage,
    TensorBoardDir,
    app,
    exit_if_all_failed,
    interrupted_code,
    summary_line,
)
from tuneyard.cli.display import console, frame_records, frame_table, named_columns, print_json
from tuneyard.engine.heap import own_this_process
from tuneyard.engine.options import DEFAULT_TRIALS_PER_PROCESS, hyperband_options
from tuneyard.errors import TuneyardError
from tuneyard.report.build import build_report
from tuneyard.space.file import available_spaces, load_space
from tuneyard.space.grid_points import grid_size
from tuneyard.store.optuna_store import NoStore, default_storage
from tuneyard.store.targets import check_csv_target
from tuneyard.store.urls import mask_secrets

__all__ = ["app", "main"]

# Quiet TensorFlow's C++ start-up chatter unless the user asks for it; set before any import.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# And the lines it writes on fd 2 while it is imported: this process is the command's own, so
# the hook goes here (and in worker processes), never in `import tuneyard`.
quiet_import.install()


class Executor(StrEnum):
    """Where `tune run` runs trials (engine/options.py EXECUTORS)."""

    local = "local"
    ray = "ray"


@app.command()
def run(
    space: Annotated[str, typer.Option(help="Space name (see `tune spaces`) or a YAML path.")],
    backend: Annotated[str, typer.Option(help="grid, tpe, random, hyperband, bayes or nsga2 "
                                         "(NSGA-II, for several objectives).")] = "tpe",
    trials: Annotated[int | None, typer.Option(help="Trial budget of the study (default 20).")] = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs per trial (default: the space's).")] = None,
    subset: Annotated[int | None, typer.Option(
        help="Train on N samples of the training pool (stratified in the shipped workloads); "
             "a workload whose load() ignores it is refused.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the backend, data split and training.")] = 0,
    storage: Storage = None,
    study: Annotated[str | None, typer.Option(help="Study name (default <space>-<backend>-s<seed>).")] = None,
    data_dir: Annotated[str | None, typer.Option(help="Folder with keras' dataset files.")] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Delete the study and start over.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show Keras' per-epoch output.")] = False,
    precision: Annotated[str | None, typer.Option(
        help="float32, mixed (float16 on a GPU, bfloat16 on a CPU that has it), mixed_float16 or "
        "mixed_bfloat16 (default: the space's, else float32).")] = None,
    max_epochs: Annotated[int | None, typer.Option(help="Hyperband's largest epoch budget (default: "
                                                   "the space's max_epochs, else the epochs).")] = None,
    factor: Annotated[int | None, typer.Option(help="Hyperband's factor, >= 2.")] = None,
    prune: Annotated[str, typer.Option(help="Pruner for tpe: none, median or hyperband "
                                       "(off for a space of several objectives).")] = "none",
    workers: Annotated[int, typer.Option(help="Trials at once, each in its own process.")] = 1,
    max_failures: Annotated[int, typer.Option(help="Stop after this many failed trials in a row.")] = 5,
    trials_per_process: Annotated[
        int,
        typer.Option(
            help="Trials a worker process runs before a fresh one replaces it, bounding the memory "
            "TensorFlow keeps per model (0: never; a sweep no longer than this runs in-process)."
        ),
    ] = DEFAULT_TRIALS_PER_PROCESS,
    report: Annotated[
        bool, typer.Option("--report", help="Write results/STUDY/report/ when the sweep ends.")
    ] = False,
    timeout: Annotated[str | None, typer.Option(
        help="Wall-clock budget, e.g. 2h, 90m, 3600s, 1h30m: no trial starts that cannot end in it; "
        "running ones finish (or are cut and re-run on resume).")] = None,
    trial_timeout: Annotated[str | None, typer.Option(
        help="Stop a trial that runs longer than this (e.g. 20m) and record it FAIL; the sweep "
        "goes on.")] = None,
    gpus: Annotated[str | None, typer.Option(
        help="GPUs the workers train on, e.g. 0,2 (default: every visible one; see `tune devices`); "
        "each worker gets one, round-robin.")] = None,
    trials_per_gpu: Annotated[int, typer.Option(
        help="Workers that share one GPU (small models): --workers N needs N/K GPUs.")] = 1,
    executor: Annotated[Executor, typer.Option(
        help="Where trials run: local (this machine's worker processes) or ray (a Ray actor per "
        "worker: a local Ray, or the cluster at --address; needs tuneyard\\[ray]).")] = Executor.local,
    address: Annotated[str | None, typer.Option(
        help="The Ray cluster of --executor ray: auto, host:6379 or ray://host:10001 (default: "
        "a local Ray started for the run).")] = None,
    tensorboard: TensorBoardDir = None,
    mlflow: MlflowUri = None,
    warm_from: Annotated[str | None, typer.Option(
        help="Start a new study (give --study) with this earlier study's finished trials that fit "
        "the space: the search learns from them; they are listed as WARM and do not count "
        "against --trials.")] = None,
    enqueue: Annotated[str | None, typer.Option(
        help="YAML or JSON file: a list of configurations (hyperparameter: value) to run first; "
        "tpe samples what one leaves out.")] = None,
):
    """Run (or resume) a sweep and print the ranked leaderboard."""
    # heavy: numpy
    from tuneyard.cli.progress import ProgressEvents
    from tuneyard.engine.sweep import Sweep, SweepOptions

    if verbose:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
    options = SweepOptions(
        space=space,
        backend=backend,
        trials=trials,
        epochs=epochs,
        subset=subset,
        seed=seed,
        storage=storage,
        study=study,
        data_dir=data_dir,
        fresh=fresh,
        verbose=verbose,
        precision=precision,
        prune=prune,
        workers=workers,
        max_failures=max_failures,
        trials_per_process=trials_per_process,
        backend_options=hyperband_options(max_epochs, factor),
        timeout=timeout,
        trial_timeout=trial_timeout,
        gpus=gpus,
        trials_per_gpu=trials_per_gpu,
        executor=executor.value,
        address=address,
        tensorboard=tensorboard,
        mlflow=mlflow,
        warm_from=warm_from,
        enqueue=enqueue,
    )
    sweep = Sweep(options)
    plan = sweep.plan()
    events = ProgressEvents(plan.space.metric, timeout=options.timeout)
    console.print(
        f"study {plan.study}: space {plan.space.name}, backend {backend}, "
        f"{plan.budget} trials, objective{'s' if plan.space.multi else ''} "
        f"{plan.space.objective_text()}"
    )
    try:
        result = sweep.run(events)
    except KeyboardInterrupt as exc:
        events.stop()
        console.print(
            f"interrupted: {sweep.result().done} trials are saved in {plan.csv_path}; "
            "run the same command to resume"
        )
        raise typer.Exit(interrupted_code(exc)) from None
    finally:
        events.stop()
    console.print(frame_table(result.leaderboard, title=f"leaderboard of {result.study}", top=10))
    exit_if_all_failed(result)
    if result.timed_out:
        console.print(f"the time budget ({timeout}) ended the sweep", markup=False, highlight=False)
    console.print(summary_line(result), markup=False, highlight=False)
    if report:
        made = build_report(result.study, storage)
        console.print(f"report: {made.index}", markup=False, highlight=False)


@app.command()
def spaces():
    """List the search spaces tuneyard can find."""
    table = Table("space", "workload", "objective", "hyperparameters", "grid size", "file")
    for name, path in available_spaces().items():
        # Text cells: a file's names and errors are shown as written, never read as markup.
        try:
            s = load_space(str(path))
            row = [s.workload, s.objective_text(), str(len(s.params)), _grid_size(s)]
        except Exception as exc:  # one bad file is listed with its error, never hides the others
            row = ["", Text(f"invalid: {_problem_in(path, exc)}", style="red"), "", ""]
        table.add_row(*(Text(c) if isinstance(c, str) else c for c in [name, *row, str(path)]))
    console.print(table)


def _problem_in(path, exc: Exception) -> str:
    """The first line of a space file's error, its path (shown in its own column) left out."""
    text = str(exc) if isinstance(exc, TuneyardError) else f"{type(exc).__name__}: {exc}"
    text = (text.splitlines() or [""])[0]
    line, sep, rest = text.removeprefix(f"{path}:").partition(": ")
    return f"line {line}: {rest}" if text.startswith(f"{path}:") and sep and line.isdigit() else text


@app.command("show-space")
def show_space(name: Annotated[str, typer.Argument(help="Space name or YAML path.")], json: Json = False):
    """Print one space, its hyperparameters and its grid size."""
    s = load_space(name)
    if json:
        print_json({**s.as_dict(), "grid_size": _grid_count(s), "file": str(s.path)})
        return
    console.print(yaml.safe_dump(s.as_dict(), sort_keys=False), markup=False, highlight=False)
    console.print(f"grid size: {_grid_size(s)}  (file: {s.path})")


def _grid_count(space) -> int | None:
    try:
        return grid_size(space)
    except TuneyardError:
        return None


def _grid_size(space) -> str:
    try:
        return f"{grid_size(space):,}"
    except TuneyardError:
        return "n/a (a float has no grid: list)"


@app.command()
def leaderboard(
    study: Annotated[str, typer.Argument(help="Study name (see `tune studies`).")],
    top: Annotated[int | None, typer.Option(help="Show only the best N.")] = None,
    csv: Annotated[str | None, typer.Option(help="Also write the full table to this CSV.")] = None,
    columns: Annotated[str | None, typer.Option(
        help="Comma-separated columns to show (default: as many as fit, by priority).")] = None,
    json: Json = False,
    storage: Storage = None,
):
    """Print a study's ranked leaderboard."""
    # heavy: numpy
    from tuneyard.analysis.leaderboard import write_csv
    from tuneyard.analysis.reading import study_frame

    if top is not None and top < 1:
        raise TuneyardError(f"--top must be at least 1, got {top}")
    if csv:
        check_csv_target(Path(csv))  # not through a study folder linked out of results/
    frame = study_frame(study, storage)
    if csv:
        write_csv(frame, Path(csv))
    named = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    if json:
        shown = frame.head(top) if top else frame
        print_json(frame_records(shown[named_columns(named, list(frame.columns))] if named
                                 else shown))
        return
    console.print(frame_table(frame, title=f"leaderboard of {study}", top=top, columns=named))
    if csv:
        console.print(f"wrote {len(frame)} rows to {csv}")


@app.command()
def studies(storage: Storage = None, json: Json = False):
    """List the studies in the store with their best value and trial counts."""
    # heavy: numpy
    from tuneyard.analysis.reading import studies_frame

    try:
        frame = studies_frame(storage)
    except NoStore as exc:
        if json:
            print_json([])
            return
        console.print(str(exc), markup=False, highlight=False)
        return
    if json:
        print_json(frame_records(frame))
        return
    if frame.empty:
        console.print(
            f"no studies in {mask_secrets(storage or default_storage())} yet: start one with "
            "`tune run --space NAME`",
            markup=False,
            highlight=False,
        )
        return
    console.print(frame_table(frame, title="studies"))


# The other commands live in their own modules and register on `app` when imported:
# worker (shared studies), report/diagnose/evaluate/compare-regularisation, race, devices.
import tuneyard.cli.devices  # noqa: E402, F401
import tuneyard.cli.manage  # noqa: E402, F401
import tuneyard.cli.race  # noqa: E402, F401
import tuneyard.cli.study  # noqa: E402, F401
import tuneyard.cli.worker  # noqa: E402, F401


def main() -> None:
    """Entry point of the `tune` command (and `python -m tuneyard`): a process of tuneyard's
    own, whose trials' garbage collections skip the libraries (engine/heap.py)."""
    own_this_process()
    app(prog_name="tune")
