"""Many workers, many machines, one study: Optuna's RDB storage on a server coordinates.

`tune run --storage postgresql://...` with grid, tpe or random creates the study (an
atomic create: the unique study name decides who is first), records its config and
budget, and for grid enqueues the points; it is then simply the first worker.
`tune worker` joins by name. Every worker runs the same loop: fail stale trials
(heartbeats), stop when the budget is claimed, `study.ask()` (waiting trials, i.e.
grid points and retries, are popped atomically), train, tell with the store's
attributes. No server of our own: the database is the coordinator.
"""

from __future__ import annotations

import os
import socket
import time
import zlib
from typing import Any

from tuneyard.backends import SHARED_BACKENDS
from tuneyard.engine.heartbeat import SURPLUS, Heartbeat, Tally, fail_stale, retry_later
from tuneyard.engine.proposal import FAIL, Proposal, TrialResult
from tuneyard.errors import StoreError
from tuneyard.store.best_model import candidate_path, keep_if_best
from tuneyard.store.faults import storage_boundary
from tuneyard.store.optuna_store import CONFIG_ATTR, Store, is_server_storage, library_versions, study_names

GRID_READY = "grid_ready"
POLL_SECONDS = 1.0


def shared_mode(storage: str | None, backend: str) -> bool:
    """Whether a sweep runs as a shared-study worker: an Optuna strategy on a server."""
    return backend in SHARED_BACKENDS and is_server_storage(storage)


def worker_command(study: str, storage: str) -> str:
    """The command that starts one more worker on another machine."""
    return f"tune worker --study {study} --storage {storage}"


def default_worker_id() -> int:
    """A worker id distinct per machine and process (seeds the worker's sampler)."""
    return zlib.crc32(f"{socket.gethostname()}:{os.getpid()}".encode()) or 1


def make_sampler(backend: str, seed: int, worker_id: int) -> Any:
    """The worker's sampler: constant-liar TPE or random, seeded by study seed and worker."""
    import numpy as np
    import optuna

    if worker_id:
        seed = int(np.random.SeedSequence([seed, worker_id]).generate_state(1)[0] >> 1)
    if backend == "tpe":
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    return optuna.samplers.RandomSampler(seed=seed)  # random; grid only pops its queue


def run_shared(sweep: Any, events: Any, worker_id: int = 0) -> Any:
    """`tune run` on a server storage: create or resume the study, then work on it."""
    o = sweep.options
    sweep.store = store = Store(o.storage, sweep.study_name)
    store.check_config(sweep.config())
    sweep.trainer = sweep.trainer or sweep._trainer()
    if o.fresh and store.exists():
        store.delete()
    if _create(sweep, events, worker_id):
        events.message(f"created shared study {sweep.study_name} ({sweep.budget} trials)")
    else:
        _resume(sweep, events)
    events.message(f"start more workers elsewhere with: {worker_command(sweep.study_name, store.url)}")
    return work(sweep, events)


def _create(sweep: Any, events: Any, worker_id: int) -> bool:
    """Create the study if nobody has; the creator records the config and the grid."""
    import optuna

    o, store = sweep.options, sweep.store
    try:
        store.study = optuna.create_study(
            storage=store.storage, study_name=sweep.study_name, direction=sweep.space.direction,
            sampler=make_sampler(o.backend, o.seed, worker_id), pruner=_pruner(sweep))
    except optuna.exceptions.DuplicatedStudyError:
        store.study = load_shared_study(sweep, worker_id)
        return False
    backend = None
    if o.backend == "grid":
        backend = sweep.backend_cls(sweep.space, seed=o.seed, budget=sweep.budget,
                                    workdir=sweep.folder, study=store.study)
        sweep.budget = min(sweep.budget, backend.grid.size)
    config = {**sweep.config(), "budget": sweep.budget, "versions": library_versions()}
    store.study.set_user_attr(CONFIG_ATTR, config)
    if backend is not None:
        events.message(backend.describe())
        for index in backend.order[: sweep.budget]:
            store.study.enqueue_trial(backend.grid.point(int(index)),
                                      user_attrs={"grid_index": int(index)})
        store.storage.set_study_system_attr(store.study._study_id, GRID_READY, True)
    return True


def _resume(sweep: Any, events: Any) -> None:
    config = wait_for_config(sweep.store, time.monotonic() + 60)
    stored = config.get("budget", sweep.budget)
    if sweep.options.trials and sweep.options.trials != stored and sweep.options.backend != "grid":
        sweep.store.study.set_user_attr(CONFIG_ATTR, {**config, "budget": sweep.options.trials})
        events.message(f"budget of study {sweep.study_name} changed from {stored} to "
                       f"{sweep.options.trials} trials")
    else:
        sweep.budget = stored
    done = Tally.of(sweep.store.trials()).finished
    events.message(f"resuming study {sweep.study_name}: {done} of {sweep.budget} trials done")


def _pruner(sweep: Any) -> Any:
    from tuneyard.engine.pruning import make_pruner

    return make_pruner(sweep.options.prune, sweep.config()["epochs"])


def load_shared_study(sweep: Any, worker_id: int) -> Any:
    """The shared study opened with this worker's sampler and the sweep's pruner."""
    import optuna

    o = sweep.options
    return optuna.load_study(study_name=sweep.study_name, storage=sweep.store.storage,
                             sampler=make_sampler(o.backend, o.seed, worker_id),
                             pruner=_pruner(sweep))


def wait_for_config(store: Store, deadline: float) -> dict:
    """The study's tuneyard config, once its creator has written it."""
    import optuna

    while True:
        if store.exists():
            config = optuna.load_study(study_name=store.name, storage=store.storage).user_attrs
            if CONFIG_ATTR in config:
                return config[CONFIG_ATTR]
        if time.monotonic() > deadline:
            names = ", ".join(study_names(store.storage)) or "none yet"
            raise StoreError(f"no tuneyard study '{store.name}' in {store.url} after waiting; "
                             f"studies there: {names}")
        time.sleep(POLL_SECONDS)


def grid_ready(store: Store) -> bool:
    """Whether the study's creator has finished queueing the grid points."""
    study_id = store.storage.get_study_id_from_name(store.name)
    return bool(store.storage.get_study_system_attrs(study_id).get(GRID_READY))


def work(sweep: Any, events: Any) -> Any:
    """The worker loop; returns the study's leaderboard DataFrame when the budget is done."""
    with storage_boundary(sweep.store.url):
        return _work(sweep, events)


def _work(sweep: Any, events: Any) -> Any:
    from tuneyard.engine.options import SweepStopped

    study, failures, waited, o = sweep.store.study, 0, False, sweep.options
    while True:
        fail_stale(study)
        tally = Tally.of(sweep.store.trials())
        if tally.waiting or (sweep.options.backend != "grid" and len(tally.claimed) < sweep.budget):
            result = _run_trial(sweep, _ask(study, o.seed), events)
            failures = failures + 1 if result and result.status == FAIL else 0
            if failures >= sweep.options.max_failures:
                raise SweepStopped(f"stopped after {failures} failed trials in a row; "
                                   f"last error: {result.error}")
        elif tally.running:  # a killed worker's trial comes back after the grace period
            if not waited:
                events.message(f"waiting for {tally.running} trials running on other workers")
            waited = True
            time.sleep(POLL_SECONDS)
        else:
            break
    _refresh(sweep)
    return sweep.leaderboard()


def _ask(study: Any, seed: int) -> Any:
    import warnings

    from tuneyard.backends.tpe import ask_seeded

    with warnings.catch_warnings():  # Optuna expects heartbeats with optimize(); ours are manual
        warnings.filterwarnings("ignore", message="Heartbeat of storage")
        return ask_seeded(study, seed)


def _run_trial(sweep: Any, trial: Any, events: Any) -> TrialResult | None:
    from tuneyard.backends.tpe import suggest_space

    store, o = sweep.store, sweep.options
    with Heartbeat(store.study._storage, trial._trial_id):
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        if not Tally.of(store.trials()).within_budget(trial.number, sweep.budget):
            trial.set_user_attr(SURPLUS, True)
            store.record(sweep.space, o.backend, Proposal(params={}, epochs=0, trial=trial),
                         TrialResult(status=FAIL, error="not run: other workers took the budget"))
            return None
        params = suggest_space(trial, sweep.space)
        extra = {k: v for k, v in trial.user_attrs.items() if k == "grid_index"}
        proposal = Proposal(params=params, epochs=sweep.config()["epochs"], extra=extra,
                            key=f"{o.backend}-{trial.number}", trial=trial,
                            save_best_to=candidate_path(sweep.folder, f"{o.backend}-{trial.number}"),
                            beat=sweep.best())
        started = time.perf_counter()
        try:
            result = sweep.trainer.run(proposal, sweep._callbacks(proposal))
        except KeyboardInterrupt:
            result = TrialResult(status=FAIL, seconds=time.perf_counter() - started,
                                 error="interrupted by the user (Ctrl-C)")
            retry_later(store.study, store.record(sweep.space, o.backend, proposal, result))
            _refresh(sweep)
            raise
    try:
        store.record(sweep.space, o.backend, proposal, result)
    except Exception as exc:  # failed meanwhile by another worker: its retry runs instead
        events.message(f"trial {trial.number} could not be saved ({type(exc).__name__}); "
                       "its retry will run")
        return result
    rows = _refresh(sweep)
    keep_if_best(sweep.folder, proposal.save_best_to, trial.number,
                 result.value if result.ok else None, sweep.best())
    tally = Tally.of(store.trials())
    row = next(r for r in rows if r["trial"] == trial.number)
    events.trial_done(row, tally.finished, sweep.budget, sweep.best())
    return result


def _refresh(sweep: Any) -> list[dict]:
    """Every trial of the study as rows (all workers'), and the CSV rewritten."""
    from tuneyard.store.ledger import Ledger

    sweep.ledger = sweep.ledger or Ledger(sweep.store)
    sweep.ledger.refresh()
    sweep.write_csv()
    return sweep.rows
