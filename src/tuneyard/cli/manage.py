"""`tune delete`: remove a study from the store and its folder under results/ (and nothing else),
or the folder of a race's or a comparison's output under results/.

Registered on `tuneyard.cli.main.app` when cli/main.py imports this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tuneyard.cli.base import Storage, app, fail
from tuneyard.cli.display import console
from tuneyard.errors import StoreError
from tuneyard.store.optuna_store import NoStore, Store
from tuneyard.store.paths import remove_inside_results, study_dir
from tuneyard.store.urls import mask_secrets


@app.command()
def delete(
    study: Annotated[str, typer.Argument(help="Study name (see `tune studies`); a name, never a path.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    storage: Storage = None,
):
    """Delete a study (its trials in the store and its folder inside results/), or the
    output folder of `tune race` or a comparison (race-SPACE, compare-..., regularisation)."""
    # `../x`, or a name that is a file of the results folder (the store's own database),
    # is refused before anything is opened: deleting its "folder" would delete that file.
    try:
        folder = study_dir(study)
    except StoreError as exc:
        fail(f"{exc}; nothing deleted (a study of that name made elsewhere leaves the store, "
             "touching no file, with `optuna delete-study --study-name NAME --storage URL`)")
    try:
        found = Store(storage, study, readonly=True).exists()
    except NoStore:
        found = False
    store = Store(storage, study) if found else None
    if store is None and output_kind(folder):
        delete_output(study, folder, yes)
        return
    if store is None:
        fail(f"no study '{study}' in {mask_secrets(storage or 'the default store')}, and no race "
             "or comparison output of that name in the results folder; `tune studies` lists "
             "the studies")
    store.load()
    trials = len(store.trials())
    where = f" and its folder {folder}" if folder.exists() else ""
    asked = f"delete study '{study}' ({trials} trials) from {store.shown_url}{where}?"
    if not yes and not typer.confirm(asked):
        console.print("nothing deleted", markup=False, highlight=False)
        raise typer.Exit(1)
    store.delete()
    console.print(f"deleted study '{study}' ({trials} trials) from {store.shown_url}{where}",
                  markup=False, highlight=False)


def output_kind(folder: Path) -> str | None:
    """What tuneyard output a results/ folder holds, if it is one: a race's, a comparison's,
    or a folder of comparisons (compare-regularisation's without --study)."""
    if folder.is_symlink() or not folder.is_dir():
        return None
    if (folder / "race.csv").is_file() or (folder / "wall_seconds.json").is_file():
        return "race"
    if (folder / "comparison.json").is_file():
        return "comparison"
    subfolders = [p for p in folder.iterdir() if not p.name.startswith(".")]
    if subfolders and all((p / "comparison.json").is_file() for p in subfolders):
        return f"{len(subfolders)} comparison{'s' if len(subfolders) != 1 else ''}"
    return None


def delete_output(name: str, folder: Path, yes: bool) -> None:
    """Delete a race's or comparison's output folder (inside results/ only), after asking."""
    kind = output_kind(folder)
    asked = f"delete the {kind} output {folder}?"
    if not yes and not typer.confirm(asked):
        console.print("nothing deleted", markup=False, highlight=False)
        raise typer.Exit(1)
    remove_inside_results(folder)
    # A race's studies are studies: each is deleted by its own name.
    note = (f"; its studies stay in the store (`tune studies` lists them as {name}-...)"
            if kind == "race" else "")
    console.print(f"deleted the {kind} output {folder}{note}", markup=False, highlight=False)
