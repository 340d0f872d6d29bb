"""Search spaces: a validated, immutable description of what to tune.

A Space names its workload, the objective and its direction, the training
defaults and the typed hyperparameters. It is loaded from YAML by
`tuneyard.space.file.load_space` and translated into each backend's language
here (the grid) or in the backend itself (Optuna, Keras Tuner).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tuneyard.errors import SpaceError

KINDS = ("int", "float", "choice")
# The precisions a trial trains in (`--precision`, `training: {precision: ...}`): "mixed" is
# mixed float16 on a GPU and mixed bfloat16 on a CPU that has it (engine/precision.py).
PRECISIONS = ("float32", "mixed", "mixed_float16", "mixed_bfloat16")
DIRECTIONS = ("maximize", "minimize")
# What tuneyard measures of each trained model when an objective (or `training.measure`) names
# it: parameter count, size in bytes of the saved .keras file, and inference milliseconds per
# sample on a fixed batch (engine/measures.py says how).
MEASURES = ("params", "saved_bytes", "latency_ms")
MAX_OBJECTIVES = 3


@dataclass(frozen=True)
class Objective:
    """One objective of a study: a validation metric or a measure, and its direction."""

    metric: str
    direction: str

    @property
    def maximize(self) -> bool:
        """True when a larger value is better."""
        return self.direction == "maximize"

    @property
    def measured(self) -> bool:
        """True for what tuneyard measures of the model (params, saved_bytes, latency_ms)."""
        return self.metric in MEASURES


@dataclass(frozen=True)
class Param:
    """One hyperparameter: int / float (optionally log, stepped) or a choice.

    `parent` and `parent_values` make it conditional: it exists only when the
    parent hyperparameter takes one of `parent_values` (units of layer 3 exist
    only when num_layers is 3).
    """

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    values: tuple = ()
    grid: tuple | None = None
    parent: str | None = None
    parent_values: tuple = ()

    def contains(self, value: Any) -> bool:
        """Whether `value` is a legal value of this hyperparameter."""
        if self.kind == "choice":
            return value in self.values
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.kind == "int" and int(value) != value:
            return False
        if not (self.low - 1e-12 <= value <= self.high + 1e-12):
            return False
        if self.step:
            offset = (value - self.low) / self.step
            return abs(offset - round(offset)) < 1e-6
        return True

    def grid_values(self) -> Sequence:
        """The values the grid backend visits for this hyperparameter: a tuple, or for an int
        without a grid: list a range (never listed: an axis may span 10**12 values)."""
        if self.grid is not None:
            return self.grid
        if self.kind == "choice":
            return self.values
        if self.kind == "int":
            return range(int(self.low), int(self.high) + 1, int(self.step or 1))
        raise SpaceError(
            f"float hyperparameter '{self.name}' has no grid: list; add one to its entry "
            f"(for example grid: [{self.low}, {self.high}]) to search it with the grid backend"
        )

    def as_dict(self) -> dict:
        """A plain, JSON-ready description (used for fingerprints and `show-space`)."""
        out: dict[str, Any] = {"type": self.kind}
        if self.kind == "choice":
            out["values"] = list(self.values)
        else:
            out.update(low=self.low, high=self.high)
            if self.step:
                out["step"] = self.step
            if self.log:
                out["log"] = True
        if self.grid is not None:
            out["grid"] = list(self.grid)
        if self.parent:
            out["when"] = {self.parent: list(self.parent_values)}
        return out


@dataclass(frozen=True)
class Training:
    """Training defaults of a space; the CLI may override epochs."""

    epochs: int = 10
    batch_size: int = 32
    executions_per_trial: int = 1
    patience: int = 3
    validation_split: float = 0.1
    # Hyperband's largest epoch budget; None: the run's epochs (a space's `epochs`).
    max_epochs: int | None = None
    factor: int = 3
    lr_decay: dict | None = None
    precision: str | None = None  # the space's default precision (None: float32)
    # Measures recorded as leaderboard columns though no objective names them.
    measure: tuple = ()


@dataclass(frozen=True)
class Space:
    """A search space: workload, objective, training defaults, hyperparameters."""

    name: str
    workload: str
    metric: str
    direction: str
    training: Training
    params: tuple[Param, ...]
    fixed: dict = field(default_factory=dict)
    description: str = ""
    path: str = ""
    # Two or three objectives (`objectives:`); empty for a single-objective space, whose
    # objective is `metric` and `direction`. The first is always `metric` and `direction`.
    objectives: tuple[Objective, ...] = ()

    @property
    def maximize(self) -> bool:
        """True when a larger objective is better."""
        return self.direction == "maximize"

    @property
    def multi(self) -> bool:
        """True when the space searches several objectives (a Pareto front)."""
        return len(self.objectives) > 1

    @property
    def all_objectives(self) -> tuple[Objective, ...]:
        """Every objective, the first one first (one for a single-objective space)."""
        return self.objectives or (Objective(self.metric, self.direction),)

    def objective_text(self) -> str:
        """The objectives as the console says them: "val_accuracy (maximize), params (minimize)"."""
        return ", ".join(f"{o.metric} ({o.direction})" for o in self.all_objectives)

    @property
    def measures(self) -> tuple[str, ...]:
        """What each trained model is measured for: the objectives' measures, then
        `training.measure`'s, in MEASURES order."""
        wanted = {o.metric for o in self.all_objectives} | set(self.training.measure)
        return tuple(m for m in MEASURES if m in wanted)

    def param(self, name: str) -> Param:
        """The hyperparameter called `name`."""
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def is_active(self, param: Param, values: dict) -> bool:
        """Whether `param` exists given the values chosen for its parent."""
        return param.parent is None or values.get(param.parent) in param.parent_values

    def active_params(self, values: dict) -> list[Param]:
        """The hyperparameters that exist for this set of values, in space order."""
        return [p for p in self.params if self.is_active(p, values)]

    def check_values(self, values: dict) -> list[str]:
        """Problems with a proposal (empty when it is a legal point of the space)."""
        problems = []
        for p in self.params:
            active = self.is_active(p, values)
            if active and p.name not in values:
                problems.append(f"{p.name} missing")
            elif not active and p.name in values:
                problems.append(f"{p.name} given but inactive")
            elif active and not p.contains(values[p.name]):
                problems.append(f"{p.name}={values[p.name]!r} outside the space")
        extra = set(values) - {p.name for p in self.params}
        problems.extend(f"{name} is not a hyperparameter" for name in sorted(extra))
        return problems

    def as_dict(self) -> dict:
        """A plain description of the whole space (file order)."""
        objective = ({"objectives": [{"metric": o.metric, "direction": o.direction}
                                     for o in self.objectives]} if self.multi else
                     {"objective": {"metric": self.metric, "direction": self.direction}})
        training = {k: v for k, v in self.training.__dict__.items()
                    if k not in ("precision", "max_epochs", "measure") or v not in (None, ())}
        if "measure" in training:
            training["measure"] = list(training["measure"])
        return {
            "name": self.name,
            "workload": self.workload,
            **objective,
            # Unset optional settings are left out: old spaces read as before.
            "training": training,
            "fixed": self.fixed,
            "hyperparameters": {p.name: p.as_dict() for p in self.params},
        }

    def fingerprint_body(self) -> dict:
        """What decides a trial's result, as plain JSON data: the fingerprint hashes it, and a
        study stores it, so a changed space is refused naming the fields that changed."""
        body = self.as_dict()
        # Not the precision: trials record theirs, and a study may resume in another.
        body["training"] = {
            k: v for k, v in body["training"].items()
            if k not in ("max_epochs", "factor", "precision", "measure")
        }
        return json.loads(json.dumps(body, sort_keys=True, default=str))

    def fingerprint(self) -> str:
        """A short hash of what decides a trial's result; resume refuses a changed one."""
        text = json.dumps(self.fingerprint_body(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def count(values: Sequence) -> int:
    """len() of grid values, a range wider than sys.maxsize included (len() raises for it)."""
    if isinstance(values, range):
        return max(0, (values.stop - values.start + values.step - 1) // values.step)
    return len(values)


def is_number(value: Any) -> bool:
    """True for real numbers (not bools, not NaN)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value)
