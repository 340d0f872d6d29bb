"""The `tune` app and its one edge for errors, shared by cli/main.py and its sub-command modules.

Every command runs inside `ErrorEdge.invoke`: a TuneyardError, or a file the system
refused to write, becomes one line on stderr and exit code 2, in this one place.
Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from tuneyard import __version__
from tuneyard.cli.display import errors, fmt
from tuneyard.engine.interrupts import Terminated
from tuneyard.errors import TuneyardError
from tuneyard.store.urls import mask_secrets

# A file tuneyard had to write was refused by the system: the user's to fix, not a bug.
FILE_FAULTS = (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT)


class ErrorEdge(TyperGroup):
    """The command group that turns user errors into one line and exit code 2."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except TuneyardError as exc:
            fail(str(exc))
        except OSError as exc:
            if exc.errno not in FILE_FAULTS:
                raise
            fail(
                f"cannot write {exc.filename or 'a file'} ({exc.strerror}); make its folder "
                "writable, free some space, or set TUNEYARD_RESULTS_DIR to a writable folder"
            )


def fail(message: str, code: int = 2) -> None:
    """Print `error: message` on stderr and exit with `code`."""
    # The last guard: an error quoting a storage URL never shows its password.
    errors.print(f"error: {mask_secrets(message)}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def interrupted_code(exc: KeyboardInterrupt) -> int:
    """The exit code of a run ended by a signal: 143 for SIGTERM, 130 for Ctrl-C (the shell's)."""
    return 143 if isinstance(exc, Terminated) else 130


def summary_line(result: Any) -> str:
    """The last line of a run (a SweepResult): the best value, or that none completed, and
    where the table is."""
    best = result.best
    found = f"best {result.metric}: {fmt(best)}" if best is not None else "no completed trial yet"
    frame = getattr(result, "leaderboard", None)
    if best is not None and frame is not None and "front" in frame:  # several objectives
        found += f" (of the Pareto front's {int((frame['front'] == 1).sum())} trials)"
    return f"{found}; full table: {result.csv_path}"


def exit_if_all_failed(result: Any) -> None:
    """A study whose every trial failed is not a result: say why, exit 1."""
    if result.all_failed:
        fail(f"{result.all_failed}; full table: {result.csv_path}", code=1)


app = typer.Typer(
    cls=ErrorEdge,
    help="tuneyard: one search space, every search strategy, one leaderboard.",
    no_args_is_help=True,
    add_completion=True,  # `tune --install-completion` / `--show-completion`
    pretty_exceptions_enable=False,
)

Json = Annotated[bool, typer.Option("--json", help="Print JSON to stdout (nothing else).")]


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"tuneyard {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_show_version,
        help="Print tuneyard's version and exit.")] = False):
    """tuneyard: one search space, every search strategy, one leaderboard."""


Storage = Annotated[str | None, typer.Option(help="Optuna storage URL (default: SQLite under results/).")]
# Tracking (engine/tracking.py), shared by `tune run` and `tune worker`.
TensorBoardDir = Annotated[str | None, typer.Option(
    "--tensorboard", metavar="DIR",
    help="Write each trial's per-epoch scalars and the HParams dashboard's records to "
    "DIR/<study>/trial-N (view: tensorboard --logdir DIR/<study>); needs tuneyard\\[tensorboard].")]
MlflowUri = Annotated[str | None, typer.Option(
    "--mlflow", metavar="URI",
    help="Log the study as an MLflow run and each trial as a child run (parameters, per-epoch "
    "metrics, status, the best model) to a tracking URI, e.g. sqlite:///mlflow.db or "
    "http://host:5000; needs tuneyard\\[mlflow].")]
