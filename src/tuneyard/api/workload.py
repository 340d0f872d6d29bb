"""What `tuneyard.search` trains: a build function and data, a workload object, or the
workload its space names; and the space, made from a dict with tuneyard's defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tuneyard.api.naming import word
from tuneyard.engine.fit_arguments import check_callbacks, class_weight_problem
from tuneyard.engine.user_errors import BuildMistake
from tuneyard.errors import ArgumentError, TuneyardError
from tuneyard.space.core import Space
from tuneyard.space.file import load_space, parse_space
from tuneyard.workloads.function import FunctionWorkload
from tuneyard.workloads.registry import IN_PROCESS_PREFIX, as_workload, register_in_process

DEFAULT_TRAINING = {"epochs": 10, "batch_size": 32}
HERE_ONLY = ("a build function or workload object given here lives in this process, which "
             "no other process can import")
TO_A_MODULE = "put it in a module and name it in the space (workload: my_module:MyWorkload)"


def workload_name(build_model: Any, workload: Any, data: Any, task: str | None, fit: dict,
                  subset: int | None) -> tuple[str | None, Any]:
    """The in-process name of what to train and the workload object, registered; (None,
    None) when neither is given (the space must name its workload)."""
    if build_model is not None and workload is not None:
        raise ArgumentError("give either build_model (with data) or workload, not both")
    if build_model is None and workload is None:
        given = [k for k, v in {"data": data, "task": task, **fit}.items() if v is not None]
        if given:
            raise ArgumentError(f"{given[0]} goes with build_model; give build_model, or "
                                "leave it out when the space names its workload")
        return None, None
    if workload is not None:
        given = [k for k, v in fit.items() if v is not None]
        if given:
            raise ArgumentError(f"{given[0]}: a workload object gives its own from its "
                                "fit_options(params, dataset) method; return them there")
        instance = as_workload(workload, getattr(workload, "name", "") or "workload")
        name = f"{IN_PROCESS_PREFIX}{instance.name or type(instance).__name__}"
        register_in_process(name, instance)
        return name, instance
    if not callable(build_model):
        raise ArgumentError(f"build_model must be a function params -> compiled keras.Model, "
                            f"got {type(build_model).__name__}")
    if data is None:
        raise ArgumentError("build_model needs data: (x, y), or a dict with train, validation "
                            "and test (x, y) pairs")
    fn_name = getattr(build_model, "__name__", "build_model")
    name = f"{IN_PROCESS_PREFIX}{fn_name}"
    made = FunctionWorkload(build_model, data, task=task, name=fn_name, **fit)
    check_fit(made, subset)
    register_in_process(name, made)
    return name, made


def in_process_refusal(*, workers: int, trials_per_process: int | None, gpus: Any,
                       executor: str, address: str | None) -> None:
    """Refuse the options that run trials in other processes, for a workload of this one."""
    if workers > 1:
        raise ArgumentError(f"workers={workers} runs trials in other processes, and {HERE_ONLY}: "
                            f"{TO_A_MODULE}, or use workers=1")
    if trials_per_process:
        raise ArgumentError(f"trials_per_process={trials_per_process} runs trials in a worker "
                            f"process, and {HERE_ONLY}: {TO_A_MODULE}, or leave it out")
    if gpus is not None:
        raise ArgumentError(f"gpus={gpus!r} picks a GPU for each worker process, and {HERE_ONLY}: "
                            f"{TO_A_MODULE}, or set CUDA_VISIBLE_DEVICES before TensorFlow loads")
    if executor != "local" or address is not None:
        raise ArgumentError(f"executor={executor!r} runs trials as Ray actors, in other processes, "
                            f"and {HERE_ONLY}: {TO_A_MODULE}, or use executor='local'")


def check_fit(made: FunctionWorkload, subset: int | None) -> None:
    """Refuse, before any trial, a subset of a pipeline, class weights or callbacks that
    no fit could take (ArgumentError names the argument)."""
    problem = made.subset_problem(subset)
    if problem:
        raise ArgumentError(problem)
    if made.class_weight is not None:
        if made.task != "classification":
            raise ArgumentError("class_weight: the task is regression, which has no classes; "
                                "weigh samples with data=(x, y, sample_weight)")
        classes = None
        y = made.parts["train"][1]
        if y is not None and getattr(y, "ndim", 0) == 1:
            classes = int(y.max()) + 1 if len(y) else None
        problem = class_weight_problem(made.class_weight, classes)
        if problem:
            raise ArgumentError(f"class_weight {problem}")
    if isinstance(made.callbacks, list) and made.callbacks:
        try:
            check_callbacks(made.callbacks, "callbacks")
        except BuildMistake as exc:
            raise ArgumentError(str(exc)) from None


def space_of(space: Any, workload: str | None, name: str | None) -> Space:
    """The Space of `space` (a Space, a YAML path, a dict); a dict is named `name` and, when
    it names no workload, runs `workload` (the in-process one)."""
    if isinstance(space, Space):
        found = space
    elif isinstance(space, str | Path):
        found = load_space(str(space))
    elif not isinstance(space, dict):
        raise ArgumentError(f"space must be a dict, a YAML path or a Space, got {type(space).__name__}")
    else:
        if workload is None and "workload" not in space:
            raise ArgumentError("space: give build_model (with data) or workload, or name the "
                                "workload in the space (workload: my_module:MyWorkload)")
        body = {"name": name or word(str(space["workload"])),
                **({} if "objectives" in space else
                   {"objective": {"metric": "val_loss", "direction": "minimize"}}),
                "training": dict(DEFAULT_TRAINING), **space}
        body.setdefault("workload", workload)
        found = parse_space(yaml.safe_dump(body, sort_keys=False), "<tuneyard.search space>")
    if workload is None and found.workload.startswith(IN_PROCESS_PREFIX):
        raise TuneyardError(f"space names workload {found.workload!r}, which only a build function "
                            "handed to tuneyard.search in this process was; give it again")
    return found
