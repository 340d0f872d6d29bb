"""The sweep loop, written once for every backend and every mode: ask, train, record, tell.

It opens (or resumes, or joins) the study, loads the data once, then runs trials
until the budget is spent or the backend has nothing more to propose. One process,
`--workers N`, Ray actors (`--executor ray`: a trial lost with its node is recorded as
interrupted and runs again) and workers sharing a study on a server all run this loop, on the
study session opened once (session.py: store, ledger, claims, budget); what a
shared study adds (heartbeats, stale trials queued again, waiting on the others)
is its `claims` (claims.py), and creating or joining it is shared.py's. Every
trial is in the store, RUNNING, from its ask, whichever backend proposed it, and is
claimed, counted and told the same way. After every trial the leaderboard CSV is
rewritten, so an interrupted sweep leaves a current file. Progress goes to an
`events` object; this module never prints. `run` returns a `SweepResult`.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import os
import time
from pathlib import Path
from typing import Any

from tuneyard.analysis.leaderboard import ranked, to_frame, write_records
from tuneyard.analysis.ledger import Ledger, counts_toward_budget
from tuneyard.analysis.trial_diagnosis import Judge, judge_of, recorded_diagnosis
from tuneyard.backends import get_backend
from tuneyard.engine.capacity import cpu_cores
from tuneyard.engine.carry_on import CarryOn
from tuneyard.engine.devices import process_label, slot_devices
from tuneyard.engine.epochs import EpochHook, TimeBudget, TimeBudgetSpent, seconds_per_epoch
from tuneyard.engine.executors import WorkerPool, WorkerSpec
from tuneyard.engine.in_process import Idle, InProcess
from tuneyard.engine.interrupts import (
    Terminated,
    cut_at,
    interrupts_deferred,
    interrupts_watched,
    raise_if_interrupted,
)
from tuneyard.engine.options import SweepOptions, SweepStopped
from tuneyard.engine.pruning import PRUNERS, make_pruner, pruning_callback
from tuneyard.engine.ray_actor import RaySpec
from tuneyard.engine.ray_cluster import RayCluster
from tuneyard.engine.ray_executor import RayExecutor
from tuneyard.engine.session import StudySession, SweepPlan, SweepResult, open_session
from tuneyard.engine.shared import shared_mode
from tuneyard.engine.study_lock import StudyLock
from tuneyard.engine.trackers import Tracking
from tuneyard.engine.tracking import ENDED, FAILED, STOPPED
from tuneyard.engine.trainer_factory import (
    STAND_IN_VARIABLE,
    check_params_read,
    make_trainer,
    stand_in_trainer,
)
from tuneyard.errors import StoreError, TuneyardError, given
from tuneyard.keras_backend import require_backend
from tuneyard.records.attributes import INTERRUPTED, SURPLUS
from tuneyard.records.trial import FAIL, Proposal, TrialResult
from tuneyard.space.core import Space
from tuneyard.space.file import load_space, space_text
from tuneyard.store.best_model import candidate_path, keep_if_best, saved_best
from tuneyard.store.faults import check_writable_folder, storage_boundary
from tuneyard.store.optuna_adapter import frozen_of
from tuneyard.store.optuna_store import Store, default_storage, missing_objectives
from tuneyard.store.paths import results_dir, study_dir

# The CSV is rewritten after a trial once this many times its last rewrite's cost has passed.
CSV_PACE = 100
CSV_MIN_SECONDS = 0.5  # and never more often: trials of milliseconds would rewrite it on end
MAX_RERUNS = 3  # times a trial lost with its runner (a Ray node) runs again

__all__ = ["Events", "Sweep", "SweepOptions", "SweepPlan", "SweepResult", "SweepStopped"]


class Events:
    """What a sweep reports as it goes; the CLI overrides these to draw progress."""

    def message(self, text: str) -> None:
        """A line worth telling the user (resume, grid shuffle, data loaded)."""

    def sweep_started(self, done: int, budget: int) -> None:
        """The study is open and trials are about to start (`done` of `budget` already)."""

    def trial_started(self, key: Any, params: dict, epochs: int) -> None:
        """A trial was handed out; `key` is its trial number."""

    def epoch_done(self, key: Any, epoch: int, epochs: int, logs: dict) -> None:
        """A running trial finished epoch `epoch` of `epochs` (logs: loss, metrics)."""

    def trial_done(self, row: dict, done: int, budget: int, best: float | None) -> None:
        """A trial finished and was recorded."""


class Sweep:
    """One `tune run`: a space, a backend, a study, a budget."""

    def __init__(self, options: SweepOptions, trainer: Any = None, pruner: Any = None):
        stand_in = trainer is None and os.environ.get(STAND_IN_VARIABLE)
        if stand_in:
            trainer = stand_in_trainer()
        if trainer is None:  # said now, not as a traceback from a worker process importing Keras
            require_backend()
        self.space = options.space if isinstance(options.space, Space) else load_space(options.space)
        self.said: set[str] = set()  # the trials' notices already told (TrialResult.notices)
        self.notices: list[str] = []  # lines said once the sweep starts
        if stand_in:
            self.notices.append(f"trials run on the stand-in trainer {stand_in} "
                                f"(${STAND_IN_VARIABLE}), not on Keras")
        if self.space.multi and options.prune != "none" and options.prune in PRUNERS:
            # Optuna prunes on one intermediate value; a trial of several objectives has none.
            self.notices.append(f"{given('prune', options.prune)} is off: Optuna cannot prune a study of "
                                "several objectives; every trial trains its full epochs")
            options = copy.copy(options)  # the caller's stay as given (made: not made again)
            options.prune = "none"
        self.options = options
        # A grid/tpe/random study on a PostgreSQL server is shared by workers (shared.py).
        self.shared = shared_mode(options.storage, options.backend, forced=options.shared)
        self.backend_cls = get_backend(options.backend, shared=self.shared, multi=self.space.multi)
        self.backend_cls.check_space(self.space)
        # What the backend is told: --epochs (Hyperband's default largest budget) and its own.
        self.backend_options = {"epochs": options.epochs, **options.backend_options}
        self.backend_cls.check_options(self.space, self.backend_options)
        if options.prune not in PRUNERS:
            raise TuneyardError(f"unknown pruner '{options.prune}'; valid pruners: {', '.join(PRUNERS)}")
        if options.prune != "none" and not self.backend_cls.optuna_native:
            raise TuneyardError(
                f"{given('prune', options.prune)} works with the Optuna strategies (tpe), not "
                f"{options.backend}; Hyperband stops trials by its own schedule")
        self.budget = options.trials or self.backend_cls.default_budget(
            self.space, self.backend_options)
        self.study_name = (options.study if options.study is not None
                           else f"{self.space.name}-{options.backend}-s{options.seed}")
        self.folder = study_dir(self.study_name)  # refuses a name that is a path
        # --warm-from and --enqueue, checked now: before any data loads or study is written.
        self.carry_on = CarryOn(options, self.space, self.backend_cls, self.study_name)
        self.session: StudySession | None = None  # the study, once open
        # Proposals asked but not yet recorded (id -> (proposal, result or None)).
        self.pending: dict[int, tuple[Proposal, TrialResult | None]] = {}
        # Points of trials lost with their runner (a Ray node), to run again, and how many
        # times each has been (by id of the proposal that runs it now).
        self.reruns: list[Proposal] = []
        self._reruns: dict[int, int] = {}
        # Anything with run(proposal) -> TrialResult; tests pass a cheap objective.
        self.trainer = trainer
        # An Optuna pruner overriding --prune's (tests inject a deterministic one).
        self.pruner = pruner
        self.lock = StudyLock(self.folder)
        self.events = Events()
        self.clock: TimeBudget | None = None  # --timeout's budget, from the start of run()
        self._csv_at, self._csv_cost = 0.0, 0.0  # when the CSV was last rewritten, and how long it took
        self.tracking = Tracking([])  # --tensorboard, --mlflow: made when the sweep opens

    @property
    def csv_path(self):
        """Where the leaderboard CSV is written."""
        return self.folder / "leaderboard.csv"

    def config(self) -> dict:
        """What identifies the sweep, stored with the study and checked on resume."""
        o = self.options
        epochs = o.epochs or self.space.training.epochs
        return {"space": self.space.name, "backend": o.backend, "seed": o.seed,
                "fingerprint": self.space.fingerprint(), "metric": self.space.metric,
                # The fields the fingerprint hashes: a changed space is refused naming them.
                "space_body": self.space.fingerprint_body(), "warm_from": o.warm_from,
                "direction": self.space.direction, "epochs": epochs, "subset": o.subset,
                "fresh": o.fresh, "workload": self.space.workload, "prune": o.prune,
                # What evaluate, export, report and `tune worker` need from any folder.
                "space_text": space_text(self.space), "space_file": _abs(self.space.path),
                "data_dir": _abs(o.data_dir), "trial_timeout": o.trial_timeout,
                "precision": o.precision,
                # A study of several objectives: each, in order (the first is metric/direction).
                **({"objectives": [{"metric": x.metric, "direction": x.direction}
                                   for x in self.space.objectives]} if self.space.multi else {}),
                # What the backend ran with beyond the epochs (Hyperband's max_epochs, factor).
                **self.backend_cls.run_settings(self.space, self.backend_options)}

    def open(self, events: Events) -> None:
        """Check the study, load the data, then create or resume the study and backend.

        The data loads before the study is created, so a missing dataset leaves no
        empty study behind.
        """
        o = self.options
        for notice in self.notices:
            events.message(f"warning: {notice}")
        self._check_folders()
        if not self.backend_cls.optuna_native:
            self.lock.acquire()  # grid and Keras Tuner keep state two runners would both use
        self.store = Store(o.storage, self.study_name, heartbeats=self.shared)
        config = self.config()  # once: the space's fingerprint and text take milliseconds
        self.store.check_config(config, api=o.api)
        self.carry_on.read_earlier(self.store, o.fresh, config)
        self._connect_tracking(events)  # a bad folder or URI stops the sweep before data loads
        pruner = self.pruner or make_pruner(o.prune, config["epochs"])
        # A study whose budget is spent loads no data and starts no worker process.
        finished = self._spent_before()
        self.executor = Idle() if finished else self._executor(pruner if o.prune != "none" else None)
        # Same sampler, hence the same TPE start-up sizing, in every mode.
        sampler = self.backend_cls.make_sampler(self.space, o.seed, trials=self.expected_trials())
        self.session = open_session(
            self.store, self.space, config, budget=self.budget, asked=o.trials,
            shared=self.shared, fresh=o.fresh, sampler=sampler, pruner=pruner, events=events)
        self.carry_on.write(self.store, self.session.budget, events)
        self.session.ledger.refresh()
        self.lock.keep()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.tracking.study_opened(self.store.study, self.space, config, self.session.budget)
        self._fail_orphans(events)
        done = [r for r in self.session.ledger.rows if counts_toward_budget(r)]
        if done:
            events.message(f"resuming study {self.study_name}: {len(done)} of "
                           f"{self.session.budget} trials done")
        self.write_csv()  # a CSV that fell behind the store is whole again before any training
        self.backend = self.backend_cls(
            self.space, seed=o.seed, budget=self.session.budget, workdir=self.folder,
            study=self.store.study, options=self.backend_options,
        )
        self.backend.resume(done)
        self.carry_on.tell(self.backend, self.session.ledger.rows, events)
        if hasattr(self.backend, "describe"):
            events.message(self.backend.describe())

    def _connect_tracking(self, events: Events) -> None:
        """The trackers (tracking.py), reached now; a study that is new to the store (or
        --fresh) is new to them too."""
        o = self.options
        self.tracking = Tracking.of(o, self.study_name)
        self.tracking.warn = events.message
        self.tracking.connect(new_study=o.fresh or not self.store.exists(), shared=self.shared)

    def _check_folders(self) -> None:
        """Before any data loads: the results and study folders must take files."""
        check_writable_folder(results_dir(), "the results folder")
        if self.folder.exists():
            check_writable_folder(self.folder, "the study folder")

    def _spent_before(self) -> bool:
        """Whether the stored study (if any) has already spent its budget."""
        o = self.options
        ledger = None if self.shared else self._stored_ledger()
        if ledger is None:
            return False
        repeats = self.space.training.executions_per_trial
        return ledger.done_count() >= self.budget or bool(
            o.budget_epochs and o.budget_epochs - ledger.epochs_spent() < repeats)

    def _fail_orphans(self, events: Events) -> None:
        """Record as interrupted the RUNNING trials whose runner died: they run again."""
        for trial in self.session.ledger.orphans():
            self.store.fail_orphan(trial, f"{INTERRUPTED} (the process that ran it is gone)")
            events.message(f"trial {trial.number} was left running by a process that is gone: "
                           "recorded as interrupted, it runs again")
        self.session.ledger.refresh()

    def _executor(self, pruner: Any) -> Any:
        """Load the data: here, or in each worker process when trials run in workers, or
        on each Ray node."""
        o = self.options
        if o.executor == "ray":
            return self._ray(pruner is not None)
        if o.workers == 1 and not self._one_worker_process():
            self.trainer = self.trainer or self._trainer()
            return InProcess(self.trainer, self._callbacks, o.trial_timeout, process_label(o.gpus))
        # Never more processes than trials left to run (every runner's claims counted).
        workers = max(1, min(o.workers, self._trials_left()))
        spec = WorkerSpec(options=o, threads=max(1, cpu_cores() // workers),
                          storage_url=self.store.url, study_name=self.study_name,
                          metric=self.space.metric, pruner=pruner, trainer=self.trainer)
        pool = WorkerPool(spec, workers, self.folder, o.trials_per_process, o.trial_timeout,
                          slot_devices(o.gpus, workers))
        pool.on_epoch = self._epoch_done
        pool.start()
        return pool

    def _ray(self, prune: bool) -> Any:
        """An actor per slot on Ray (never more than the trials left); the driver prunes."""
        o = self.options
        workers = max(1, min(o.workers, self._trials_left()))
        cluster = RayCluster(o.address, workers, o.gpus, o.trials_per_gpu, o.verbose)
        threads = 1 if o.address else max(1, cpu_cores() // workers)
        # The nodes get the space itself and absolute paths: they may not share this folder.
        shipped = copy.copy(o)
        shipped.space, shipped.data_dir = self.space, _abs(o.data_dir)
        spec = RaySpec(options=shipped, threads=threads, metric=self.space.metric, prune=prune,
                       trainer=self.trainer)
        executor = RayExecutor(spec, workers, cluster, o.trial_timeout, o.trials_per_process)
        executor.on_epoch = self._epoch_done
        executor.start()
        return executor

    def _trials_left(self) -> int:
        """Trials of the budget not yet claimed by any runner (before this one asks)."""
        ledger = self._stored_ledger()
        return self.budget if ledger is None else self.budget - ledger.claimed_count()

    def _stored_ledger(self) -> Ledger | None:
        """The stored study's trials as they are before this run opens it (None: no study
        yet, or --fresh, which deletes it)."""
        if self.options.fresh or not self.store.exists():
            return None
        self.store.load()
        ledger = Ledger(self.store)
        ledger.refresh()
        return ledger

    def _one_worker_process(self) -> bool:
        """Whether a one-worker sweep runs its trials in a worker process, not here.

        It does when it is longer than one process's share of trials, so that the
        memory TensorFlow keeps per model goes when the process is replaced, and when
        trials have a time limit: a process past it is killed, which leaves nothing
        half-done behind (an exception raised into a trial here might land inside an
        import), and when a GPU is visible: a worker process is pinned to its GPU before
        the Keras backend loads, with memory growth. A stand-in trainer (tests) runs here
        unless it asks for worker processes (`in_worker_processes`), and so does everything
        with --trials-per-process 0 (a notebook's build function cannot go elsewhere).
        """
        per_process = self.options.trials_per_process
        limited = self.options.trial_timeout is not None
        real = self.trainer is None or getattr(self.trainer, "in_worker_processes", False)
        pinned = bool(self.options.gpus)
        return real and 0 < per_process and (per_process < self.budget or limited or pinned)

    def _trainer(self) -> Any:
        return make_trainer(self.space, self.options)

    def expected_trials(self) -> int:
        """Trials the budget is expected to hold: `tune race` says so when epochs are the
        budget (its trial count is only a cap); otherwise the trial budget."""
        return int(self.options.backend_options.get("expected_trials") or self.budget)

    @property
    def rows(self) -> list[dict]:
        """Leaderboard rows of every trial of the study, as the store had them last."""
        return self.session.ledger.rows if self.session else []

    def done_count(self) -> int:
        """Finished trials of the study that spend the budget (every runner's)."""
        return self.session.ledger.done_count() if self.session else 0

    def plan(self) -> SweepPlan:
        """What this sweep will run: study, space, backend and budget (before it opens)."""
        return SweepPlan(study=self.study_name, space=self.space, backend=self.options.backend,
                         budget=self.budget, folder=self.folder, csv_path=self.csv_path)

    def result(self) -> SweepResult:
        """The study as this sweep leaves it: after `run`, or after an interrupted one."""
        budget = self.session.budget if self.session else self.budget
        return SweepResult(
            study=self.study_name, metric=self.space.metric, folder=self.folder,
            csv_path=self.csv_path, leaderboard=self.leaderboard(), rows=self.rows,
            done=self.done_count(), budget=budget, best=self.best(),
            all_failed=self.session.ledger.all_failed() if self.session else None,
            timed_out=bool(self.clock and self.clock.ended))

    def run(self, events: Events | None = None) -> SweepResult:
        """Run the rest of the budget; returns the study as the sweep leaves it."""
        events = self.events = events or Events()
        o = self.options
        how = ENDED
        try:
            # Backends write to the store too (an Optuna trial's suggestions): a storage
            # fault anywhere in the sweep is one line, not a traceback.
            with interrupts_watched(), storage_boundary(o.storage or default_storage()):
                self.open(events)
                # --timeout counts from here, as Optuna's optimize(timeout=): the trials' time.
                self.clock = TimeBudget(o.timeout, o.timeout_grace) if o.timeout else None
                if self.clock and not isinstance(self.executor, Idle):
                    self.executor.cut_at = self.clock.cut_at
                _tell(events, "sweep_started", self.done_count(), self.session.budget)
                with cut_at(self.clock.cut_at if self.clock else None):
                    try:
                        self._loop(events)
                    except TimeBudgetSpent as exc:
                        self._cut(exc, events)
                self._finish(events)
        except BaseException as exc:
            how = STOPPED if isinstance(exc, KeyboardInterrupt | Terminated) else FAILED
            self._abandon(exc)
            raise
        finally:
            self._close_tracking(how)
            self.lock.release()
        return self.result()

    def _close_tracking(self, how: str) -> None:
        """End the trackers' runs however the sweep ended (MLflow's parent run included), the
        kept best model logged; a second Ctrl-C waits for it."""
        if not self.tracking:
            return
        with interrupts_deferred():
            best = saved_best(self.folder) if self.session is not None else None
            self.tracking.close(how, best, self.best())

    def _finish(self, events: Events) -> None:
        """The CSV exact at exit, and a word on trials other runners still run."""
        with interrupts_deferred():
            self.session.ledger.refresh()
            self.write_csv()
        others = self.session.ledger.running_elsewhere(set())
        if others:
            events.message(f"{others} trials of the study are still running in other processes; "
                           "their results join the leaderboard when they end")

    def _loop(self, events: Events) -> None:
        """Keep up to N trials in flight; record and tell each result as it comes."""
        failures, waiting = 0, False
        while True:
            raise_if_interrupted()  # a Ctrl-C Python swallowed during the last trial
            while not waiting and self._room():
                if not self._hand_out():
                    waiting = True  # done, or (Hyperband) waiting on the trials in flight
                    break
            if not self.executor.running:
                if self.session.claims.wait_for_others(self.session.ledger, events):
                    waiting = False  # a shared study: others still run, or one came back
                    continue
                if waiting and not self.shared:
                    events.message("the backend has no more proposals: search complete")
                elif self.clock and self.clock.ended:
                    events.message(f"the time budget ({_hms(self.clock.seconds)}) ended the sweep: "
                                   f"{self.done_count()} of {self.session.budget} trials done; "
                                   "the same command goes on from there")
                self.executor.close()
                return
            proposal, result = self.executor.next_result()
            waiting = False
            lost = self._lost(proposal, result)
            with interrupts_deferred():  # the store, the CSV and the backend agree
                self.pending[id(proposal)] = (proposal, result)
                frozen, row = self._record(proposal, result)
                if lost:
                    self._run_again(proposal, frozen)
                else:
                    self.backend.tell(proposal, result)
                events.trial_done(row, self.done_count(), self.session.budget, self.best())
                if result.warning:  # bookkeeping after training (a full disk): said, not a failure
                    events.message(f"warning: trial {row.get('trial')} is recorded with its "
                                   f"result, but {result.warning}")
                for notice in (n for n in result.notices if n not in self.said):  # once a sweep
                    self.said.add(notice)
                    events.message(f"warning: {notice}")
            if lost:
                events.message(f"trial {row.get('trial')}: {result.error}")
                continue
            failures = failures + 1 if result.status == FAIL else 0
            if failures >= self.options.max_failures:
                raise SweepStopped(f"stopped after {failures} failed trials in a row; "
                                   f"last error: {result.error}")

    def _lost(self, proposal: Proposal, result: TrialResult) -> bool:
        """Whether the executor lost the trial with its runner (a Ray node died): it is
        recorded as interrupted, spending no budget, and runs again, MAX_RERUNS times at most
        (then it is an ordinary failure)."""
        if result.status != FAIL or not (result.error or "").startswith(INTERRUPTED):
            return False
        if self._reruns.get(id(proposal), 0) < MAX_RERUNS:
            return True
        result.error = (f"{result.error.removeprefix(INTERRUPTED + ': ').removesuffix('; it runs again')}"
                        f" (the {MAX_RERUNS + 1}th time: not run again)")
        return False

    def _run_again(self, proposal: Proposal, frozen: Any) -> None:
        """Queue a lost trial again with its parameters: a shared study's storage queues it
        for every worker (as Ctrl-C's, claims.py); here it is the next one handed out."""
        if self.shared:
            self.session.claims.abandoned(frozen)
            return
        again = dataclasses.replace(proposal, trial=None)  # a new trial of the store, same point
        self._reruns[id(again)] = self._reruns.pop(id(proposal), 0) + 1
        self.reruns.append(again)

    def _hand_out(self) -> bool:
        """Ask the backend for a trial (or take a lost one's point again) and start it;
        False when it has none now."""
        with interrupts_deferred():  # an asked trial is in `pending` before Ctrl-C lands
            self.session.claims.before_ask()
            proposal = self.reruns.pop(0) if self.reruns else self.backend.ask()
            self._fit_epoch_budget(proposal)
            if proposal is None:
                return False
            if proposal.trial is None:  # the grid's and Keras Tuner's: in the store from now on
                proposal.trial = self.store.start_trial(self.space, proposal.params)
            self.session.ledger.started(frozen_of(proposal.trial))
            self.pending[id(proposal)] = (proposal, None)
            if not self._claim(proposal):
                return False
            proposal.save_best_to = candidate_path(self.folder, proposal.key or str(id(proposal)))
            proposal.beat = self.best()
            self.tracking.trial_started(proposal.trial.number, dict(proposal.params), proposal.epochs)
            self.executor.submit(proposal, more=self._more_after(self._claimed_count(refresh=False)))
            self.session.claims.started(proposal)
            _tell(self.events, "trial_started", proposal.trial.number, dict(proposal.params),
                  proposal.epochs)
        return True

    def _more_after(self, claimed: int) -> bool:
        """Whether a trial may follow the one being handed out (`claimed` counts it): a
        worker pool starts a successor process early only then."""
        if claimed >= self.session.budget:
            return False
        if not self.options.budget_epochs:
            return True
        repeats = self.space.training.executions_per_trial
        in_flight = sum((p.epochs - p.initial_epoch) * repeats for p, r in self.pending.values() if r is None)
        return self.options.budget_epochs - self.epochs_spent() - in_flight >= repeats

    def _epoch_done(self, proposal: Proposal, epoch: int, epochs: int, logs: dict) -> None:
        # Every executor's epochs arrive here, in the driver: the trackers write them here.
        self.tracking.epoch(proposal.trial.number, epoch, epochs, logs)
        _tell(self.events, "epoch_done", proposal.trial.number, epoch, epochs, logs)

    def _claim(self, proposal: Proposal) -> bool:
        """Whether an asked trial is within the budget that every runner shares.

        Another runner may have asked at the same moment: the trials are ordered by
        number, and one past the budget is recorded as surplus and never trained.
        """
        self.session.ledger.refresh()
        if self.session.ledger.within_budget(proposal.trial.number, self.session.budget):
            return True
        proposal.trial.set_user_attr(SURPLUS, True)
        result = TrialResult(status=FAIL, error="not run: other runners took the budget")
        # The ledger took the trial in as it started and reads it no more: it is told here.
        self.session.ledger.note(self.store.record(self.space, self.options.backend, proposal,
                                                   result, self._diagnosis(proposal, result),
                                                   reported_here=True))  # it never ran
        self.pending.pop(id(proposal), None)
        return False

    def _claimed_count(self, refresh: bool = True) -> int:
        """Trials that spend the budget: every runner's, finished or in flight (every trial
        is RUNNING in the store from its ask)."""
        if refresh:
            self.session.ledger.refresh()
        return self.session.ledger.claimed_count()

    def _room(self) -> bool:
        # Never more trials than the budget, counting those in flight anywhere.
        return (self.executor.has_room() and self._epochs_allow_a_trial()
                and (self._claimed_count() < self.session.budget
                     or (self.shared and self.session.ledger.waiting > 0))
                and self._time_allows_a_trial())

    def _time_allows_a_trial(self) -> bool:
        """--timeout: start no trial that the study's median pace says cannot end in time."""
        if self.clock is None:
            return True
        per_epoch = seconds_per_epoch(self.session.ledger.rows)
        training = self.space.training
        epochs = (self.options.epochs or training.epochs) * training.executions_per_trial
        return self.clock.allows(None if per_epoch is None else per_epoch * epochs, self.executor.running)

    def _cut(self, exc: TimeBudgetSpent, events: Events) -> None:
        """Past the time budget and its grace: the running trials are recorded as interrupted."""
        cut = sum(r is None for _, r in self.pending.values())
        self._abandon(exc)
        events.message(f"the time budget ({_hms(self.clock.seconds)}) ended the sweep: {cut} running "
                       f"trials were cut {self.clock.grace:.0f} s past it and recorded as interrupted "
                       f"(they run again on resume); {self.done_count()} of {self.session.budget} "
                       "trials done")

    def _abandon(self, exc: BaseException) -> None:
        """Record the trials cut off as interrupted (they re-run on resume), stop workers."""
        executor = getattr(self, "executor", None)
        if executor is None:
            return
        why = ("by SIGTERM" if isinstance(exc, Terminated) else "by the user (Ctrl-C)"
               if isinstance(exc, KeyboardInterrupt) else f"({exc})")
        seconds = {id(proposal): spent for proposal, spent in executor.abandon()}
        # Every proposal not yet recorded: asked, handed out, or finished but not yet written.
        with interrupts_deferred():  # a second Ctrl-C must not cut this short
            for key, (proposal, result) in list(self.pending.items()):
                try:
                    frozen, _ = self._record(proposal, result or TrialResult(
                        status=FAIL, seconds=seconds.get(key, 0.0),
                        error=f"{INTERRUPTED} {why}"[:500]))
                except TuneyardError:
                    break  # the store or the CSV refuses writes: the error being raised says so
                if result is None:
                    self.session.claims.abandoned(frozen)  # shared: queued again for the others
            else:
                if self.session is not None:
                    with contextlib.suppress(TuneyardError):  # the error being raised says why
                        self.write_csv()  # exact on Ctrl-C, whatever the pace skipped
        if self.session is not None:
            self.session.claims.close()
        executor.close()

    def epochs_spent(self) -> int:
        """Epochs trained by the trials that spend the budget (repeats included)."""
        return self.session.ledger.epochs_spent() if self.session else 0

    def _epochs_allow_a_trial(self) -> bool:
        # A trial trains at least one epoch per execution; stop before one cannot fit.
        left = (self.options.budget_epochs or 0) - self.epochs_spent()
        return not self.options.budget_epochs or left >= self.space.training.executions_per_trial

    def _fit_epoch_budget(self, proposal: Proposal | None) -> None:
        """Cap the last trial to the epochs left; Hyperband's are not cut (it may overshoot)."""
        if proposal is None or not self.options.budget_epochs:
            return
        repeats = self.space.training.executions_per_trial
        room = (self.options.budget_epochs - self.epochs_spent()) // repeats
        if proposal.epochs - proposal.initial_epoch > room and self.backend_cls.epochs_cappable:
            proposal.extra["capped_from"] = proposal.epochs
            proposal.epochs = proposal.initial_epoch + room

    def _callbacks(self, proposal: Proposal) -> list:
        report = EpochHook(lambda epoch, epochs, logs: self._epoch_done(proposal, epoch, epochs, logs))
        if self.options.prune == "none":
            return [report]
        return [report, pruning_callback(proposal.trial, self.space.metric)]

    @functools.cached_property
    def _judge(self) -> Judge:
        """How this study's trials are diagnosed: its objective and its workload's hooks."""
        return judge_of({**self.store.config, "metric": self.space.metric,
                         "direction": self.space.direction, "workload": self.space.workload},
                        self.space)

    def _diagnosis(self, proposal: Proposal, result: TrialResult) -> tuple[str, dict]:
        """A finished trial's diagnosis, judged once here; the store keeps it."""
        return recorded_diagnosis(self._judge, proposal, result)

    def _record(self, proposal: Proposal, result: TrialResult) -> tuple[Any, dict]:
        """Write a trial's result: store, best model, CSV; its frozen trial and its row."""
        self.session.claims.ended(proposal)
        problem = missing_objectives(self.space, result)
        if problem:  # a study of several objectives is told every one, or the trial failed
            result = dataclasses.replace(result, status=FAIL, value=None, error=problem)
        frozen = self.store.record(self.space, self.options.backend, proposal, result,
                                   self._diagnosis(proposal, result),
                                   reported_here=self._reports_here)
        self.pending.pop(id(proposal), None)
        self.session.ledger.note(frozen)
        try:
            keep_if_best(self.folder, proposal.save_best_to, frozen.number,
                         result.value if result.ok else None, self.best())
        except OSError as exc:  # the trial is recorded; only its model is not kept
            self.events.message(f"warning: trial {frozen.number}: its model was not kept as the "
                                f"study's best ({exc.strerror or exc}; free some space)")
        row = self.session.ledger.row(frozen.number)
        self.tracking.trial_ended(frozen.number, result, row["status"], row.get("diagnosis") or "")
        self.write_csv(saved=frozen.number, when_due=True)
        check_params_read(self.space, proposal, result)
        return frozen, row

    @property
    def _reports_here(self) -> bool:
        """Whether every report to a trial goes through its Trial in this process: without
        pruning there are none; in this process, the pruning callback holds that Trial. A
        worker process prunes through a Trial of its own."""
        return self.options.prune == "none" or isinstance(self.executor, InProcess)

    def write_csv(self, saved: int | None = None, when_due: bool = False) -> None:
        """Rewrite the leaderboard CSV from the store's rows; a refused write is one line.

        `when_due`: only if the time since the last rewrite is CSV_PACE times what that
        rewrite took and at least CSV_MIN_SECONDS, so rewriting stays about 1% of any sweep
        (after every trial of trials that take seconds; every few seconds at 10,000
        instant trials). At open, at exit, on Ctrl-C and in `tune leaderboard` the CSV is
        always rewritten, exact.
        """
        due_in = max(CSV_PACE * self._csv_cost, CSV_MIN_SECONDS)
        if when_due and time.monotonic() - self._csv_at < due_in:
            return
        names = [p.name for p in self.space.params]
        started = time.monotonic()
        try:
            write_records(*ranked(self.rows, names, self.space.metric, self.space.maximize,
                                  self.objectives), self.csv_path)
            self._csv_at = time.monotonic()
            self._csv_cost = self._csv_at - started
        except OSError as exc:
            kept = f"trial {saved} is saved in the store, but " if saved is not None else ""
            raise StoreError(
                f"{kept}the leaderboard {self.csv_path} could not be written "
                f"({exc.strerror or exc}); fix that, then run the same command again or "
                f"`tune leaderboard {self.study_name} --csv {self.csv_path}` to rebuild it") from None

    def best(self) -> float | None:
        """Best objective so far, among every runner's trials."""
        return self.session.ledger.best(self.space.maximize) if self.session else None

    def leaderboard(self) -> Any:
        """The ranked DataFrame of every trial in the study."""
        names = [p.name for p in self.space.params]
        return to_frame(self.rows, names, self.space.metric, self.space.maximize, self.objectives)

    @property
    def objectives(self) -> list[tuple[str, bool]] | None:
        """(name, maximize) of each objective of a study of several (None for one)."""
        return [(o.metric, o.maximize) for o in self.space.objectives] if self.space.multi else None


def _tell(events: Any, hook: str, *args: Any) -> None:
    # An events object written before a hook existed (message and trial_done only) still works.
    method = getattr(events, hook, None)
    if method is not None:
        method(*args)


def _hms(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"


def _abs(path: str | None) -> str | None:
    return str(Path(path).resolve()) if path and not path.startswith("<") else None
