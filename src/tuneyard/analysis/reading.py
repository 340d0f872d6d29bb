"""Reading finished or running studies back from the store, for any backend."""

from __future__ import annotations

from typing import Any

from tuneyard.analysis.leaderboard import best_value, study_objectives, to_frame, trial_row
from tuneyard.errors import TuneyardError
from tuneyard.records.attributes import CONFIG_ATTR, WARM
from tuneyard.space.file import space_of_study
from tuneyard.store.optuna_store import Store, maximizes, open_storage, study_names


def param_order(store: Store, rows: list[dict]) -> list[str]:
    """Hyperparameter names in the space's order when the space file is still there."""
    try:
        return [p.name for p in space_of_study(store.config, check_workload=False).params]
    except TuneyardError:
        names: list[str] = []
        for row in rows:
            names.extend(n for n in row["params"] if n not in names)
        return names


def study_rows(study: str, storage: str | None) -> tuple[Store, list[dict]]:
    """The store opened on a study and its leaderboard rows."""
    store = Store(storage, study, readonly=True)
    store.load()
    config = store.config
    return store, [trial_row(t, config) for t in store.trials()]


def study_frame(study: str, storage: str | None) -> Any:
    """The ranked leaderboard DataFrame of a stored study."""
    store, rows = study_rows(study, storage)
    config = store.config
    metric = config.get("metric", "value")
    maximize = maximizes(config)
    return to_frame(rows, param_order(store, rows), metric, maximize, study_objectives(config))


def studies_frame(storage_url: str | None) -> Any:
    """One row per study: space, backend, trial counts by status, best value."""
    import optuna  # heavy: optuna, pandas
    import pandas as pd

    storage = open_storage(storage_url, readonly=True)
    records = []
    for name in study_names(storage):
        study = optuna.load_study(study_name=name, storage=storage)
        config = study.user_attrs.get(CONFIG_ATTR, {})
        rows = [trial_row(t, config) for t in study.get_trials(deepcopy=False)]
        counts = {s: sum(r["status"] == s for r in rows)
                  for s in ("COMPLETE", "PRUNED", "FAIL", "RUNNING", WARM)}  # WARM: carried, not run
        maximize = maximizes(config)
        records.append({"study": name, "space": config.get("space"), "backend": config.get("backend"),
                        "objective": config.get("metric"), "best": best_value(rows, maximize),
                        "trials": len(rows), **{k.lower(): v for k, v in counts.items()}})
    return pd.DataFrame.from_records(records)
