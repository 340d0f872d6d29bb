"""A trial's error in the user's terms: where in their code, what, and what to do.

A workload's `build_model` (or the function handed to `tuneyard.search`) is the user's
code; a trial that fails there is reported at the last frame in the user's module, not in
tuneyard's or Keras' (a `KeyError: 'lr'` read through the params is the user's line, not
tuneyard's params dict). The usual mistakes are caught before Keras trips over them and
say what to do: a model never compiled, no model returned, a parameter the space does not
define.
"""

from __future__ import annotations

import inspect
import sysconfig
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tuneyard.space.core import Space
from tuneyard.workloads.function import FunctionWorkload

PACKAGE = Path(__file__).resolve().parents[1]  # tuneyard itself
# Installed libraries and the standard library: never the user's module.
LIBRARIES = tuple({Path(sysconfig.get_paths()[key]).resolve()
                   for key in ("stdlib", "platstdlib", "purelib", "platlib")})


class BuildMistake(Exception):
    """What build_model returned cannot be trained; `where` is its `(at file:line)`."""

    kind = "ValueError"

    def __init__(self, message: str, where: str = ""):
        super().__init__(message)
        self.where = where


class NoModel(BuildMistake):
    """build_model returned None or something that is not a Keras model."""

    kind = "TypeError"


class NotCompiled(BuildMistake):
    """build_model returned a model without calling compile()."""


def builder(workload: Any) -> Callable | None:
    """The user's build function of a workload (a search's function, else build_model)."""
    if isinstance(workload, FunctionWorkload):
        return workload.build
    return getattr(type(workload), "build_model", None)


def _source(fn: Any) -> tuple[Path, int] | None:
    """(file, first line) of a function's source, where Python knows it."""
    try:
        fn = inspect.unwrap(fn)
        return Path(inspect.getsourcefile(fn)).resolve(), inspect.getsourcelines(fn)[1]
    except (TypeError, OSError, ValueError):
        return None


def user_files(workload: Any) -> set[Path]:
    """The files of the workload's own code: its class's module and its build function's
    (a search's function alone: its wrapper class is tuneyard's)."""
    files = set()
    own_class = () if isinstance(workload, FunctionWorkload) else (type(workload),)
    for item in (*own_class, builder(workload)):
        try:
            found = inspect.getsourcefile(item) if item is not None else None
        except TypeError:  # a built-in, or a class defined in __main__ of a notebook
            found = None
        if found:
            files.add(Path(found).resolve())
    return files


def _is_library(filename: str) -> bool:
    if filename.startswith("<"):  # <frozen ...>, <string>
        return True
    path = Path(filename).resolve()
    return any(root == path or root in path.parents for root in (PACKAGE, *LIBRARIES))


def user_frame(exc: BaseException, workload: Any) -> traceback.FrameSummary | None:
    """The last frame of the traceback in the workload's own files, else in any file that
    is neither tuneyard's nor an installed library's; None when there is none."""
    frames = traceback.extract_tb(exc.__traceback__)
    files = user_files(workload) if workload is not None else set()
    own = [f for f in frames if Path(f.filename).resolve() in files]
    other = [f for f in frames if not _is_library(f.filename)]
    found = own or other
    return found[-1] if found else None


def location(exc: BaseException, workload: Any = None) -> str:
    """` (at file:line)`: the user's last frame, else the traceback's last frame."""
    if isinstance(exc, BuildMistake) and exc.where:
        return exc.where
    frame = user_frame(exc, workload)
    if frame is None:
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        frame = last[0] if last else None
    return f" (at {Path(frame.filename).name}:{frame.lineno})" if frame else ""


def build_site(workload: Any) -> str:
    """` (at file:line)` of the user's build function's definition, if known."""
    found = _source(builder(workload))
    return f" (at {found[0].name}:{found[1]})" if found else ""


def check_built(model: Any, workload: Any) -> None:
    """Refuse what build_model returned when it cannot be trained, saying what to do."""
    name = getattr(builder(workload), "__name__", "build_model")
    if model is None:
        raise NoModel(f"{name} returned None, not a Keras model; end it with `return model`",
                      build_site(workload))
    if not callable(getattr(model, "fit", None)):
        raise NoModel(f"{name} returned a {type(model).__name__}, not a Keras model; return "
                      "the compiled keras.Model", build_site(workload))
    if getattr(model, "compiled", True) is False or getattr(model, "optimizer", True) is None:
        raise NotCompiled(f"the model {name} returned was never compiled; call "
                          "model.compile(optimizer=..., loss=..., metrics=[...]) in "
                          f"{name} before returning it", build_site(workload))


def missing_param_hint(exc: BaseException, space: Space | None, params: dict | None) -> str:
    """For a KeyError on a name the trial's params lack: what the space defines, what to do."""
    if not isinstance(exc, KeyError) or space is None or len(exc.args) != 1:
        return ""
    key = exc.args[0]
    if not isinstance(key, str) or (params is not None and key in params):
        return ""
    names = [p.name for p in space.params]
    if key in names:  # a conditional parameter this trial does not have
        param = space.param(key)
        values = ", ".join(map(str, param.parent_values))
        return (f"{key!r} exists only when {param.parent} is {values}: read it under that "
                f"condition, or with params.get({key!r}, DEFAULT)")
    fixed = f"; fixed settings (in options): {', '.join(space.fixed)}" if space.fixed else ""
    return (f"the space defines no parameter {key!r} (its parameters: {', '.join(names)}"
            f"{fixed}); add it to the space's hyperparameters, or read another name")


def describe(exc: BaseException, workload: Any = None, space: Space | None = None,
             params: dict | None = None) -> str:
    """`Type: message; what to do (at file:line)`: the error as a trial records it."""
    kind = exc.kind if isinstance(exc, BuildMistake) else type(exc).__name__
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    hint = missing_param_hint(exc, space, params)
    return f"{kind}: {text}{'; ' + hint if hint else ''}{location(exc, workload)}"
