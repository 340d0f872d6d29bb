"""`tune export`: a trial's model as a .keras file, without retraining when the sweep kept it."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from tuneyard.atomic import write_with
from tuneyard.errors import TuneyardError
from tuneyard.evaluation.evaluate import best_trial, trial_model
from tuneyard.records.trial import first_value
from tuneyard.store.optuna_store import Store


def export_model(study: str, out: str, *, trial: int | None = None, storage: str | None = None,
                 data_dir: str | None = None) -> str:
    """Copy (or retrain) the model of `trial` (default: the best) to `out`; a line saying so."""
    target = _checked_target(out)
    store = Store(storage, study, readonly=True)
    store.load()
    chosen = best_trial(store) if trial is None else _trial(store, trial)
    with tempfile.TemporaryDirectory() as tmp:
        made = trial_model(store, chosen, data_dir, str(Path(tmp) / "model.keras"),
                           need_data=False)
        write_with(target, lambda tmp: shutil.copyfile(made.path, tmp))
    if made.source == "saved":
        return (f"wrote {target}: trial {chosen.number}'s model as the sweep kept it (its best "
                f"epoch), no retraining")
    return (f"wrote {target}: trial {chosen.number} was not saved by the sweep (only the best "
            f"trial's model is kept), so it was retrained for {made.epochs} epochs "
            f"({made.value:.4g} at its best epoch; {first_value(chosen):.4g} in the sweep)")


def _checked_target(out: str) -> Path:
    target = Path(out).expanduser()
    if target.suffix != ".keras":
        raise TuneyardError(f"--out {out}: a Keras model file must end in .keras")
    if not target.parent.is_dir():
        raise TuneyardError(f"--out {out}: folder {target.parent} does not exist; create it first")
    if target.is_dir():
        raise TuneyardError(f"--out {out} is a folder; give a file name ending in .keras")
    return target


def _trial(store: Store, number: int):
    finished = {t.number: t for t in store.trials(("COMPLETE",))}
    if number not in finished:
        raise TuneyardError(f"study '{store.name}' has no completed trial {number}; completed "
                            f"trials: {', '.join(map(str, sorted(finished))) or 'none'}")
    return finished[number]
