"""One factor of a comparison: parse `--vary NAME=V1,V2` and `--set NAME=VALUE`, check each
value against the space, and build each variant's whole point (the base-point rule is in
evaluation/compare.py's docstring and the README).
"""

from __future__ import annotations

import math
from typing import Any

from tuneyard.errors import TuneyardError
from tuneyard.space.file import space_folder
from tuneyard.workloads.registry import resolve_workload

# What the shipped builders use when a space does not tune them (workloads.builders).
TRAINING_DEFAULTS = {"learning_rate": 1e-3, "optimizer": "adam", "dropout": 0.0, "l2": 0.0}
OFF_WHEN_ZERO = ("l2", "dropout")  # 0 turns these off, even where a space's range starts above it


class CompareError(TuneyardError):
    """A comparison asked for something the space cannot give (a name, a value, a list)."""


def parse_assignment(text: str, option: str) -> tuple[str, list[str]]:
    """`name=v1,v2,...` -> (name, [v1, v2, ...]); CompareError when malformed."""
    name, sep, values = (text or "").partition("=")
    name = name.strip()
    example = "optimizer=sgd,adam" if option == "--vary" else "learning_rate=0.01"
    if not sep or not name:
        raise CompareError(f"{option} {text!r} is malformed; write NAME=VALUES, e.g. {option} {example}")
    items = [v.strip() for v in values.split(",")] if values.strip() else []
    if not items:
        raise CompareError(f"{option} {name}= lists no value; e.g. {option} {example}")
    if any(not v for v in items):
        raise CompareError(f"{option} {text!r} has an empty value between commas")
    return name, items


def parse_value(space: Any, name: str, text: str, option: str) -> Any:
    """The space's value for `text`, typed like the hyperparameter; CompareError if not legal."""
    param = hyperparameter(space, name, option)
    if param.kind == "choice":
        for choice in param.values:
            if str(choice) == text or (_number(text) is not None and not isinstance(choice, str)
                                       and _number(text) == choice):
                return choice
        raise CompareError(f"{option} {name}={text} is not one of the space's choices: "
                           f"{', '.join(map(str, param.values))}")
    value = _number(text)
    if value is None:
        raise CompareError(f"{option} {name}={text} is not a number")
    if param.kind == "int":
        if not float(value).is_integer():
            raise CompareError(f"{option} {name}={text} is not a whole number")
        value = int(value)
    if value == 0 and name in OFF_WHEN_ZERO:
        return 0.0
    if not param.contains(value):
        step = f" in steps of {param.step:g}" if param.step else ""
        raise CompareError(f"{option} {name}={text} is outside the space: {param.low:g} to "
                           f"{param.high:g}{step}" + (" (or 0: off)" if name in OFF_WHEN_ZERO else ""))
    return value


def hyperparameter(space: Any, name: str, option: str) -> Any:
    """The space's hyperparameter `name`; CompareError listing the names if unknown."""
    try:
        return space.param(name)
    except KeyError:
        names = ", ".join(p.name for p in space.params)
        raise CompareError(f"{option} {name}: space {space.name} has no hyperparameter {name!r}; "
                           f"it has {names}") from None


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def course_network(workload: str, folder: str | None = None) -> dict:
    """The small network the workload holds fixed in a comparison (`Workload.course_network`);
    empty when it names none or cannot be found."""
    try:
        return dict(resolve_workload(workload, folder).course_network)
    except TuneyardError:
        return {}


def base_point(space: Any, fixed: dict, vary: str, value: Any) -> dict:
    """The whole point of one variant: `vary`=`value`, the rest from --set, course, middle."""
    point: dict = {vary: value}
    course = {**TRAINING_DEFAULTS, **course_network(space.workload, space_folder(space))}
    for param in space.params:
        if param.name == vary or not space.is_active(param, point):
            continue
        if param.name in fixed:
            point[param.name] = fixed[param.name]
        elif param.name in course and _allowed(param, course[param.name]):
            point[param.name] = course[param.name]
        else:
            point[param.name] = middle(param)
    # Keep the space's order; a parent changed by `value` may switch children on or off.
    order = [p.name for p in space.params]
    return {k: point[k] for k in sorted(point, key=order.index) if space.is_active(space.param(k), point)}


def _allowed(param: Any, value: Any) -> bool:
    return param.contains(value) or (param.name in OFF_WHEN_ZERO and value == 0)


def middle(param: Any) -> Any:
    """A choice's first value; a number's midpoint (geometric if log), snapped to its step."""
    if param.kind == "choice":
        return param.values[0]
    low, high = float(param.low), float(param.high)
    mid = math.sqrt(low * high) if param.log and low > 0 else (low + high) / 2
    if param.step:
        mid = low + round((mid - low) / param.step) * param.step
    return int(round(mid)) if param.kind == "int" else float(mid)


def factor_points(space: Any, vary: str, fixed: dict | None = None) -> list[tuple[str, dict, dict]]:
    """(label, change, whole point) per value of `vary` ("name=v1,v2"), all else at the base point."""
    fixed = dict(fixed or {})
    name, texts = parse_assignment(vary, "--vary")
    hyperparameter(space, name, "--vary")
    if name in fixed:
        raise CompareError(f"{name} is both varied (--vary) and fixed (--set); drop one")
    values = [parse_value(space, name, text, "--vary") for text in texts]
    if len(set(map(repr, values))) < len(values):
        raise CompareError(f"--vary {vary}: a value is listed twice")
    runs = []
    for value in values:
        point = base_point(space, fixed, name, value)
        if name not in point:
            param = space.param(name)
            raise CompareError(f"--vary {name} is inactive at the base point: it exists only when "
                               f"{param.parent} is {', '.join(map(str, param.parent_values))}; "
                               f"add --set {param.parent}={param.parent_values[-1]}")
        unused = [k for k in fixed if k not in point]
        if unused:
            param = space.param(unused[0])
            raise CompareError(f"--set {unused[0]} is inactive at {name}={value} (it exists only when "
                               f"{param.parent} is {', '.join(map(str, param.parent_values))})")
        runs.append((f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}",
                     {name: value}, point))
    return runs


def parse_fixed(space: Any, sets: list[str] | None) -> dict:
    """--set name=value (repeatable) -> {name: typed value}, each checked against the space."""
    fixed = {}
    for text in sets or []:
        name, values = parse_assignment(text, "--set")
        if len(values) != 1:
            raise CompareError(f"--set {text!r} gives {len(values)} values; --set takes one")
        fixed[name] = parse_value(space, name, values[0], "--set")
    return fixed
