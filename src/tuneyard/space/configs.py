"""Given configurations checked against a space: `--enqueue FILE` and `--warm-from`'s fit.

A configuration is a dict of hyperparameter values. `checked` refuses one outside the
space in one line naming the parameter and what the space allows; `misfit` says in a
few words why an earlier study's trial does not fit a new space (it is then not carried).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml

from tuneyard.errors import SpaceError
from tuneyard.space.core import Param, Space, count
from tuneyard.space.yaml_limits import YamlLimitError, load_yaml, read_text

SHOWN_VALUES = 12  # grid values listed in a message; a longer axis is given as a range


def allowed(param: Param, grid: bool = False) -> str:
    """What `param` accepts, in words: "an int from 32 to 512 in steps of 32"."""
    if grid:
        values = param.grid_values()
        if count(values) <= SHOWN_VALUES:
            return "one of the grid's values " + ", ".join(_show(v) for v in values)
        return f"a grid value from {_show(values[0])} to {_show(values[-1])}"
    if param.kind == "choice":
        return "one of " + ", ".join(_show(v) for v in param.values)
    text = f"{'an int' if param.kind == 'int' else 'a float'} from {_show(param.low)} to {_show(param.high)}"
    if param.step:
        text += f" in steps of {_show(param.step)}"
    return text + (" (log scale)" if param.log else "")


def misfit(space: Space, params: dict) -> str | None:
    """Why `params` is not a point of `space` (a few words), or None when it is."""
    for p in space.params:
        active = space.is_active(p, params)
        if active and p.name not in params:
            return f"{p.name} missing"
        if not active and p.name in params:
            return f"{p.name} set where {p.parent} makes it inactive"
        if active and not p.contains(params[p.name]):
            return f"{p.name} outside {allowed(p)}"
    extra = sorted(set(params) - {p.name for p in space.params})
    return f"{extra[0]} not in the space" if extra else None


def on_grid(space: Space, params: dict) -> bool:
    """Whether `params` is a point of the space's grid (every active value a grid value)."""
    return misfit(space, params) is None and all(
        _on_grid(p, params[p.name]) for p in space.active_params(params))


def load_configurations(path: str) -> list:
    """The list in a YAML or JSON file (JSON is YAML), read with the space files' limits."""
    try:
        _, data = load_yaml(read_text(Path(path)))
    except YamlLimitError as exc:
        raise SpaceError(f"{path}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else path
        raise SpaceError(f"{where}: malformed YAML or JSON: {getattr(exc, 'problem', None) or exc}") \
            from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else "not UTF-8 text"
        raise SpaceError(f"{path} cannot be read: {reason}") from None
    return data


def checked(space: Space, configs: Any, where: str, *, whole: bool, grid: bool = False) -> list[dict]:
    """`configs` as typed points of `space`, or SpaceError naming the first wrong value.

    `where` names the list in messages ("--enqueue good.yaml", "enqueue="); `whole`: every
    active hyperparameter must be given (the grid and Keras Tuner run a point as given;
    Optuna samples the ones left out); `grid`: each value must be one of the grid's.
    """
    if not isinstance(configs, list | tuple) or not configs:
        raise SpaceError(f"{where} must be a non-empty list of configurations, each a mapping of "
                         f"hyperparameter names to values (got {type(configs).__name__})")
    return [_one(space, config, f"{where}, configuration {i + 1}", whole, grid)
            for i, config in enumerate(configs)]


def _one(space: Space, config: Any, where: str, whole: bool, grid: bool) -> dict:
    if not isinstance(config, dict) or not config:
        raise SpaceError(f"{where}: a configuration is a mapping of hyperparameter names to "
                         f"values, got {json.dumps(config, default=str)}")
    names = [p.name for p in space.params]
    unknown = sorted(str(k) for k in config if k not in names)
    if unknown:
        raise SpaceError(f"{where}: {unknown[0]} is not a hyperparameter of space {space.name} "
                         f"(it has {', '.join(names)})")
    out = {}
    for p in space.params:  # space order: a parent is typed before its children are checked
        if p.name not in config:
            if whole and space.is_active(p, out):
                raise SpaceError(f"{where}: {p.name} is missing ({allowed(p, grid)}); the "
                                 f"{'grid' if grid else 'backend'} runs a configuration as given")
            continue
        if not space.is_active(p, out):
            raise SpaceError(f"{where}: {p.name} applies only when {p.parent} is one of "
                             f"{', '.join(_show(v) for v in p.parent_values)}")
        value = _typed(p, config[p.name])
        inside = _on_grid(p, value) if grid else p.contains(value)
        if not inside:
            raise SpaceError(f"{where}: {p.name}={_show(config[p.name])} is outside the space: "
                             f"{p.name} takes {allowed(p, grid)}")
        out[p.name] = value
    return out


def _on_grid(param: Param, value: Any) -> bool:
    # `in range(...)` walks the range for a non-int: an int axis may hold 10**12 values.
    if param.kind == "int" and param.grid is None and (isinstance(value, bool) or not isinstance(value, int)):
        return False
    return value in param.grid_values()


def _typed(param: Param, value: Any) -> Any:
    """A number written as text ("1e-3": YAML reads it so) as a number; an int param's 64.0
    as 64. Anything else is left for the range check to refuse."""
    if param.kind == "choice" or isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return value
    if isinstance(value, float) and math.isfinite(value) and param.kind == "int" and value.is_integer():
        return int(value)
    if isinstance(value, int) and param.kind == "float":
        return float(value)
    return value


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
