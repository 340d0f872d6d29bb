"""`tune report`, `diagnose`, `evaluate`, `compare` and `compare-regularisation`.

Registered on `tuneyard.cli.main.app` when cli/main.py imports this module. Like it,
importing it does not import TensorFlow, pandas, matplotlib or Optuna: every
command imports what it needs inside its body.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from tuneyard.cli.base import Storage, app
from tuneyard.cli.display import console, fmt
from tuneyard.errors import TuneyardError
from tuneyard.report.build import build_report
from tuneyard.store.optuna_store import Store
from tuneyard.store.paths import study_dir

StudyName = Annotated[str, typer.Argument(help="Study name (see `tune studies`).")]
DataDir = Annotated[str | None, typer.Option(
    help="Folder with keras' dataset files (default: $TUNEYARD_DATA_DIR).")]


@app.command()
def report(
    study: StudyName,
    top: Annotated[int, typer.Option(help="Training curves of the best N trials.")] = 5,
    evaluate: Annotated[bool, typer.Option(
        "--evaluate", help="First score the best trial's model on the test split (the kept "
        "model, else retrained: see `tune evaluate`).")] = False,
    data_dir: DataDir = None,
    storage: Storage = None,
):
    """Write results/STUDY/report/: PNG figures and a self-contained index.html."""
    made = build_report(study, storage, top=top, evaluate=evaluate, data_dir=data_dir)
    for note in made.notes:
        console.print(f"note: {note}", markup=False, highlight=False)
    console.print(f"wrote {len(made.figures)} figures ({', '.join(made.figures)}) and "
                  f"{made.index}", markup=False, highlight=False)


@app.command()
def diagnose(
    study: StudyName,
    trial: Annotated[int | None, typer.Argument(help="One trial number (default: all).")] = None,
    storage: Storage = None,
):
    """Label each trial's curves (healthy, overfitting, ...) with the numbers and a suggestion."""
    # heavy: numpy
    from tuneyard.analysis.trial_diagnosis import diagnose_rows, format_numbers

    store = Store(storage, study, readonly=True)
    store.load()
    trials = store.trials()
    if trial is not None:
        numbers = [t.number for t in trials]
        if trial not in numbers:
            span = f"0..{max(numbers)}" if numbers else "none: the study has no trials"
            raise TuneyardError(f"study '{study}' has no trial {trial}; trial numbers: {span}")
        trials = [t for t in trials if t.number == trial]
    if not trials:
        console.print(f"study '{study}' has no trials yet")
        return
    for record in diagnose_rows(trials, store.config):
        d = record["diagnosis"]
        console.print(f"[bold]trial {record['trial']}[/bold] ({record['status'].lower()}): "
                      f"[bold]{d.label}[/bold]", highlight=False)
        console.print(f"  numbers: {format_numbers(d)}", markup=False, highlight=False)
        console.print(f"  seen: {d.reason}", markup=False, highlight=False)
        console.print(f"  suggestion: {d.suggestion}", markup=False, highlight=False)


@app.command()
def evaluate(study: StudyName, data_dir: DataDir = None, storage: Storage = None):
    """Score the best trial's model on the held-out test split.

    The model the sweep kept for the best trial (best.keras) is scored as it is; a best
    trial whose model was not kept is retrained first, with the study's seed and epochs.
    """
    # heavy: numpy
    from tuneyard.evaluation.evaluate import evaluate_study, summary_lines

    result = evaluate_study(study, storage, data_dir,
                            say=lambda line: console.print(line, markup=False, highlight=False))
    for line in summary_lines(result):
        console.print(line, markup=False, highlight=False)
    if result["task"] == "classification":
        worst = sorted(result["per_class"], key=lambda c: c["recall"])[:3]
        text = ", ".join(f"{c['class']} (recall {c['recall']:.3f}, precision "
                         f"{c['precision']:.3f})" for c in worst)
        console.print(f"weakest classes: {text}", markup=False, highlight=False)
    console.print(f"stored with the study and in {study_dir(study) / 'evaluation.json'}; "
                  f"`tune report {study}` shows it", markup=False, highlight=False)


class CompareProgress:
    """Prints one line as each variant of a comparison starts and one as it ends."""

    def started(self, variant, index: int, total: int, epochs: int) -> None:
        console.print(f"[{index}/{total}] {variant.name}: training {epochs} epochs ...",
                      markup=False, highlight=False)

    def finished(self, variant, index: int, total: int) -> None:
        summary = variant.summary
        if summary.get("error"):
            text = f"failed ({summary['error']})"
        else:
            tests = ", ".join(f"{k} {fmt(v)}" for k, v in summary.items() if k.startswith("test_"))
            best = next((k for k in summary if k.startswith("best_")), "best_objective")
            text = f"best {best.removeprefix('best_')} {fmt(summary.get(best)) or '-'}" + \
                (f", {tests}" if tests else "")
        console.print(f"[{index}/{total}] {variant.name}: done in {summary.get('seconds', 0):.1f} s, "
                      f"{text}", markup=False, highlight=False)


def _print_comparison(result, note: str, columns: tuple | None = None) -> None:
    # heavy: matplotlib, numpy
    from tuneyard.report.compare_figure import table_rows

    headers, rows = table_rows(result)
    keep = list(range(len(headers)))
    if columns is not None:  # the named columns, the test scores after the first two
        tests = [i for i, h in enumerate(headers) if h.startswith("test_")]
        named = [headers.index(c) for c in columns if c in headers]
        keep = named[:2] + tests + named[2:]
    fixed = ", ".join(f"{k}={fmt(v)}" for k, v in result.params.items())
    table = Table(title=f"{result.title} ({fixed}), {result.epochs} epochs, seed {result.seed}")
    for i in keep:
        table.add_column(headers[i], no_wrap=headers[i] != "error", overflow="fold")
    for row in rows:
        table.add_row(*(fmt(row[i]) for i in keep))
    console.print(table)
    console.print(note, markup=False, highlight=False)
    console.print(f"figure, table and page in {result.folder}", markup=False, highlight=False)


@app.command("compare")
def compare(
    space: Annotated[str, typer.Option(help="Space name (`tune spaces`) or a YAML path.")],
    vary: Annotated[str, typer.Option(
        help="The factor and its values, e.g. optimizer=sgd,rmsprop,adam,adamw or l2=0,1e-4,1e-3.")],
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Fix another hyperparameter, NAME=VALUE (repeatable); the rest take the "
        "course's baseline and defaults, else the space's middle.")] = None,
    name: Annotated[str | None, typer.Option(
        help="Output folder name under results/ (default compare-<space>-<factor>-s<seed>).")] = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs (default: the space's).")] = None,
    subset: Annotated[int | None, typer.Option(
        help="Train on N samples of the training pool (stratified in the shipped workloads); "
             "a workload whose load() ignores it is refused.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the data split and training.")] = 0,
    data_dir: DataDir = None,
):
    """Train the same model once per value of one hyperparameter: curves side by side, test scores."""
    # heavy: matplotlib, numpy
    from tuneyard.evaluation.compare import compare_factor
    from tuneyard.report.compare_figure import best_note, write

    result = compare_factor(space, vary, sets=set_, name=name, epochs=epochs, subset=subset,
                            seed=seed, data_dir=data_dir, events=CompareProgress())
    write(result)
    _print_comparison(result, best_note(result), ("variant", f"best_{result.metric}", "loss_gap_pct",
                                                  "diagnosis", "seconds", "error"))


@app.command("compare-regularisation")
def compare_regularisation(
    space: Annotated[str | None, typer.Option(help="Space name (default: the study's).")] = None,
    study: Annotated[str | None, typer.Option(
        help="Take the learning rate and optimizer of this study's best trial.")] = None,
    learning_rate: Annotated[float | None, typer.Option(
        help="Fixed learning rate (default: the study's best, else 0.001).")] = None,
    l2: Annotated[float, typer.Option(help="L2 factor of the L2 variants.")] = 0.001,
    dropout: Annotated[float, typer.Option(help="Dropout rate of the dropout variants.")] = 0.5,
    epochs: Annotated[int | None, typer.Option(help="Epochs (default: the space's).")] = None,
    subset: Annotated[int | None, typer.Option(
        help="Train on N samples of the training pool (stratified in the shipped workloads); "
             "a workload whose load() ignores it is refused.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the data split and training.")] = 0,
    data_dir: DataDir = None,
    storage: Storage = None,
):
    """Train the course's baseline network with no regularisation, L2, dropout and both
    (a preset of `tune compare`)."""
    # heavy: matplotlib, numpy
    from tuneyard.evaluation.regularisation import compare
    from tuneyard.report.regularisation_figure import gap_note, write

    result = compare(space, study=study, storage=storage, learning_rate=learning_rate, l2=l2,
                     dropout=dropout, epochs=epochs, subset=subset, seed=seed,
                     data_dir=data_dir, events=CompareProgress())
    write(result)
    _print_comparison(result, gap_note(result))


@app.command()
def export(
    study: StudyName,
    out: Annotated[str, typer.Option(help="Where to write the model (a .keras file).")],
    trial: Annotated[int | None, typer.Option(help="A trial number (default: the best).")] = None,
    data_dir: DataDir = None,
    storage: Storage = None,
):
    """Write a trial's model to a .keras file: the one the sweep kept, or retrained."""
    # heavy: numpy
    from tuneyard.evaluation.export import export_model

    made = export_model(study, out, trial=trial, storage=storage, data_dir=data_dir)
    console.print(made, markup=False, highlight=False)
