"""`tune worker`: join a shared study on a PostgreSQL server from any machine.

Registered on `tuneyard.cli.main.app` when cli/main.py imports this module; like it,
importing it imports neither TensorFlow nor Optuna nor pandas.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tuneyard.cli.base import (
    MlflowUri,
    TensorBoardDir,
    app,
    exit_if_all_failed,
    interrupted_code,
    summary_line,
)
from tuneyard.cli.display import console, frame_table
from tuneyard.errors import TuneyardError


@app.command()
def worker(
    study: Annotated[str, typer.Option(help="Name of the shared study (printed by `tune run`).")],
    storage: Annotated[str, typer.Option(help="Server storage URL, e.g. postgresql://user@db/tuneyard.")],
    trials: Annotated[int | None, typer.Option(
        help="Stop at this many trials (default: the study's budget).")] = None,
    data_dir: Annotated[str | None, typer.Option(help="Folder with keras' dataset files.")] = None,
    space: Annotated[str | None, typer.Option(
        help="Space file, when not found by the study's space name.")] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for the study to be created.")] = 60.0,
    verbose: Annotated[bool, typer.Option("--verbose", help="Show Keras' per-epoch output.")] = False,
    trial_timeout: Annotated[str | None, typer.Option(
        help="Stop a trial past this long (e.g. 20m) and record it FAIL (default: the study's).")] = None,
    tensorboard: TensorBoardDir = None,
    mlflow: MlflowUri = None,
):
    """Join a shared study (grid, tpe, random) and run its trials until the budget is done."""
    # heavy: numpy
    from tuneyard.cli.progress import ProgressEvents
    from tuneyard.engine.join import join

    if trials is not None and trials < 1:
        raise TuneyardError(f"--trials must be at least 1, got {trials}")
    sweep = join(storage, study, trials=trials, wait=wait, space=space, data_dir=data_dir,
                 verbose=verbose, trial_timeout=trial_timeout, tensorboard=tensorboard, mlflow=mlflow)
    plan = sweep.plan()
    console.print(f"worker joined study {study}: space {plan.space.name}, backend "
                  f"{plan.backend}, budget {plan.budget} trials, objective "
                  f"{plan.space.objective_text()}", markup=False, highlight=False)
    events = ProgressEvents(plan.space.metric)
    try:
        result = sweep.run(events)
    except KeyboardInterrupt as exc:
        events.stop()
        console.print("interrupted: the running trial is queued again for the other workers")
        raise typer.Exit(interrupted_code(exc)) from None
    finally:
        events.stop()
    console.print(frame_table(result.leaderboard, title=f"leaderboard of {study}", top=10))
    exit_if_all_failed(result)
    console.print(summary_line(result), markup=False, highlight=False)
