"""Pareto fronts of a study of several objectives: pure functions of the objective values.

A point dominates another when it is at least as good on every objective and better on
one. Front 1 is the points nothing dominates (the Pareto front); front 2 is what nothing
outside front 1 dominates; and so on. Equal points share a front. The leaderboard ranks
completed trials by front, then by the first objective; the study's "best" is rank 1: the
member of the Pareto front best on the first objective.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def dominates(a: Sequence[float], b: Sequence[float], maximize: Sequence[bool]) -> bool:
    """Whether point `a` dominates point `b` (objective by objective, in `maximize`'s sense)."""
    better = False
    for x, y, up in zip(a, b, maximize, strict=True):
        if (x < y) if up else (x > y):
            return False
        better = better or x != y
    return better


def front_numbers(points: Sequence[Sequence[float]], maximize: Sequence[bool]) -> list[int]:
    """The front (1 = non-dominated) of each point, in the points' order."""
    signs = [-1.0 if up else 1.0 for up in maximize]  # minimise everything
    keyed = [tuple(s * v for s, v in zip(signs, p, strict=True)) for p in points]
    fronts = [0] * len(points)
    left = sorted(range(len(points)), key=lambda i: keyed[i])
    number = 0
    while left:
        number += 1
        members = _first_front(left, keyed)
        for i in members:
            fronts[i] = number
        chosen = set(members)
        left = [i for i in left if i not in chosen]
    return fronts


def _first_front(order: list[int], keyed: list[tuple]) -> list[int]:
    """The non-dominated among `order` (sorted ascending: a point can only be dominated by
    one before it or equal to it). Two objectives: one pass keeping the best second value."""
    if keyed and len(keyed[order[0]]) == 2:
        members, best_second, last = [], math.inf, None
        for i in order:
            point = keyed[i]
            if point == last or point[1] < best_second:
                members.append(i)
                best_second, last = min(best_second, point[1]), point
        return members
    members = []
    for i in order:  # every objective minimised: dominated means some earlier one is <= everywhere
        if not any(_dominated_by(keyed[i], keyed[j]) for j in members):
            members.append(i)
    return members


def _dominated_by(point: tuple, other: tuple) -> bool:
    return all(o <= p for o, p in zip(other, point, strict=True)) and other != point


def pareto_ranks(rows: list[dict], objectives: Sequence[tuple[str, bool]]) -> dict[int, int]:
    """The front of each completed row with a finite value for every objective, by trial
    number. `objectives`: (column, maximize) pairs; a row's values are those the study was
    told (`values`), else read from its measures and metrics."""
    points, numbers = [], []
    for row in rows:
        if row.get("status") != "COMPLETE":
            continue
        values = row.get("values") or []
        if len(values) != len(objectives):
            values = [objective_value(row, name) for name, _ in objectives]
        if all(isinstance(v, int | float) and math.isfinite(v) for v in values):
            points.append(values)
            numbers.append(row["trial"])
    fronts = front_numbers(points, [up for _, up in objectives])
    return dict(zip(numbers, fronts, strict=True))


def objective_value(row: dict, name: str) -> Any:
    """A leaderboard row's value of objective `name`: a measure, a metric, else None."""
    for part in ("measures", "metrics"):
        if name in (row.get(part) or {}):
            return row[part][name]
    return row.get(name)
