"""MLflow: the study as a parent run, each trial as a nested child run.

The experiment is the study's name (or MLFLOW_EXPERIMENT_NAME). The parent run carries the
study's settings and, at the end, its best value and trial; it is found again when the
study resumes (its id is stored on the study), so one study is one parent run. A child
run per trial, named trial-N: its parameters, each epoch's logs (step = epoch), its
`best_*` values, a `state` tag (the leaderboard's status), its error and
diagnosis, and the MLflow status FINISHED (completed), KILLED (pruned, or cut off: it runs
again) or FAILED. The kept best model (best.keras) is logged as the best trial's artifact
`model/best.keras` when the sweep ends.

Written with `MlflowClient` and explicit run ids, never MLflow's active run: trials run
side by side (`--workers N`) and a notebook's own active run is left alone. Imported only
when a sweep asks for MLflow (the import takes seconds).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.tracking import MlflowClient

from tuneyard.engine.tracking import ENDED, FAILED, sqlite_file
from tuneyard.errors import TuneyardError
from tuneyard.records.attributes import INTERRUPTED, MLFLOW_RUNS
from tuneyard.records.trial import FAIL
from tuneyard.store.urls import mask_secrets

_STATUS = {ENDED: RunStatus.to_string(RunStatus.FINISHED), FAILED: RunStatus.to_string(RunStatus.FAILED)}
KILLED = RunStatus.to_string(RunStatus.KILLED)
# The study's settings logged as the parent run's parameters (fixed for a study).
STUDY_PARAMS = ("space", "workload", "backend", "seed", "metric", "direction", "epochs", "subset",
                "prune", "precision", "max_epochs", "factor")


class MlflowSink:
    """Writes a sweep's study and trials to the MLflow tracking store at `uri`."""

    name = "MLflow"

    def __init__(self, uri: str, study: str):
        self.uri, self.study = uri, study
        self.shown = mask_secrets(uri)
        self.client: Any = None
        self.experiment = ""
        self.parent: str | None = None
        self.runs: dict[int, str] = {}  # trial number -> its child run, while it runs
        self.ended: dict[int, str] = {}  # trial number -> its child run, once ended
        self.metric = ""
        self.shared = False

    def connect(self, new_study: bool, shared: bool = False) -> None:
        """Open the tracking store and the experiment: a URI that fails is one line, at once."""
        self.shared = shared
        name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or self.study
        try:
            with _connecting():
                self.client = MlflowClient(tracking_uri=self.uri)
                found = self.client.get_experiment_by_name(name)
                if found is None:
                    self.experiment = self.client.create_experiment(
                        name, artifact_location=_artifact_location(self.uri, name))
                else:
                    self.experiment = found.experiment_id
        except Exception as exc:  # MLflow's errors are many kinds; each is one line here
            raise TuneyardError(f"MLflow tracking URI {self.shown} cannot be used: "
                                f"{_reason(exc, self.uri)}") from None
        if found is not None and found.lifecycle_stage == "deleted":
            raise TuneyardError(f"the MLflow experiment {name} is deleted in {self.shown}: restore "
                                f"it (mlflow experiments restore), or set MLFLOW_EXPERIMENT_NAME")

    def study_opened(self, study: Any, space: Any, config: dict, budget: int) -> None:
        """Start the study's parent run, or take up the one an earlier run of it started."""
        self.metric = space.metric
        runs = dict(study.user_attrs.get(MLFLOW_RUNS) or {})
        self.parent = self._earlier_run(runs.get(self.shown))
        if self.parent is None:
            run = self.client.create_run(self.experiment, run_name=self.study, tags={
                "tuneyard.study": self.study, "tuneyard.space": space.name,
                "tuneyard.backend": str(config.get("backend"))})
            self.parent = run.info.run_id
            params = [Param(k, str(config[k])) for k in STUDY_PARAMS if config.get(k) is not None]
            self.client.log_batch(self.parent, params=params)
            study.set_user_attr(MLFLOW_RUNS, {**runs, self.shown: self.parent})
        else:
            self.client.update_run(self.parent, status="RUNNING")
            if not self.shared:  # runs an earlier, killed process left open: they run again
                self._close_left_open()
        self.client.set_tag(self.parent, "tuneyard.budget", str(budget))

    def _earlier_run(self, run_id: str | None) -> str | None:
        if not run_id:
            return None
        try:
            run = self.client.get_run(run_id)
        except Exception:  # deleted from the tracking store since: a new parent run
            return None
        same = run.info.experiment_id == self.experiment and run.info.lifecycle_stage == "active"
        return run_id if same else None

    def _close_left_open(self) -> None:
        left = self.client.search_runs(
            [self.experiment], f"tags.mlflow.parentRunId = '{self.parent}' and "
                               "attributes.status = 'RUNNING'")
        for run in left:  # the store records their trials so too (Sweep._fail_orphans)
            _interrupted(self.client, run.info.run_id, "the process that ran it is gone")

    def trial_started(self, number: int, params: dict, epochs: int) -> None:
        """A child run for the trial, with its parameters."""
        run = self.client.create_run(self.experiment, run_name=f"trial-{number}", tags={
            "mlflow.parentRunId": self.parent, "tuneyard.study": self.study,
            "tuneyard.trial": str(number), "tuneyard.epochs": str(epochs)})
        self.runs[number] = run.info.run_id
        self.client.log_batch(run.info.run_id,
                              params=[Param(k, str(v)) for k, v in params.items()])

    def epoch(self, number: int, step: int, logs: dict) -> None:
        """One epoch's logs, step = epoch."""
        if number in self.runs and logs:
            now = int(time.time() * 1000)
            self.client.log_batch(self.runs[number],
                                  metrics=[Metric(k, v, now, step) for k, v in logs.items()])

    def trial_ended(self, number: int, result: Any, state: str, how: str, last: int,
                    diagnosis: str) -> None:
        """The trial's best values, state, error and diagnosis; its run ends."""
        run_id = self.runs.pop(number, None)
        if run_id is None:
            return
        now = int(time.time() * 1000)
        best = {f"best_{k}": v for k, v in (result.metrics or {}).items() if k.startswith("val_")}
        if result.ok:
            best[f"best_{self.metric}"] = result.value
        values = {**best, "epochs_run": result.epochs_run, "seconds": result.seconds}
        tags = {"state": state, "tuneyard.error": (result.error or "")[:500],
                "tuneyard.diagnosis": diagnosis}
        self.client.log_batch(run_id, metrics=[Metric(k, float(v), now, max(last, 1))
                                               for k, v in values.items()],
                              tags=[RunTag(k, v) for k, v in tags.items() if v])
        self.client.set_terminated(run_id, _STATUS.get(how, KILLED))
        self.ended[number] = run_id

    def close(self, how: str, best: dict | None, best_value: float | None) -> None:
        """End the runs still open, log the kept best model on its trial's run, end the parent."""
        for number in list(self.runs):  # none, unless the store refused to record them
            _interrupted(self.client, self.runs.pop(number), "the sweep ended first")
        if self.parent is None:
            return
        try:
            if best is not None:
                self._log_best(best)
            if best_value is not None:
                self.client.log_metric(self.parent, f"best_{self.metric}", best_value)
        finally:
            self.client.set_terminated(self.parent, _STATUS.get(how, KILLED))

    def _log_best(self, best: dict) -> None:
        """best.keras as the best trial's artifact model/best.keras (once per model)."""
        trial = int(best["trial"])
        self.client.set_tag(self.parent, "tuneyard.best_trial", str(trial))
        run_id = self.ended.get(trial) or self._trial_run(trial)
        if run_id is None or not Path(best["path"]).is_file():
            return
        if any(f.path == "model/best.keras" for f in self.client.list_artifacts(run_id, "model")):
            return  # logged by an earlier run of the study
        self.client.log_artifact(run_id, best["path"], "model")

    def _trial_run(self, trial: int) -> str | None:
        """The child run of a trial an earlier run of the study ran."""
        found = self.client.search_runs(
            [self.experiment], f"tags.mlflow.parentRunId = '{self.parent}' and "
                               f"tags.`tuneyard.trial` = '{trial}'", max_results=1)
        return found[0].info.run_id if found else None


def _interrupted(client: Any, run_id: str, why: str) -> None:
    """End a child run whose trial was cut off (it runs again), as the store records it."""
    client.set_tag(run_id, "state", FAIL)
    client.set_tag(run_id, "tuneyard.error", f"{INTERRUPTED} ({why})")
    client.set_terminated(run_id, KILLED)


@contextlib.contextmanager
def _connecting() -> Iterator[None]:
    """Quiet and quick while the store is reached: MLflow's INFO lines (a new database's
    tables) stay off the console, and a server that does not answer fails in seconds, not
    after minutes of retries (later requests keep MLflow's own retries)."""
    loggers = [logging.getLogger(n) for n in ("mlflow", "alembic")]
    levels = [lg.level for lg in loggers]
    saved = {k: os.environ.get(k) for k in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES",
                                            "MLFLOW_HTTP_REQUEST_TIMEOUT")}
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _artifact_location(uri: str, experiment: str) -> str | None:
    """A local SQLite store's artifacts go beside its file (mlartifacts/<experiment>), not
    into whatever folder the sweep ran from; a server decides for itself."""
    path = sqlite_file(uri)
    if path is None:
        return None
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in experiment)
    return (path.absolute().parent / "mlartifacts" / safe).as_uri()


# What MLflow's long messages mean, in the words the user needs.
_KNOWN = (("maintenance mode", "MLflow no longer writes a folder of files (./mlruns)"),
          ("unsupported URI", "MLflow knows no store of that kind"),
          ("Max retries exceeded", "no tracking server answers there"),
          ("Connection refused", "no tracking server answers there"))


def _reason(exc: Exception, uri: str) -> str:
    """MLflow's error as one short line, with the way on."""
    text = str(exc).strip() or type(exc).__name__
    known = next((meaning for words, meaning in _KNOWN if words in text), None)
    if known and "server" in known:
        return f"{known}; start it (mlflow server) or check the address"
    if known:
        return f"{known}; give a database URI such as sqlite:///mlflow.db, or a server's http://host:5000"
    return mask_secrets(text.splitlines()[0].split(". ")[0])[:300]
