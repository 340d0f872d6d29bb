"""The trainer: build, fit and evaluate one proposal.

Each of the space's `executions_per_trial` repeats trains a fresh model with
its own seed; the objective is the best epoch's validation metric, averaged
over repeats. A NaN/inf loss or an exception ends the trial as FAIL with the
reason; it never stops the sweep.
"""

from __future__ import annotations

import functools
import math
import time
from typing import Any

import numpy as np

from tuneyard.atomic import write_with
from tuneyard.checkpoint import load_checkpoint, save_checkpoint
from tuneyard.engine.devices import backend_device
from tuneyard.engine.epochs import EpochHook
from tuneyard.engine.fit_arguments import fit_data, user_fit_options
from tuneyard.engine.fit_thread import fit_on_fresh_thread
from tuneyard.engine.gradient_registry import trial_gradients_released
from tuneyard.engine.heap import settle
from tuneyard.engine.interrupts import raise_if_interrupted
from tuneyard.engine.measures import measure_model
from tuneyard.engine.precision import apply, output_notice, policy_kept, resolve, trains_on_gpu
from tuneyard.engine.user_errors import check_built, describe
from tuneyard.errors import StoreError
from tuneyard.records.trial import COMPLETE, FAIL, PRUNED, Proposal, TrialResult, failed
from tuneyard.space.core import Space
from tuneyard.workloads.checks import LabelsBeyondModel, check_labels_fit_model


def execution_seed(base_seed: int, params: dict, execution: int) -> int:
    """A seed fixed by the sweep seed, the point and the repeat, not by trial order."""
    digest = sum((i + 1) * ord(c) for i, c in enumerate(repr(sorted(params.items()))))
    return int(np.random.SeedSequence([base_seed, digest, execution]).generate_state(1)[0] >> 1)


class Trainer:
    """Trains proposals of one space on one loaded dataset."""

    def __init__(self, space: Space, workload: Any, dataset: Any, *, seed: int = 0,
                 verbose: bool = False, precision: str | None = None):
        self.space, self.workload, self.dataset = space, workload, dataset
        self.seed, self.verbose = seed, verbose
        # What was asked (--precision, else the space's), and the Keras policy it means here
        # (resolved at the first trial, once the backend says where it trains).
        self.precision = precision or space.training.precision or "float32"
        self.policy: str | None = None
        self.notices: list[str] = []  # said once a sweep (engine/precision.py)
        self._output_checked = False
        training = space.training
        self.options = {**space.fixed, "batch_size": training.batch_size,
                        "lr_decay": training.lr_decay}
        self._labels_checked = getattr(workload, "task", "") != "classification"

    def prepare(self) -> None:
        """Import Keras and TensorFlow now (seconds, once), not inside a trial's time limit."""
        # heavy: keras
        import keras  # noqa: F401

    def run(self, proposal: Proposal, callbacks: list | None = None) -> TrialResult:
        """Train one proposal; always returns a result, FAIL or PRUNED included, with the
        device the Keras backend placed it on (a GPU handed out but not seen shows)."""
        used = backend_device()
        if self.policy is None:
            self.policy, notice = resolve(self.precision, trains_on_gpu(used))
            self.notices += [notice] if notice else []
        # The caller's own policy (a notebook's) is back after the trial; the training
        # graphs TensorFlow would keep for good go with the trial (gradient_registry.py).
        with policy_kept(), trial_gradients_released():
            result = self._run(proposal, callbacks)
        result.device_used, result.precision = used, self.policy
        result.notices = list(self.notices)
        return result

    def _run(self, proposal: Proposal, callbacks: list | None) -> TrialResult:
        start = time.perf_counter()
        runs, seeds = [], []
        self._kept = None  # (model, best weights) of the first execution, for save_best_to
        self._check = None  # the running fit's InterruptCheck (it counts epochs)
        # A workload that declares nothing gets a dict that notes what its builder reads.
        declares = getattr(self.workload, "declares", True)
        self._params = proposal.params if declares else ReadTracker(proposal.params)
        try:
            for execution in range(self.space.training.executions_per_trial):
                seed = execution_seed(self.seed, proposal.params, execution)
                seeds.append(seed)
                history = self._fit_once(proposal, seed, execution, callbacks or [])
                runs.append(history)
                if any(getattr(c, "pruned", False) for c in callbacks or []):
                    return self._summary(runs, PRUNED, start, seeds, None)
                problem = _non_finite(history)
                if problem:
                    return self._summary(runs, FAIL, start, seeds, problem)
            result = self._summary(runs, COMPLETE, start, seeds, None)
            self._measure(result)
            self._save_if_better(proposal, result)
        except (LabelsBeyondModel, CheckpointNotSaved):
            raise  # not the trial's fault: the sweep stops, the trial runs again on resume
        except Exception as exc:  # a broken trial is a result, not a crash of the sweep
            # The epochs it trained count (a race's epoch budget pays for them): the
            # executions that ended, and the epochs the failing one finished (unless it
            # is among those that ended: it failed after its fit).
            running = self._check is not None and len(runs) < len(seeds)
            trained = _epochs(runs) + (self._check.epochs if running else 0)
            return failed(self._describe(exc, proposal), time.perf_counter() - start, seeds=seeds,
                          history=_mean_history(runs), epochs_run=trained)
        finally:
            self._kept = None
        if isinstance(self._params, ReadTracker):
            result.params_read = sorted(self._params.read)
        return result

    def _describe(self, exc: Exception, proposal: Proposal) -> str:
        """The trial's error at the user's line, with what to do for the usual mistakes."""
        return _describe(exc, describe(exc, self.workload, self.space, proposal.params))

    def _save_if_better(self, proposal: Proposal, result: TrialResult) -> None:
        """Save the first execution's model at its objective's epoch, if the trial improved."""
        if not proposal.save_best_to or not result.ok or self._kept is None:
            return
        if proposal.beat is not None and not self._better(result.value, proposal.beat):
            return
        model, weights = self._kept
        if weights is not None:
            model.set_weights(weights)
        try:
            save_model_atomically(model, proposal.save_best_to)
        except OSError as exc:  # tuneyard's bookkeeping, not the trial: its result stands
            result.warning = (f"its model was not saved ({_os_reason(exc)}, writing "
                              f"{proposal.save_best_to}); free some space")
            return
        result.saved_model = proposal.save_best_to

    def _measure(self, result: TrialResult) -> None:
        """Measure the first execution's model at its objective's epoch (params, saved size,
        latency: what the space's objectives or `training.measure` name)."""
        if not self.space.measures or not result.ok or self._kept is None:
            return
        model, weights = self._kept
        if weights is not None:
            model.set_weights(weights)
        result.measures = measure_model(model, self.dataset, self.space.measures)

    def _better(self, value: float, than: float) -> bool:
        return value > than if self.space.maximize else value < than

    def batch_size(self, proposal: Proposal) -> int:
        """The trial's batch size: its `batch_size` hyperparameter, else the space's."""
        return int(proposal.params.get("batch_size", self.space.training.batch_size))

    def _fit_once(self, proposal: Proposal, seed: int, execution: int, extra: list) -> dict:
        # heavy: keras
        import keras

        self._check = None
        keras.backend.clear_session()
        # In tuneyard's own process: what is alive now (the libraries, the data; no earlier
        # trial's model, which clear_session has just collected) is left out of the
        # collections of every later trial (engine/heap.py).
        settle()
        keras.utils.set_random_seed(seed)
        apply(self.policy)  # after clear_session, which resets it; before the model is built
        options = {**self.options, "batch_size": self.batch_size(proposal)}
        model = self.workload.build_model(self._params, self.dataset, options)
        check_built(model, self.workload)  # None, not compiled: said with what to do
        if not self._labels_checked:  # once: labels past the model's output fail every trial
            check_labels_fit_model(self.dataset, model, self.space.workload.removeprefix("python:"))
            self._labels_checked = True
        if proposal.warm_start:
            # The parent's weights and optimizer state go into a model built by the same
            # builder (no deserialising of custom objects).
            load_checkpoint(model, proposal.warm_start)
        keep = self._keeper(proposal) if execution == 0 else None
        # The workload's own fit options, asked before every fit: its callbacks are fresh.
        mine = user_fit_options(self.workload, self._params, self.dataset)
        # Keras' own TerminateOnNaN stops at the first NaN/inf batch loss; the epoch's
        # history then holds it, and the trial is recorded as diverged (_non_finite).
        extra = [_EpochReport(c, proposal.epochs) if isinstance(c, EpochHook) else c for c in extra]
        self._check = _InterruptCheck()
        # The user's callbacks run beside tuneyard's, before pruning and the progress display
        # read the epoch's logs (a user's callback may add to them).
        callbacks = [keras.callbacks.TerminateOnNaN(), self._check, *self._early_stopping(),
                     *mine.pop("callbacks"), *extra, *([keep] if keep else [])]
        # On a fresh, shallow thread: TensorFlow's tracing costs grow with the stack's depth.
        fitted = fit_on_fresh_thread(
            model.fit, **{**fit_data(self.dataset, options["batch_size"]), **mine},
            epochs=proposal.epochs, initial_epoch=proposal.initial_epoch,
            callbacks=callbacks, verbose=2 if self.verbose else 0,
        )
        if proposal.save_to and execution == 0:
            try:  # the checkpoint later trials continue from (Hyperband)
                save_checkpoint(model, proposal.save_to)
            except OSError as exc:
                raise CheckpointNotSaved(
                    f"the checkpoint {proposal.save_to} could not be written ({_os_reason(exc)}); "
                    "free some space, then run the same command again (the trial runs again)"
                ) from None
        if not self._output_checked:  # once: every trial's model comes from the same builder
            self._output_checked = True
            self.notices += filter(None, [output_notice(model, self.policy)])
        if keep is not None:
            self._kept = (model, keep.best_weights)
        return {k: [float(v) for v in vals] for k, vals in fitted.history.items()}

    def _keeper(self, proposal: Proposal) -> Any:
        """The callback that keeps the weights of the objective's best epoch, when a trial's
        model may be saved or measured; None when neither."""
        if not (proposal.save_best_to or self.space.measures):
            return None
        # A trial is saved only if it beats the study's best, so an epoch that does not
        # needs no copy of its weights. Not so when the value is a mean over executions
        # (execution 0's best epoch may be below it) or when the model is measured.
        alone = self.space.training.executions_per_trial == 1 and not self.space.measures
        return _BestWeights(self.space.metric, self.space.maximize,
                            beat=proposal.beat if alone else None)

    def _early_stopping(self) -> list:
        # heavy: keras
        import keras

        patience = self.space.training.patience
        if patience <= 0:
            return []
        mode = "max" if self.space.maximize else "min"
        return [keras.callbacks.EarlyStopping(monitor=self.space.metric, mode=mode,
                                              patience=patience, restore_best_weights=False)]

    def _summary(self, runs: list[dict], status: str, start: float, seeds: list,
                 error: str | None) -> TrialResult:
        history = _mean_history(runs)
        seconds = time.perf_counter() - start
        if status != COMPLETE or not runs:
            return TrialResult(status=status, history=history, seconds=seconds, seeds=seeds,
                               error=error, epochs_run=_epochs(runs))
        missing = [o.metric for o in self.space.all_objectives
                   if not o.measured and o.metric not in runs[0]]
        if missing:
            found = ", ".join(k for k in runs[0] if k.startswith("val_"))
            return failed(f"objective {missing[0]} not reported by the model "
                          f"(it reports {found})", seconds, seeds=seeds, history=history)
        best = [self._best_epoch(run) for run in runs]
        metrics = {key: float(np.mean([run[key][i] for run, i in zip(runs, best, strict=True)]))
                   for key in runs[0] if key.startswith("val_")}
        return TrialResult(status=COMPLETE, value=metrics[self.space.metric], metrics=metrics,
                           history=history, epochs_run=_epochs(runs), seconds=seconds,
                           seeds=seeds)

    def _best_epoch(self, run: dict) -> int:
        values = run[self.space.metric]
        return int(np.argmax(values) if self.space.maximize else np.argmin(values))


class CheckpointNotSaved(StoreError):
    """A trial's checkpoint (which later trials continue from) could not be written: the
    sweep stops and the trial runs again on resume; it is not the trial's failure."""


def _os_reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _non_finite(history: dict) -> str | None:
    for epoch, value in enumerate(history.get("loss", [])):
        if not math.isfinite(value):
            return f"loss became {value} at epoch {epoch + 1}: the model diverged"
    return None


def _epochs(runs: list[dict]) -> int:
    """Epochs trained, summed over repeats (what the trial cost)."""
    return sum(len(run.get("loss", [])) for run in runs)


def _mean_history(runs: list[dict]) -> dict:
    """Per-epoch mean over repeats; an epoch counts the repeats that reached it."""
    if not runs:
        return {}
    out = {}
    for key in runs[0]:
        longest = max(len(run.get(key, [])) for run in runs)
        out[key] = [float(np.mean([run[key][i] for run in runs if i < len(run.get(key, []))]))
                    for i in range(longest)]
    return out


def _describe(exc: Exception, text: str) -> str:
    """`text` (user_errors.describe) cut to 500 characters, a device failure's meaning kept."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    hint = _device_hint(type(exc).__name__, message)  # kept whole: the message is cut, not it
    return text[:500 - len(hint)] + hint


def _device_hint(kind: str, text: str) -> str:
    """What a GPU failure means for the sweep, after the backend's own words."""
    lowered = text.lower()
    if kind == "ResourceExhaustedError" or "out of memory" in lowered or "oom when" in lowered:
        return ("; the device ran out of memory: a smaller batch_size or model, or fewer "
                "trials on one GPU (--trials-per-gpu)")
    if kind == "InternalError" and any(w in lowered for w in ("cuda", "gpu", "device")):
        return "; the GPU failed (a lost or busy device): the sweep goes on without this trial"
    return ""


@functools.cache
def _interrupt_check_class() -> type:
    # heavy: keras
    import keras

    class InterruptCheck(keras.callbacks.Callback):
        """Raises a Ctrl-C that Python swallowed inside a finalizer during a batch; counts
        the epochs this fit finished (what a trial that fails later has trained)."""

        epochs = 0

        def on_train_batch_end(self, batch, logs=None):
            raise_if_interrupted()

        def on_epoch_end(self, epoch, logs=None):
            self.epochs += 1

    return InterruptCheck


def _InterruptCheck():  # noqa: N802 - reads like the class it makes
    return _interrupt_check_class()()


@functools.cache
def _epoch_report_class() -> type:
    # heavy: keras
    import keras

    class EpochReport(keras.callbacks.Callback):
        """Hands each finished epoch's logs to an EpochHook (the console's per-epoch line)."""

        def __init__(self, hook: EpochHook, epochs: int):
            super().__init__()
            self.hook, self.epochs = hook, epochs

        def on_epoch_end(self, epoch, logs=None):
            self.hook(epoch + 1, self.epochs, logs)

    return EpochReport


def _EpochReport(hook: EpochHook, epochs: int):  # noqa: N802 - reads like the class it makes
    return _epoch_report_class()(hook, epochs)


def save_model_atomically(model: Any, path: str) -> None:
    """Save a Keras model so that a reader never sees half a file (write_with makes its folder)."""
    write_with(path, lambda tmp: model.save(str(tmp)), suffix=".tmp.keras")  # Keras wants .keras


class ReadTracker(dict):
    """The params dict handed to a builder that declares nothing: it notes what is read."""

    def __init__(self, params: dict):
        super().__init__(params)
        self.read: set = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __contains__(self, key):
        self.read.add(key)
        return super().__contains__(key)


@functools.cache
def _best_weights_class() -> type:
    # heavy: keras
    import keras

    class BestWeights(keras.callbacks.Callback):
        """Keeps the weights of the epoch with the best objective (what the trial reports).

        Copying a model's weights costs milliseconds per epoch for a small MLP and more for
        a large one, so an epoch is copied only when it is the best so far and better than
        `beat` (the study's best, when given). `best_weights` stays None when no epoch was
        copied; the trial is then not saved. (The last epoch is copied too: a user's
        callback, such as EarlyStopping(restore_best_weights=True), may change the
        weights once the fit ends.)
        """

        def __init__(self, metric: str, maximize: bool, beat: float | None = None):
            super().__init__()
            self.metric, self.maximize, self.beat = metric, maximize, beat
            self.best, self.best_weights = None, None

        def _better(self, value: float, than: float | None) -> bool:
            return than is None or (value > than if self.maximize else value < than)

        def on_epoch_end(self, epoch, logs=None):
            value = (logs or {}).get(self.metric)
            if value is None or not math.isfinite(float(value)):
                return
            if not self._better(float(value), self.best):
                return
            self.best = float(value)
            if self._better(self.best, self.beat):  # else the trial is not saved at this epoch
                self.best_weights = self.model.get_weights()

    return BestWeights


def _BestWeights(metric: str, maximize: bool, beat: float | None = None):  # noqa: N802 - reads like the class it makes
    return _best_weights_class()(metric, maximize, beat)
