"""The store: Optuna storage as the one record of every trial of every backend.

One Optuna study per sweep, one Optuna trial per trial whichever backend
proposed it. Every trial is in the store, RUNNING, from the moment it is asked
(`study.ask()` for Optuna's proposals, `start_trial` for the grid's and Keras
Tuner's) and is finished in one commit, as `study.tell` would leave it; its history,
seconds, seeds, error and library versions ride along as user attributes.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import math
import os
import sqlite3
import time
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from tuneyard.errors import StoreError, named, option
from tuneyard.keras_backend import keras_backend
from tuneyard.records.attributes import (
    CONFIG_ATTR,
    DEVICE,
    DEVICE_USED,
    DIAGNOSIS_ATTR,
    HISTORY_ATTR,
    PRECISION,
    RESULT_ATTR,
    RUNNER,
    this_runner,
)
from tuneyard.records.trial import Proposal, TrialResult
from tuneyard.space.core import MEASURES, Space
from tuneyard.space.optuna import distribution
from tuneyard.store.faults import (
    check_sqlite_file,
    check_writable_folder,
    lock_seconds,
    storage_boundary,
    storage_error,
)
from tuneyard.store.optuna_adapter import (
    create_running_trial,
    finish_trial,
    frozen_of,
    reported_steps,
    storage_of,
    study_id_of,
    trial_id_of,
)
from tuneyard.store.paths import (
    check_not_store_file,
    check_study_name,
    remove_inside_results,
    results_dir,
    study_dir,
)
from tuneyard.store.study_changes import SETTINGS, refusal
from tuneyard.store.targets import check_store_folder
from tuneyard.store.urls import mask_secrets

# A runner writes its config just after creating the study: one started at the same moment
# may find the study before the config, so it waits this long before calling it foreign.
CONFIG_WAIT_SECONDS = 5.0
# The newest revision of Optuna's storage schema, for the Optuna versions pyproject allows
# (tests/test_store_schema.py checks it against Optuna's `get_head_version()`).
SCHEMA_HEAD = "v3.2.0.a"


class NoStore(StoreError):
    """A read command found no store at all (nothing was created)."""


def default_storage() -> str:
    """The embedded default store: SQLite under the results folder (not created here)."""
    return f"sqlite:///{results_dir() / 'tuneyard.db'}"


def sqlite_path(url: str) -> Path | None:
    """The file of a sqlite:/// URL, or None for other storages and in-memory SQLite."""
    if not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///")
    return None if path in ("", ":memory:") or path.startswith("file:") else Path(path)


def open_storage(url: str | None, readonly: bool = False, heartbeats: bool = False) -> Any:
    """An Optuna storage for a URL (the default SQLite file when None).

    A writer's SQLite file is checked first (a database, writable, its folder
    writable) so a fault is one line before any training. A reader creates
    nothing: a missing file is NoStore, and a read-only one is opened read-only.
    """
    # heavy: optuna
    import optuna

    # Optuna logs a line per trial and per study; the CLI's progress bar is the one display.
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = url or default_storage()
    path = sqlite_path(url)
    if path is not None and readonly:
        return _open_sqlite_for_reading(url, path)
    if path is not None:
        check_store_folder(path.parent)
        check_writable_folder(path.parent, "the results folder")
        check_sqlite_file(path, writable=True)
    try:
        if url.startswith("sqlite"):
            _prepare_sqlite(url)
        if is_server_storage(url):
            return _created_once(lambda: rdb_storage(_driver_url(url), **_heartbeat_kwargs()))
        if url.startswith("sqlite"):
            beats = _heartbeat_kwargs() if heartbeats else {}  # a shared study on a SQLite file
            return _created_once(lambda: rdb_storage(url, engine_kwargs=_engine_kwargs(url), **beats))
        return optuna.storages.get_storage(url)
    except Exception as exc:  # a bad URL or an unreachable server is a user problem
        shown = mask_secrets(url)  # never the password, on the console or in a log
        raise storage_error(exc, shown) or StoreError(
            f"cannot open storage {shown}: {mask_secrets(str(exc).splitlines()[0])}") from None


def rdb_storage(url: str, **kwargs: Any) -> Any:
    """`optuna.storages.RDBStorage(url, **kwargs)`, its schema checked in one query.

    Optuna's own check loads its ten schema migration scripts to learn the newest revision
    at every open: 21 ms of CPU in a warm process, against 3-5 ms for the whole open without
    it (measured 2026-12-06; more when a large heap makes the loads' collections slow). A
    store at SCHEMA_HEAD, the revision every Optuna version that
    pyproject allows writes (a new store included: Optuna stamps it so, or _stamp_if_new
    for a SQLite file), needs no more than
    reading its own revision. Any other store is opened again with Optuna's check, which
    says what to do (`optuna storage upgrade`) if it cannot be used.
    """
    # heavy: optuna
    import optuna

    storage = optuna.storages.RDBStorage(url, skip_compatibility_check=True, **kwargs)
    if storage.get_current_version() == SCHEMA_HEAD:
        return storage
    storage.engine.dispose()
    return optuna.storages.RDBStorage(url, **kwargs)


def _open_sqlite_for_reading(url: str, path: Path) -> Any:
    """Open an existing SQLite store without writing to it, whatever its permissions."""
    if not path.exists():
        raise NoStore(f"no studies in {path}: there is no store there yet; start one with "
                      "`tune run --space NAME`")
    check_sqlite_file(path, writable=False)
    writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    # Without write access: while a writer is at work its WAL holds the newest trials, and
    # mode=ro reads them through the -wal and -shm files it left. With no WAL, immutable=1:
    # SQLite then makes no -shm file, which would get the database's read-only mode and
    # lock out the next writer.
    live = path.with_name(path.name + "-wal").exists() and path.with_name(path.name + "-shm").exists()
    modes = ["", "mode=ro&immutable=1"] if writable else (
        ["mode=ro", "mode=ro&immutable=1"] if live else ["mode=ro&immutable=1"])
    for mode in modes:
        target = url if not mode else f"sqlite:///file:{path.resolve()}?{mode}&uri=true"
        try:
            storage = rdb_storage(target, engine_kwargs=_engine_kwargs(url))
            storage.get_all_studies()
            return storage
        except Exception as exc:
            last = exc
    raise storage_error(last, mask_secrets(url)) or StoreError(
        f"cannot read storage {mask_secrets(url)}: {mask_secrets(str(last).splitlines()[0])}") from None


def is_server_storage(url: str | None) -> bool:
    """True for a database server (PostgreSQL, MySQL) that many machines can share."""
    return bool(url) and url.startswith(("postgresql", "mysql"))


def _created_once(open_rdb: Any) -> Any:
    """Open an RDBStorage, retried: processes starting together on an empty database
    (workers on a server, two `tune run`s on one SQLite file) race to create Optuna's
    tables, and all but one fail once."""
    race_signs = ("duplicate key", "already exists", "UNIQUE constraint failed",
                  "database is locked")
    for attempt in range(4):
        try:
            return open_rdb()
        except Exception as exc:
            if not any(sign in str(exc) for sign in race_signs) or attempt == 3:
                raise
            time.sleep(0.5 + attempt)


def _driver_url(url: str) -> str:
    """postgresql:// through psycopg2 when psycopg 3 (SQLAlchemy 2.1's default) is absent."""
    if url.startswith("postgresql://") and importlib.util.find_spec("psycopg") is None:
        return "postgresql+psycopg2://" + url.removeprefix("postgresql://")
    return url


def _heartbeat_kwargs() -> dict:
    """Heartbeats on server storages: a killed worker's trial is failed and queued again.

    Seconds from $TUNEYARD_HEARTBEAT (default 60) and $TUNEYARD_GRACE (default 3x the
    heartbeat); retries from $TUNEYARD_MAX_RETRY (default 3).
    """
    # heavy: optuna
    import optuna

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    # Optuna expects heartbeats with optimize(); ours are sent by the sweep (claims.py).
    warnings.filterwarnings("ignore", message="Heartbeat of storage")
    interval = int(os.environ.get("TUNEYARD_HEARTBEAT") or 60)
    grace = int(os.environ.get("TUNEYARD_GRACE") or 3 * interval)
    retries = int(os.environ.get("TUNEYARD_MAX_RETRY") or 3)
    return {"heartbeat_interval": interval, "grace_period": grace,
            "heartbeat_stale_trial_callback":
                optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=retries)}


def _engine_kwargs(url: str) -> dict:
    # A second process on the same SQLite file waits for the lock instead of failing.
    return {"connect_args": {"timeout": lock_seconds()}} if url.startswith("sqlite") else {}


def _prepare_sqlite(url: str) -> None:
    """Switch the file to write-ahead logging, once (it stays set in the file); stamp a new
    one's schema revision (_stamp_if_new).

    WAL lets readers (`tune leaderboard` during a sweep) work beside the writer,
    and a commit costs an append instead of rewriting journal pages: several
    times cheaper per trial. A crash of the process loses nothing committed.
    """
    path = url.removeprefix("sqlite:///")
    if path in ("", ":memory:"):
        return
    # Changing the journal mode fails at once ("database is locked") while another
    # process is opening the same new file, without waiting on the busy timeout.
    for attempt in range(40):
        connection = sqlite3.connect(path, timeout=lock_seconds(), isolation_level=None)
        with contextlib.closing(connection):
            try:
                if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    connection.execute("PRAGMA journal_mode=WAL")
                _stamp_if_new(connection)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 39:
                    raise
        time.sleep(0.25)


def _stamp_if_new(connection: sqlite3.Connection) -> None:
    """Stamp a store with no tables yet at SCHEMA_HEAD, as Optuna stamps a new store.

    Optuna creates a new store's tables at its newest schema, then stamps that revision
    through alembic, which loads every migration script to learn which it is: 0.18-0.20 s
    of CPU for each new store (measured 2026-12-06), as much as 8-20 ms a trial of a
    10-25-trial study. Stamped first, Optuna finds the store initialised and only creates
    the tables (tests/test_store_schema.py compares the two stores). A store with any
    table (Optuna's, of any revision) is left to Optuna.
    """
    if _tables(connection):  # the usual case: no lock taken on a store others may be writing
        return
    connection.execute("BEGIN IMMEDIATE")  # no other process creates it meanwhile
    try:
        if not _tables(connection):
            # alembic's own table, word for word as alembic creates it.
            connection.execute("CREATE TABLE alembic_version (\n\tversion_num VARCHAR(32) NOT "
                               "NULL, \n\tCONSTRAINT alembic_version_pkc PRIMARY KEY "
                               "(version_num)\n)")
            connection.execute("INSERT INTO alembic_version (version_num) VALUES (?)",
                               (SCHEMA_HEAD,))
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


def _tables(connection: sqlite3.Connection) -> int:
    return connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]


@functools.cache
def library_versions() -> dict:
    """Versions of the libraries that decide a result, and the Keras backend that trained it."""
    out = {"keras-backend": keras_backend()[0]}
    for name in ("tensorflow-cpu", "tensorflow", "jax", "jaxlib", "torch", "keras", "keras-tuner",
                 "optuna", "numpy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


class Store:
    """One study in an Optuna storage, opened for a sweep or for reading."""

    def __init__(self, storage_url: str | None, study_name: str, readonly: bool = False,
                 heartbeats: bool = False, existing: bool = False):
        """`existing`: a command that writes to a study it did not make (evaluate, a report's
        scores, a worker joining): a missing SQLite file is NoStore, never created."""
        self.name = check_study_name(study_name)
        self.url = storage_url or default_storage()
        path = sqlite_path(self.url)
        check_not_store_file(self.name, path)  # before the file is created
        if existing and path is not None and not path.exists():
            raise NoStore(f"no study '{study_name}': no studies in {path}: there is no store "
                          "there yet; run `tune studies` from the folder of the study's "
                          f"results, or pass {named('storage')}")
        try:
            self.storage = open_storage(self.url, readonly=readonly, heartbeats=heartbeats)
        except NoStore as exc:
            raise NoStore(f"no study '{study_name}': {exc}") from None
        self.study: Any = None

    def close(self) -> None:
        """Give the storage's database connections back (a server allows only so many)."""
        engine = getattr(self.storage, "engine", None)
        if engine is not None:
            engine.dispose()

    @property
    def shown_url(self) -> str:
        """The storage URL as tuneyard prints it: the password masked."""
        return mask_secrets(self.url)

    def guard(self) -> Any:
        """A block whose storage faults become one-line StoreErrors naming this store."""
        return storage_boundary(self.shown_url)

    def exists(self) -> bool:
        """Whether the study is already in the storage."""
        with self.guard():
            return self.name in study_names(self.storage)

    def open_for_sweep(self, space: Space, config: dict, sampler: Any, fresh: bool,
                       pruner: Any = None) -> Any:
        """Create or resume the study; refuse one made for another space or backend."""
        # heavy: optuna
        import optuna

        if self.exists():
            self.check_config(config)
            if fresh:
                self.delete()
        with self.guard():
            self.study = optuna.create_study(
                storage=self.storage, study_name=self.name, sampler=sampler, pruner=pruner,
                directions=directions(space), load_if_exists=True,
            )
            if CONFIG_ATTR not in self.study.user_attrs:
                self.study.set_user_attr(CONFIG_ATTR, {**config, "versions": library_versions()})
            if self.study.metric_names is None:  # optuna-dashboard's axis: "val_mse", not "Objective 0"
                set_metric_name(self.study, space)
        return self.study

    def delete(self) -> None:
        """Delete the study from the storage and its folder (only ever inside results/)."""
        # heavy: optuna
        import optuna

        remove_inside_results(study_dir(self.name))
        with self.guard():
            optuna.delete_study(study_name=self.name, storage=self.storage)

    def _stored_config(self) -> dict | None:
        """The tuneyard config of the existing study; None if it has none after a short wait."""
        # heavy: optuna
        import optuna

        deadline = time.monotonic() + CONFIG_WAIT_SECONDS
        while True:
            with self.guard():
                stored = optuna.load_study(study_name=self.name, storage=self.storage).user_attrs
            if CONFIG_ATTR in stored or time.monotonic() >= deadline:
                return stored.get(CONFIG_ATTR)
            time.sleep(0.1)

    def check_config(self, config: dict, api: bool = False) -> None:
        """Refuse to resume a study made for another space, backend or setting, naming
        what changed and the ways on (`api`: in `tuneyard.search`'s words)."""
        if not self.exists():
            return
        old = self._stored_config()
        study = option("study", api)
        if old is None:
            raise StoreError(f"study '{self.name}' was not made by tuneyard; choose another {study} name")
        for key in ("space", "backend"):
            if old.get(key) != config[key]:
                raise StoreError(
                    f"study '{self.name}' belongs to {key} '{old.get(key)}', not '{config[key]}'; "
                    f"choose another {study} name"
                )
        if config.get("fresh"):
            return
        if any(old.get(k) != config.get(k) for k in ("fingerprint", *SETTINGS)):
            raise StoreError(refusal(self.name, old, config, api))

    def load(self, sampler: Any = None, pruner: Any = None) -> Any:
        """Open an existing study (to read it, or to join it with a sampler and pruner);
        StoreError listing the others if absent."""
        # heavy: optuna
        import optuna

        if not self.exists():
            names = ", ".join(study_names(self.storage)) or "none yet"
            raise StoreError(f"no study '{self.name}' in {self.shown_url}; studies there: {names}")
        with self.guard():
            self.study = optuna.load_study(study_name=self.name, storage=self.storage,
                                           sampler=sampler, pruner=pruner)
        return self.study

    def create(self, space: Space, config: dict, sampler: Any, pruner: Any) -> bool:
        """Create the study with its config, atomically: False when it exists already (the
        unique name decides which of many runners starting at once creates it)."""
        # heavy: optuna
        import optuna

        with self.guard():
            try:
                self.study = optuna.create_study(
                    storage=self.storage, study_name=self.name, directions=directions(space),
                    sampler=sampler, pruner=pruner)
            except optuna.exceptions.DuplicatedStudyError:
                return False
            set_metric_name(self.study, space)
            self.study.set_user_attr(CONFIG_ATTR, {**config, "versions": library_versions()})
        return True

    def set_budget(self, budget: int) -> None:
        """Change the budget recorded in the study's config (every runner reads it)."""
        with self.guard():
            self.study.set_user_attr(CONFIG_ATTR, {**self.config, "budget": budget})

    @property
    def config(self) -> dict:
        """What tuneyard recorded about the study when it was created."""
        return self.study.user_attrs.get(CONFIG_ATTR, {})

    def trials(self, states: tuple[str, ...] | None = None) -> list:
        """The study's trials (FrozenTrial), optionally only those in `states`."""
        # heavy: optuna
        from optuna.trial import TrialState

        wanted = tuple(TrialState[s] for s in states) if states else None
        with self.guard():
            return self.study.get_trials(deepcopy=False, states=wanted)

    def start_trial(self, space: Space, params: dict) -> Any:
        """The RUNNING trial of a point a backend proposed without Optuna (grid, Keras Tuner).

        One insert writes it with its params, their distributions and the runner that
        asked, as `study.ask()` does for Optuna's own proposals: from then on every trial
        is claimed, counted, beaten and told the same way, whichever backend proposed it.
        """
        # heavy: optuna
        import optuna

        dists = {p.name: distribution(p) for p in space.params if p.name in params}
        with self.guard():
            trial_id = create_running_trial(storage_of(self.study), study_id_of(self.study),
                                            params, dists, {RUNNER: this_runner()})
            return optuna.trial.Trial(self.study, trial_id)

    def record(self, space: Space, backend: str, proposal: Proposal, result: TrialResult,
               diagnosis: tuple[str, dict], reported_here: bool = False) -> Any:
        """Write one finished trial with its diagnosis (label, details: judged by the
        caller); returns its FrozenTrial.

        `reported_here`: every report to the trial (its pruning callback's) went through
        `proposal.trial` in this process, none through a worker process's own Trial; the
        trial as stored is then what `proposal.trial` holds, and is not read again.
        """
        attrs = result_attrs(backend, proposal, result, diagnosis)
        with self.guard():
            return self._tell(proposal, attrs, result, space, reported_here)

    def fail_orphan(self, trial: Any, error: str) -> None:
        """Record a RUNNING trial whose process died as FAIL with `error` (it will run again)."""
        # heavy: optuna
        import optuna
        from optuna.trial import TrialState

        storage = storage_of(self.study)
        with self.guard():
            try:
                storage.set_trial_user_attr(trial_id_of(trial), RESULT_ATTR, {"error": error})
                storage.set_trial_state_values(trial_id_of(trial), TrialState.FAIL)
            except optuna.exceptions.UpdateFinishedTrialError:
                pass  # it ended meanwhile: nothing to repair

    def _tell(self, proposal: Proposal, attrs: dict, result: TrialResult, space: Space,
              reported_here: bool) -> Any:
        """Finish the trial in one commit: its attributes, learning curve, value and state.

        What `study.tell` does, in one transaction instead of one commit per attribute,
        per epoch and for the state: the trial as stored is handed to the sampler's
        `after_trial`, a pruned trial takes its last intermediate value as its value, and
        a trial another worker finished meanwhile is left as it is (finish_trial finds it
        so, under the row's lock; the read that would otherwise find it first costs about 5
        ms a trial).
        """
        # heavy: optuna
        import optuna
        from optuna.trial import TrialState

        storage, trial_id = storage_of(self.study), trial_id_of(proposal.trial)
        running = frozen_of(proposal.trial) if reported_here else storage.get_trial(trial_id)
        if running.state.is_finished():  # failed by another worker (its heartbeat was late)
            return running
        # The epochs the pruning callback did not report (all of them without --prune),
        # so every trial of every backend has its learning curve in the dashboard.
        reported = reported_steps(proposal.trial)
        steps = {k: v for k, v in objective_steps(proposal, result, space.metric).items()
                 if k not in reported}
        state = TrialState[result.status]
        if space.multi:  # no intermediate value stands for several objectives: never pruned
            values = told_values(state, objective_values(space, result))
        else:
            value = told_value(state, result.value, {**running.intermediate_values, **steps})
            values = None if value is None else [value]
        self.study.sampler.after_trial(self.study, running, state, values)
        try:
            return finish_trial(storage, running, attrs, steps, state, values)
        except optuna.exceptions.UpdateFinishedTrialError:
            # Another worker failed it meanwhile and queued a retry, which runs instead: the
            # stored trial stays as it is.
            return storage.get_trial(trial_id)


def told_value(state: Any, value: float | None, curve: dict[int, float]) -> float | None:
    """The value a trial is told with, as `study.tell` decides it: a COMPLETE trial's own
    (a ValueError if it is not a number), none for FAIL, and a PRUNED trial's last
    intermediate value unless that is NaN."""
    if state.name == "COMPLETE":
        if not isinstance(value, int | float) or math.isnan(value):
            raise ValueError(f"the value {value!r} of a complete trial is not a number")
        return float(value)
    if state.name == "PRUNED" and curve:
        last = curve[max(curve)]
        return None if math.isnan(last) else float(last)
    return None


def told_values(state: Any, values: list[float | None]) -> list[float] | None:
    """The values a trial of several objectives is told with: every objective's for a
    COMPLETE trial (a ValueError if one is not a number), none otherwise."""
    if state.name != "COMPLETE":
        return None
    for value in values:
        if not isinstance(value, int | float) or math.isnan(value):
            raise ValueError(f"the values {values!r} of a complete trial are not all numbers")
    return [float(v) for v in values]


def objective_values(space: Space, result: TrialResult) -> list[float | None]:
    """A result's value of each objective of the space: its validation metrics and what
    was measured of its model (None where it has none)."""
    return [(result.measures if o.measured else result.metrics).get(o.metric)
            for o in space.all_objectives]


def missing_objectives(space: Space, result: TrialResult) -> str | None:
    """Why a COMPLETE result of a study of several objectives cannot be told (an objective
    neither reported nor measured), else None."""
    if not space.multi or not result.ok:
        return None
    for objective, value in zip(space.all_objectives, objective_values(space, result), strict=True):
        if not isinstance(value, int | float) or not math.isfinite(value):
            how = "measured" if objective.measured else "reported"
            return f"objective {objective.metric} was not {how} (got {value!r})"
    return None


def directions(space: Space) -> list[str]:
    """The study's directions, one per objective."""
    return [o.direction for o in space.all_objectives]


def set_metric_name(study: Any, space: Space) -> None:
    """Name the study's objectives, so optuna-dashboard and Optuna's plots say what they are."""
    # heavy: optuna
    import optuna

    with warnings.catch_warnings():  # experimental since Optuna 3.2, stable in use
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names([o.metric for o in space.all_objectives])


def maximizes(config: dict) -> bool:
    """Whether a study's stored config says a larger objective is better (the default)."""
    return config.get("direction", "maximize") == "maximize"


def result_attrs(backend: str, proposal: Proposal, result: TrialResult,
                 diagnosis: tuple[str, dict]) -> dict:
    """The user attributes stored with a trial.

    Flat ones, sortable in optuna-dashboard and `trials_dataframe()`: backend, epochs
    (trained), seconds, seed (of its first execution), diagnosis (the label; its details
    go inside `result`), the device it was given and the one it ran on, the precision policy
    it trained in; the nested `result`
    keeps the rest.
    """
    worker = {"worker": result.worker} if result.worker else {}
    device = {k: v for k, v in ((DEVICE, result.device), (DEVICE_USED, result.device_used),
                                (PRECISION, result.precision)) if v}
    attrs = {
        **worker,
        **device,
        "backend": backend,
        "epochs": result.epochs_run,
        "seconds": round(result.seconds, 3),
        "seed": result.seeds[0] if result.seeds else None,
        HISTORY_ATTR: result.history,
        RESULT_ATTR: {
            "metrics": result.metrics, "epochs_run": result.epochs_run,
            "seconds": round(result.seconds, 3), "seeds": result.seeds,
            "error": mask_secrets(result.error) if result.error else result.error,
            "epochs": proposal.epochs, "initial_epoch": proposal.initial_epoch,
            "extra": proposal.extra, "versions": library_versions(),
        },
    }
    attrs[DIAGNOSIS_ATTR], attrs[RESULT_ATTR][DIAGNOSIS_ATTR] = diagnosis
    # Flat, so optuna-dashboard sorts by them: params, saved_bytes, latency_ms.
    attrs.update((name, result.measures[name]) for name in MEASURES if name in result.measures)
    return attrs


def objective_steps(proposal: Proposal, result: TrialResult, metric: str) -> dict[int, float]:
    """The objective's value at each epoch the trial trained (finite ones), by epoch index.

    Steps count from the warm start, as the pruning callback's do (Keras' epoch index).
    """
    curve = result.history.get(metric)
    if not isinstance(curve, list):
        return {}
    return {proposal.initial_epoch + i: float(v) for i, v in enumerate(curve)
            if isinstance(v, int | float) and math.isfinite(v)}


def study_names(storage: Any) -> list[str]:
    """Names of every study in a storage."""
    return sorted(s.study_name for s in storage.get_all_studies())

