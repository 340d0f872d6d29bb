"""Finding a workload by the name a space gives it: an entry point, or `module:object`.

There is no privileged list: the shipped workloads register under the
`tuneyard.workloads` entry-point group exactly as an installed package of a
user's would, and `module:object` imports any module, with the space file's
folder on the import path so a file beside the space works without installing.
Worker processes and `tune worker` resolve the same name the same way.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from ..errors import SpaceError
from .base import Workload

ENTRY_POINT_GROUP = "tuneyard.workloads"
IN_PROCESS_PREFIX = "python:"
# Workloads handed over as objects in this process (tuneyard.search): a name no other
# process can resolve, which is why such a study refuses worker processes.
_IN_PROCESS: dict[str, Workload] = {}


def register_in_process(name: str, workload: Workload) -> None:
    """Make `workload` resolvable as `name` in this process only."""
    _IN_PROCESS[name] = workload


@contextlib.contextmanager
def resolved_as(name: str, workload: Workload) -> Iterator[None]:
    """Within the block, `name` resolves to `workload` in this process (a module's
    workload included); after it, to what it did before."""
    before = _IN_PROCESS.get(name)
    _IN_PROCESS[name] = workload
    try:
        yield
    finally:
        if before is None:
            _IN_PROCESS.pop(name, None)
        else:
            _IN_PROCESS[name] = before


@functools.cache
def installed_workloads() -> dict[str, str]:
    """Entry-point name -> "module:object" for every workload installed."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def resolve_workload(name: str, folder: str | Path | None = None) -> Workload:
    """The workload `name` names, as a fresh instance; SpaceError saying why not."""
    if not isinstance(name, str) or not name.strip():
        raise SpaceError(f"workload {name!r} is not a name; {_how_to_name()}")
    if name in _IN_PROCESS:
        return _IN_PROCESS[name]
    if name.startswith(IN_PROCESS_PREFIX):
        raise SpaceError(f"workload {name!r} was a build function handed to tuneyard.search in "
                         "another Python process; it cannot be imported here: put it in a "
                         "module and name it in a space as module:object")
    target = name if ":" in name else installed_workloads().get(name)
    if target is None:
        raise SpaceError(f"unknown workload {name!r}; {_how_to_name()}")
    module_name, _, attribute = target.partition(":")
    module = _import(module_name, folder, name)
    obj = getattr(module, attribute, None) if attribute else None
    if obj is None:
        raise SpaceError(f"workload {name!r}: module {module_name} has no {attribute or 'object'} "
                         "(write it as module:object)")
    return as_workload(obj, name)


def as_workload(obj: Any, name: str) -> Workload:
    """A Workload instance from a class, an instance or any object with load/build_model."""
    try:
        instance = obj() if inspect.isclass(obj) else obj
    except Exception as exc:  # an abstract method left out, or the user's __init__ raised
        text = (str(exc).strip().splitlines() or [""])[0]
        raise SpaceError(f"workload {name!r} could not be created: {type(exc).__name__}: "
                         f"{text}") from None
    missing = [m for m in ("load", "build_model") if not callable(getattr(instance, m, None))]
    if missing:
        raise SpaceError(f"workload {name!r} is not a workload: it has no {' and no '.join(missing)} "
                         "method; subclass tuneyard.Workload (load() -> Dataset, "
                         "build_model(params, dataset, options) -> compiled keras.Model)")
    if not isinstance(instance, Workload):
        raise SpaceError(f"workload {name!r} is not a workload: subclass tuneyard.Workload so it "
                         "declares the hyperparameters it reads")
    if not getattr(instance, "name", ""):
        instance.name = name
    return instance


def _import(module_name: str, folder: str | Path | None, name: str) -> Any:
    if folder is not None:
        _refuse_shadowed(module_name.split(".")[0], Path(folder), name)
        if str(folder) not in sys.path:
            # After the installed packages, not first: a file beside the space named like a
            # library tuneyard imports (optuna.py, keras.py, sqlite3.py) must not replace it.
            # A spawned worker copies this path, in this order.
            sys.path.append(str(folder))
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            where = f"the space's folder {folder} and " if folder is not None else ""
            raise SpaceError(f"workload {name!r}: module {module_name} was not found on "
                             f"{where}the Python path; put {module_name.split('.')[0]}.py beside "
                             "the space file or install its package") from None
        raise SpaceError(f"workload {name!r}: importing {module_name} failed: {exc}") from None
    except SystemExit as exc:  # a script's argparse or sys.exit() run at import
        raise SpaceError(f"workload {name!r}: importing {module_name} exited (SystemExit: "
                         f"{exc.code}); put the script's own code under "
                         "`if __name__ == \"__main__\":`") from None
    except Exception as exc:  # the user's module raised while importing
        text = (str(exc).strip().splitlines() or [""])[0]
        raise SpaceError(f"workload {name!r}: importing {module_name} failed: "
                         f"{type(exc).__name__}: {text}") from None


def _refuse_shadowed(top: str, folder: Path, name: str) -> None:
    """SpaceError when the workload's module is a file in the space's folder whose name an
    installed or standard module already takes: that one would be imported instead."""
    local = next((p for p in (folder / f"{top}.py", folder / top) if p.exists()), None)
    if local is None:
        return
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):  # a broken or odd module of that name: let the import say
        return
    origin = spec.origin if spec is not None else None
    if origin is None or folder.resolve() in Path(origin).resolve().parents[:2]:
        return  # not found elsewhere, or it is this very file (imported already)
    raise SpaceError(f"workload {name!r}: {local} has the name of the module {top} that is "
                     f"installed or built in ({origin}) and would be imported instead; rename "
                     f"the file and the workload's module:object")


def _how_to_name() -> str:
    names = ", ".join(sorted(installed_workloads())) or "none installed"
    return (f"name an installed one ({names}; entry-point group {ENTRY_POINT_GROUP}) or a "
            "module:object such as my_models:Digits, with my_models.py beside the space file")


def load_kwargs(workload: Workload, fixed: dict) -> dict:
    """The space's fixed settings that the workload's `load` takes as keyword arguments."""
    accepted = inspect.signature(workload.load).parameters
    return {key: value for key, value in fixed.items() if key in accepted}


get_workload = resolve_workload  # the name the rest of tuneyard and its tests know
