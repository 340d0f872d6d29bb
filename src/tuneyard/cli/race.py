"""`tune race`: which search strategy wins on this space? Registered on `tuneyard.cli.main.app`.

Like cli/main.py, importing it does not import TensorFlow, pandas, matplotlib or Optuna.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from tuneyard.cli.base import Storage, app, interrupted_code
from tuneyard.cli.display import console, fmt

DEFAULT_BACKENDS = "grid,random,hyperband,bayes,tpe,course"


@app.command()
def race(
    space: Annotated[str, typer.Option(help="Space name (see `tune spaces`) or a YAML path.")],
    backends: Annotated[str, typer.Option(
        help="Comma-separated entries: grid, random, hyperband, bayes, tpe, course "
             "(the course's Keras Tuner baseline).")] = DEFAULT_BACKENDS,
    budget_epochs: Annotated[int, typer.Option(
        help="Training epochs each entry may spend per seed (all executions counted).")] = 150,
    repeats: Annotated[int, typer.Option(help="Seeds per entry.")] = 3,
    seed: Annotated[int, typer.Option(help="First seed; repeat i uses seed + i.")] = 0,
    subset: Annotated[int | None, typer.Option(
        help="Train on N samples of the training pool (stratified in the shipped workloads); "
             "a workload whose load() ignores it is refused.")] = None,
    data_dir: Annotated[str | None, typer.Option(help="Folder with keras' dataset files.")] = None,
    storage: Storage = None,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show Keras' per-epoch output.")] = False,
    report_only: Annotated[bool, typer.Option(
        "--report-only", help="Table and plot of what is stored so far; train nothing.")] = False,
):
    """Race the backends on one space with the same epoch budget and seeds; table and plot."""
    # heavy: numpy
    from tuneyard.race.run import RaceOptions, check, parse_entries

    options = RaceOptions(space=space, entries=parse_entries(backends),
                          budget_epochs=budget_epochs, repeats=repeats, seed=seed,
                          subset=subset, storage=storage, verbose=verbose,
                          report_only=report_only,
                          data_dir=data_dir)
    check(options)
    _run_and_report(options)


def _run_and_report(options) -> None:
    # heavy: numpy
    from tuneyard.cli.race_progress import RaceEvents
    from tuneyard.race.run import run_race

    total = len(options.entries) * options.repeats * options.budget_epochs
    events = RaceEvents(total)
    console.print(f"race on {options.space}: {', '.join(options.entries)}; "
                  f"{options.budget_epochs} epochs each, seeds {options.seeds}", highlight=False)
    try:
        result = run_race(options, events, on_study=events.study_done)
    except KeyboardInterrupt as exc:
        events.stop()
        console.print("interrupted: finished trials are saved; run the same command to resume")
        raise typer.Exit(interrupted_code(exc)) from None
    finally:
        events.stop()
    _report(result)


def _report(result) -> None:
    # heavy: numpy
    from tuneyard.race.run import write_report

    space = result.space
    made = write_report(result)
    view = Table("backend", f"best {space.metric} (mean ± sd)", "min..max", "epochs to 1%",
                 "reached", "per seed", "epochs to course best", "epochs spent (mean/max)",
                 "trials", "wall s", title=f"race on {space.name}", header_style="bold")
    for r in made.rows:
        view.add_row(r["backend"], f"{fmt(r['best_mean'])} ± {fmt(r['best_sd'])}",
                     f"{fmt(r['best_min'])}..{fmt(r['best_max'])}",
                     _epochs(r["epochs_to_1pct"]), r["reached_1pct"], r["epochs_to_1pct_per_seed"],
                     _epochs(r["epochs_to_course"]),
                     f"{r['epochs_spent_mean']:.0f}/{r['epochs_spent_max']}",
                     f"{r['trials_mean']:.1f}", f"{r['wall_s_mean']:.0f}")
    console.print(view)
    for seed, floor in sorted(made.floors.items()):
        console.print(f"seed {seed}: noise floor of the validation targets {floor:.5f}",
                      highlight=False)
    for line in made.verdicts:
        console.print(line, markup=False, highlight=False)
    console.print(f"table: {made.csv}; anytime plot: {made.png}", markup=False, highlight=False)


def _epochs(value) -> str:
    if isinstance(value, str):
        return value
    return "not reached" if value is None else f"{value:g}"
