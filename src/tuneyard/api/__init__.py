"""`tuneyard.search`: the whole tool from Python (a notebook, a script).

It takes a build function (params -> compiled Keras model) and data, or a workload
object, or a space that names its workload, runs the same sweep `tune run` runs (every
option of `tune run`, with the same defaults) and returns the ranked leaderboard, the best
params and the best model, which `SearchResult.evaluate()` scores on the test split. The
study lands in the same store, so `tune studies`, `leaderboard`, `report` and `export`
work on it. In a notebook the progress is one display updated in place (progress.py);
errors name this function's arguments (`fresh=True`), not the CLI's flags.
"""

from __future__ import annotations

from typing import Any

from tuneyard import quiet_import
from tuneyard.api.naming import default_name
from tuneyard.api.progress import NotebookProgress, in_notebook
from tuneyard.api.result import SearchResult, make_result
from tuneyard.api.workload import in_process_refusal, space_of, workload_name
from tuneyard.cli.progress import ProgressEvents
from tuneyard.engine.options import DEFAULT_TRIALS_PER_PROCESS, hyperband_options
from tuneyard.engine.sweep import Sweep, SweepOptions
from tuneyard.engine.tracking import check_tracking
from tuneyard.errors import ArgumentError, TuneyardError, api_words
from tuneyard.report.build import build_report
from tuneyard.space.file import space_folder
from tuneyard.workloads.registry import IN_PROCESS_PREFIX, resolve_workload

# The arguments of `search` that `tune run` has no option for (tests/test_api_options.py
# checks that every other argument is one of `tune run`'s, with its default).
API_ONLY = ("build_model", "data", "workload", "task", "progress", "callbacks", "class_weight")


def search(build_model: Any = None, data: Any = None, *, space: Any, workload: Any = None,
           backend: str = "tpe", trials: int | None = None, epochs: int | None = None,
           subset: int | None = None, seed: int = 0, storage: str | None = None,
           study: str | None = None, data_dir: str | None = None, fresh: bool = False,
           verbose: bool = False, precision: str | None = None, max_epochs: int | None = None,
           factor: int | None = None, prune: str = "none", workers: int = 1,
           max_failures: int = 5, trials_per_process: int | None = None, report: bool = False,
           timeout: Any = None, trial_timeout: Any = None, gpus: Any = None,
           trials_per_gpu: int = 1, executor: str = "local", address: str | None = None,
           tensorboard: str | None = None, mlflow: str | None = None,
           warm_from: str | None = None, enqueue: Any = None, task: str | None = None,
           progress: bool = True, callbacks: Any = None,
           class_weight: dict | None = None) -> SearchResult:
    """Search `space` for the best model: `tune run` from Python, same options and defaults.

    What to train (one of):
    - `build_model` (params dict -> compiled keras.Model) with `data`: (x, y) or
      (x, y, sample_weight), split by the space's validation_split (stratified for
      classification); or a dict of "train", "validation" and "test" parts, each such a
      tuple or a tf.data.Dataset / keras.utils.PyDataset ("validation" given, no `subset`).
      `task`: "classification" or "regression" (default: from the labels). `callbacks`:
      Keras callbacks beside tuneyard's own, a list (a deep copy each fit) or a function
      params -> list; `class_weight`: {class index: weight}, passed to every fit.
    - `workload`: a Workload object or class (its fit_options gives its callbacks).
    - neither: `space` names its workload (`workload: my_module:MyWorkload`), which worker
      processes and Ray actors can import, so `workers`, `gpus`, `executor` apply.
    `space`: a dict (hyperparameters, and optionally objective(s), training, workload), a
    YAML path or a Space. A dict's default study name comes from the build function (or
    workload class) and the file defining it, e.g. `build_model-wine-3f2a-tpe-s0`
    (api/naming.py); re-running the same script resumes it.

    `tune run`'s options: `backend` (grid, tpe, random, hyperband, bayes, nsga2);
    `trials` (the study's budget; default 20, or the grid's size); `epochs` (per trial;
    default the space's); `subset` (train on N samples); `seed`; `storage` (default
    results/tuneyard.db); `study` (a name; resumed if it exists); `data_dir`; `fresh`
    (delete the study and start over); `verbose` (Keras' per-epoch output and TensorFlow's
    logs); `precision` ("float32", "mixed", "mixed_float16", "mixed_bfloat16"; Keras'
    global policy is put back after); `max_epochs`, `factor` (Hyperband's largest budget
    and factor); `prune` ("none", "median", "hyperband", for tpe); `workers` (trials at
    once, each in its own process: a workload named in the space only); `max_failures`
    (stop after this many failed trials in a row); `trials_per_process` (trials a worker
    process runs before a fresh one replaces it; None: 0, this process, for a function or
    object given here, which no other process can import; else tune run's 10); `report`
    (write results/<study>/report/, path in `report_path`); `timeout` (a wall-clock budget,
    seconds or "2h": no trial starts that cannot end in it); `trial_timeout` (seconds or
    "20m" a trial may run before it is stopped and recorded FAIL); `gpus` ("0,2": the GPUs
    the worker processes train on), `trials_per_gpu` (workers sharing one); `executor`
    ("local" or "ray"), `address` (the Ray cluster); `tensorboard` (a folder:
    DIR/<study>/trial-N event files, HParams included); `mlflow` (a tracking URI: the study
    a parent run, each trial a child run); `warm_from` (an earlier study whose finished
    trials that fit start this new one; give `study` a new name); `enqueue` (configurations
    to run first: a list of dicts, or a YAML/JSON file of one).
    `progress`: show the sweep's progress (one live display in a notebook, a bar on a
    terminal, a line per trial elsewhere).
    """
    with api_words(), quiet_import.quieted(verbose):
        check_tracking(tensorboard, mlflow, api=True)
        fit = {"callbacks": callbacks, "class_weight": class_weight}
        name, instance = workload_name(build_model, workload, data, task, fit, subset)
        the_space = space_of(space, name, default_name(build_model or workload, _base(name))
                             if name else None)
        local = the_space.workload.startswith(IN_PROCESS_PREFIX)
        if local:
            in_process_refusal(workers=workers, trials_per_process=trials_per_process, gpus=gpus,
                               executor=executor, address=address)
        per_process = trials_per_process if trials_per_process is not None else (
            0 if local else DEFAULT_TRIALS_PER_PROCESS)
        options = SweepOptions(
            space=the_space, backend=backend, trials=trials, epochs=epochs, subset=subset,
            seed=seed, storage=storage, study=study, data_dir=data_dir, fresh=fresh,
            verbose=verbose, precision=precision, prune=prune, workers=workers,
            max_failures=max_failures, trials_per_process=per_process,
            backend_options=hyperband_options(max_epochs, factor), timeout=timeout,
            trial_timeout=trial_timeout, gpus=gpus, trials_per_gpu=trials_per_gpu,
            executor=executor, address=address,
            tensorboard=None if tensorboard is None else str(tensorboard), mlflow=mlflow,
            warm_from=warm_from, enqueue=enqueue, api=True)
        result = _run(Sweep(options), the_space, progress, options.timeout)
        if result.all_failed:
            raise TuneyardError(f"{result.all_failed}; the table is in {result.csv_path}")
        made = build_report(result.study, storage) if report else None
        if instance is None:  # a workload the space names: evaluate() resolves it as it is
            instance = resolve_workload(the_space.workload, space_folder(the_space))
        return make_result(the_space, result, storage=storage, workload=instance,
                           workload_name=the_space.workload,
                           report_path=str(made.index) if made else None)


def _base(name: str) -> str:
    return name.removeprefix(IN_PROCESS_PREFIX)


def _run(sweep: Sweep, space: Any, progress: bool, timeout: float | None) -> Any:
    """Run the sweep, its progress shown (one display in a notebook) and stopped however
    it ends."""
    events = None
    if progress:
        kind = NotebookProgress if in_notebook() else ProgressEvents
        events = kind(space.metric, timeout=timeout)
    try:
        return sweep.run(events)
    finally:
        if events is not None:
            events.stop()


__all__ = ["search", "SearchResult", "ArgumentError"]
