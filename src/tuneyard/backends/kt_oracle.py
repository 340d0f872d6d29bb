"""Keras Tuner oracles driven by ask/tell: quiet, seeded, saved atomically, reconciled.

An oracle's state lives in `<study folder>/kt/oracle/`: `oracle.json` plus one
`trial_<id>/trial.json` per trial, written through a temporary file so a crash
never leaves half a file. The store is the record of what ran; on resume
`reconcile` brings the oracle level with it (see its docstring).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import math
import warnings
from pathlib import Path
from typing import Any

from tuneyard.backends import kt_adapter
from tuneyard.records.trial import TrialResult

PROJECT = "oracle"
TUNER_ID = "tuneyard"
NEVER_STOP = 10**9  # the runner stops on failures, not the oracle


@contextlib.contextmanager
def quiet():
    """Silence what Keras Tuner prints or logs: tuneyard's progress bar is the one display."""
    logger = logging.getLogger("keras_tuner")
    level = logger.level
    logger.setLevel(logging.ERROR)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            logger.setLevel(level)


class FirstConfigs:
    """An oracle whose first proposals are configurations the user gave (`--enqueue`).

    `populate_space` is the method Keras Tuner's oracles implement to propose (its documented
    extension point); this one hands out the queued configurations first, then the oracle's
    own. A queued one is recorded like any proposal: random never proposes it again, and
    bayes learns from its result."""

    first_configs: list
    first_served: set

    def populate_space(self, trial_id: str) -> dict:
        queue = getattr(self, "first_configs", None)
        if queue:
            self.first_served.add(trial_id)
            return {"status": "RUNNING", "values": dict(queue.pop(0))}
        return super().populate_space(trial_id)


def queue_first(oracle: Any, configs: list[dict]) -> int:
    """Queue `configs` as the oracle's next proposals, leaving out those it has run; how many."""
    tried = {_key(t.hyperparameters.values) for t in oracle.trials.values()}
    oracle.first_configs = [c for c in configs if _key(c) not in tried]
    oracle.first_served = set()
    return len(oracle.first_configs)


def served_first(oracle: Any) -> set:
    """Ids of the trials the oracle created from the queued configurations."""
    return getattr(oracle, "first_served", set())


def _key(values: dict) -> str:
    return json.dumps(values, sort_keys=True, default=str)


def make_oracle(kind: str, folder: Path, **kwargs: Any) -> Any:
    """A Keras Tuner oracle of `kind` (random, bayes, hyperband) keeping its files in `folder`."""
    # heavy: keras_tuner
    from keras_tuner import oracles

    base = {"random": oracles.RandomSearchOracle, "bayes": oracles.BayesianOptimizationOracle,
            "hyperband": oracles.HyperbandOracle}[kind]
    cls = type(f"Tuneyard{base.__name__}", (kt_adapter.AtomicFiles, FirstConfigs, base), {})
    if kind != "hyperband":
        kwargs.setdefault("max_trials", None)  # the runner keeps the budget; ids stay 0000, 0001
    with quiet():
        oracle = cls(max_retries_per_trial=0, max_consecutive_failed_trials=NEVER_STOP, **kwargs)
    oracle.verbose = 0
    kt_adapter.set_project_dir(oracle, folder, PROJECT)
    return oracle


def has_state(folder: Path) -> bool:
    """Whether an oracle was saved under `folder`."""
    return (Path(folder) / PROJECT / "oracle.json").is_file()


def outcome(result: TrialResult, metric: str) -> tuple[str, float | None]:
    """The Keras Tuner status and objective of a tuneyard result."""
    if result.ok:
        return "COMPLETED", float(result.value)
    values = [v for v in result.history.get(metric, []) if v is not None and math.isfinite(v)]
    if result.status == "PRUNED" and values:
        return "COMPLETED", float(values[-1])  # a pruned trial is scored by where it stopped
    return "FAILED", None


def row_outcome(row: dict) -> tuple[str, float | None]:
    """The Keras Tuner status and objective of a leaderboard row (used on resume)."""
    value = row.get("value")
    if row["status"] == "COMPLETE" and value is not None and math.isfinite(value):
        return "COMPLETED", float(value)
    if row["status"] == "PRUNED" and row.get("last_value") is not None:
        return "COMPLETED", float(row["last_value"])
    return "FAILED", None


def finish(oracle: Any, trial_id: str, status: str, value: float | None, metric: str) -> None:
    """End a trial of the oracle with its status and objective (update_trial + end_trial)."""
    trial = oracle.trials[trial_id]
    with quiet():
        if status == "COMPLETED":
            oracle.update_trial(trial_id, {metric: value}, step=0)
        else:
            trial.message = "failed in tuneyard"
        trial.status = status
        oracle.end_trial(trial)


def reconcile(oracle: Any, done_by_id: dict[str, dict], metric: str) -> dict[str, int]:
    """Bring a reloaded oracle level with the store's finished trials.

    The runner records a trial in the store before telling the backend, so a
    crash can leave a trial the store holds as finished while the oracle
    still has it running: it is ended with the stored result, not re-run. A
    trial the oracle started that the store does not hold as finished was cut
    off (Ctrl-C, a killed process): it is queued to run again with the same
    values, so no trial is lost and none is counted twice.
    """
    counts = {"replayed": 0, "requeued": 0}
    running = [t for t in oracle.trials.values() if t.status == "RUNNING"]
    queued = kt_adapter.retry_queue(oracle)
    running += [oracle.trials[i] for i in queued if oracle.trials[i] not in running]
    for trial in running:
        row = done_by_id.get(trial.trial_id)
        if row is not None:
            kt_adapter.unqueue(oracle, trial.trial_id)
            if trial.trial_id not in oracle.start_order:
                oracle.start_order.append(trial.trial_id)
            status, value = row_outcome(row)
            finish(oracle, trial.trial_id, status, value, metric)
            counts["replayed"] += 1
        elif trial.trial_id not in queued:
            kt_adapter.requeue(oracle, trial.trial_id)
            counts["requeued"] += 1
    return counts


def adopt(oracle: Any, rows: list[dict], metric: str) -> int:
    """Add the store's finished rows to a fresh oracle as ended trials.

    Used when the oracle's files are gone but the store has trials: a random
    oracle then does not propose them again and a Bayesian one learns from
    them, instead of starting blind.
    """
    # heavy: keras_tuner
    from keras_tuner.engine import trial as trial_module

    for row in rows:
        hps = oracle.hyperparameters.copy()
        hps.values = dict(row["params"])
        trial_id = f"{len(oracle.trials):04d}"
        trial = trial_module.Trial(hyperparameters=hps, trial_id=trial_id, status="RUNNING")
        oracle.trials[trial_id] = trial
        oracle.start_order.append(trial_id)
        kt_adapter.record_values(oracle, trial)
        status, value = row_outcome(row)
        finish(oracle, trial_id, status, value, metric)
    return len(rows)
