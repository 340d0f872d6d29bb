"""The validation rules of a space file's `training` and `hyperparameters` sections.

`fail(keys, rule)` raises a SpaceError naming the file, line and field; every
function here calls it for the first rule broken.
"""

from __future__ import annotations

import math
from typing import Any

from tuneyard.space.core import KINDS, MEASURES, PRECISIONS, Param, Training, is_number

PARAM_KEYS = {"type", "low", "high", "step", "log", "values", "grid", "when"}
TRAINING_RULES = {
    "epochs": (int, 1, None),
    "batch_size": (int, 1, None),
    "executions_per_trial": (int, 1, None),
    "patience": (int, 0, None),
    "validation_split": (float, 0.0, 1.0),
    "max_epochs": (int, 1, None),
    "factor": (int, 2, None),
}


def build_training(section: Any, fail) -> Training:
    """Validate the `training` mapping into a Training."""
    if not isinstance(section, dict):
        fail(("training",), "must be a mapping such as {epochs: 10, batch_size: 32}")
    values: dict[str, Any] = {}
    for key, raw in section.items():
        if key == "lr_decay":
            values[key] = _lr_decay(raw, fail)
            continue
        if key == "measure":
            values[key] = _measure(raw, fail)
            continue
        if key == "precision":
            if raw not in PRECISIONS:
                fail(("training", key), f"must be one of {', '.join(PRECISIONS)}, got {raw!r}")
            values[key] = raw
            continue
        if key not in TRAINING_RULES:
            allowed = ", ".join([*TRAINING_RULES, "lr_decay", "precision", "measure"])
            fail(("training", key), f"unknown setting; allowed: {allowed}")
        kind, low, high = TRAINING_RULES[key]
        value = _number(raw)
        ok = value is not None and (kind is float or float(value).is_integer())
        if ok and kind is float:
            ok = low < value < high
        elif ok:
            ok = value >= low
        if not ok:
            bound = f"between {low} and {high} (exclusive)" if kind is float else f">= {low}"
            what = "a number" if kind is float else "an integer"
            fail(("training", key), f"must be {what} {bound}, got {raw!r}")
        values[key] = kind(value)
    return Training(**values)


def _measure(raw: Any, fail) -> tuple:
    """`training.measure`: measures recorded as columns though no objective names them."""
    raw = [raw] if isinstance(raw, str) else raw
    if not isinstance(raw, list) or any(m not in MEASURES for m in raw):
        fail(("training", "measure"), f"must be a list of {', '.join(MEASURES)}, got {raw!r}")
    return tuple(m for m in MEASURES if m in raw)


def _lr_decay(raw: Any, fail) -> dict | None:
    if raw in (None, False):
        return None
    defaults = {"rate": 0.5, "every_epochs": 5, "min_lr": 1e-6}
    if raw is True:
        return defaults
    if not isinstance(raw, dict) or set(raw) - set(defaults):
        fail(("training", "lr_decay"), "must be true/false or a mapping with rate, every_epochs, min_lr")
    merged = {**defaults, **{k: _number(v) for k, v in raw.items()}}
    rate, every = merged["rate"], merged["every_epochs"]
    if not (rate and 0 < rate < 1 and every and every >= 1):
        fail(("training", "lr_decay"), "rate must be in (0, 1) and every_epochs >= 1")
    return merged


def build_params(section: Any, fail) -> tuple[Param, ...]:
    """Validate the `hyperparameters` mapping into Params, conditionals checked."""
    if not isinstance(section, dict) or not section:
        fail(("hyperparameters",), "required: a non-empty mapping of name -> {type: int|float|choice, ...}")
    params: list[Param] = []
    for name, spec in section.items():
        if not isinstance(name, str) or not name.isidentifier():
            fail(("hyperparameters", name), "a hyperparameter name must be a Python identifier")
        params.append(_param(name, spec, params, lambda k, r, n=name: fail(("hyperparameters", n, *k), r)))
    return tuple(params)


def _param(name: str, spec: Any, earlier: list[Param], fail) -> Param:
    if not isinstance(spec, dict):
        fail((), "must be a mapping with type: int, float or choice")
    unknown = sorted(set(spec) - PARAM_KEYS)
    if unknown:
        fail((unknown[0],), f"unknown key; allowed: {', '.join(sorted(PARAM_KEYS))}")
    kind = spec.get("type")
    if kind not in KINDS:
        fail(("type",), f"must be one of {', '.join(KINDS)}, got {kind!r}")
    fields = _choice_fields(spec, fail) if kind == "choice" else _range_fields(kind, spec, fail)
    param = Param(name=name, kind=kind, **fields, **_condition(spec, earlier, fail))
    if "grid" in spec:
        param = Param(**{**param.__dict__, "grid": _grid(param, spec["grid"], fail)})
    return param


def _choice_fields(spec: dict, fail) -> dict:
    values = spec.get("values")
    if not isinstance(values, list) or not values:
        fail(("values",), "a choice needs a non-empty list of values")
    if len({repr(v) for v in values}) != len(values):
        fail(("values",), "values must not repeat")
    if any(isinstance(v, dict | list) for v in values):
        fail(("values",), "values must be plain strings, numbers or booleans")
    for key in ("low", "high", "step", "log"):
        if key in spec:
            fail((key,), "only int and float hyperparameters take low/high/step/log")
    return {"values": tuple(values)}


def _range_fields(kind: str, spec: dict, fail) -> dict:
    bounds = {}
    for key in ("low", "high"):
        value = _number(spec.get(key))
        if value is None or (kind == "int" and not float(value).is_integer()):
            fail((key,), f"required: {'an integer' if kind == 'int' else 'a number'}, got {spec.get(key)!r}")
        bounds[key] = int(value) if kind == "int" else float(value)
    if bounds["low"] > bounds["high"] or (kind == "float" and bounds["low"] == bounds["high"]):
        fail(("high",), f"must be greater than low ({bounds['low']})")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        fail(("log",), "must be true or false")
    if log and bounds["low"] <= 0:
        fail(("low",), "must be > 0 when log: true")
    step = _number(spec.get("step")) if "step" in spec else None
    if "step" in spec and (step is None or step <= 0 or (kind == "int" and not float(step).is_integer())):
        fail(("step",), f"must be a positive {'integer' if kind == 'int' else 'number'}")
    if step and log:
        fail(("step",), "cannot be combined with log: true")
    if kind == "int" and step:
        step = int(step)  # before the arithmetic: ints are exact at 10**20, floats are not
    if step and kind == "int" and (bounds["high"] - bounds["low"]) % step:
        fail(("high",), f"high - low must be a multiple of step {step}")
    return {**bounds, "log": log, "step": step}


def _condition(spec: dict, earlier: list[Param], fail) -> dict:
    when = spec.get("when")
    if when is None:
        return {}
    if not isinstance(when, dict) or len(when) != 1:
        fail(("when",), "must name exactly one parent: {parent_name: [values...]}")
    (parent_name, values), = when.items()
    parents = [p for p in earlier if p.name == parent_name]
    if not parents:
        fail(("when",), f"parent '{parent_name}' must be a hyperparameter defined above this one")
    parent = parents[0]
    if parent.parent is not None:
        fail(("when",), f"parent '{parent_name}' is itself conditional; one level of nesting only")
    if parent.kind == "float":
        fail(("when",), f"parent '{parent_name}' must be an int or choice, not a float")
    values = values if isinstance(values, list) else [values]
    if parent.kind == "int":  # '1e12' is a string to YAML 1.1, as it is in low and high
        values = [_as_int(v) for v in values]
    bad = [v for v in values if not parent.contains(v)]
    if not values or bad:
        fail(("when", parent_name), f"values {bad or values} are not values of '{parent_name}'")
    return {"parent": parent_name, "parent_values": tuple(values)}


def _grid(param: Param, raw: Any, fail) -> tuple:
    if not isinstance(raw, list) or not raw:
        fail(("grid",), "must be a non-empty list of values to visit")
    values = [raw_v if param.kind == "choice" else _number(raw_v) for raw_v in raw]
    for raw_v, value in zip(raw, values, strict=True):
        if value is None or not param.contains(value):
            fail(("grid",), f"value {raw_v!r} is outside the hyperparameter's range")
    if len(set(values)) != len(values):
        fail(("grid",), "values must not repeat")
    return tuple(int(v) if param.kind == "int" else v for v in values)


def _as_int(value: Any) -> Any:
    """An integral number written as a string ('1e12') as an int; anything else unchanged."""
    number = _number(value) if isinstance(value, str) else None
    return int(number) if number is not None and float(number).is_integer() else value


def _number(value: Any) -> float | int | None:
    """A number from YAML; accepts '1e-4', which YAML 1.1 reads as a string."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    return value if is_number(value) and math.isfinite(value) else None  # .inf is no bound
