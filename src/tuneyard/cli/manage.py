"""`tune delete`: remove a study from the store and its folder under results/ (and nothing else).

Registered on `tuneyard.cli.main.app` when cli/main.py imports this module.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tuneyard.cli.base import Storage, app, fail
from tuneyard.cli.display import console
from tuneyard.errors import StoreError
from tuneyard.store.optuna_store import NoStore, Store
from tuneyard.store.paths import study_dir
from tuneyard.store.urls import mask_secrets


@app.command()
def delete(
    study: Annotated[str, typer.Argument(help="Study name (see `tune studies`); a name, never a path.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    storage: Storage = None,
):
    """Delete a study: its trials in the store and its folder inside results/."""
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
    if store is None:
        fail(f"no study '{study}' in {mask_secrets(storage or 'the default store')}; "
             "`tune studies` lists them")
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
