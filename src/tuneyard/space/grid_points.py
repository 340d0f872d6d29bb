"""The grid of a space, indexed without listing it.

A grid with conditionals is a product of factors: each unconditional
hyperparameter without children is one factor; a parent and its children form
one factor whose options are (parent value, children's grid under that value).
Point i is decoded in mixed radix, so a 500,000-point grid costs nothing until
it is visited.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

from tuneyard.space.core import Param, Space, count


class _Factor:
    """One independent axis of the grid: a parent with its children, or a lone param.

    Each parent value is one option with as many points as its children's grids multiply
    to; only the values some child names (a few) have children, every other value is one
    point, so the options are kept as those few "special" values in parent order and the
    runs of plain values between them are computed, never listed (an int axis may hold
    10**12 values). The order is the parent's values, each followed by its children's points.
    """

    def __init__(self, parent: Param, children: list[Param]):
        self.parent, self.values = parent, parent.grid_values()
        self.special: list[tuple[int, list[Param], int]] = []  # (position, children, points)
        for position in _positions(self.values, children):
            value = self.values[position]
            active = [c for c in children if value in c.parent_values]
            self.special.append((position, active, math.prod(count(c.grid_values()) for c in active)))
        # Index of each special value's first point: its position plus the extra points
        # (points - 1) of the special values before it.
        self.starts, extra = [], 0
        for position, _, points in self.special:
            self.starts.append(position + extra)
            extra += points - 1
        self.size = count(self.values) + extra

    def point(self, index: int) -> dict:
        slot = bisect.bisect_right(self.starts, index) - 1
        if slot < 0:  # a plain value before the first special one
            return {self.parent.name: self.values[index]}
        position, children, points = self.special[slot]
        rest = index - self.starts[slot]
        if rest >= points:  # a plain value after special `slot`
            return {self.parent.name: self.values[position + 1 + rest - points]}
        point = {self.parent.name: self.values[position]}
        for child in reversed(children):
            values = child.grid_values()
            rest, digit = divmod(rest, count(values))
            point[child.name] = values[digit]
        return point


def _positions(values: Sequence, children: list[Param]) -> list[int]:
    """Sorted positions, in the parent's grid values, of the values some child depends on."""
    if not children:
        return []
    if not isinstance(values, range):  # a list written in the file: short
        return [i for i, v in enumerate(values) if any(v in c.parent_values for c in children)]
    wanted = {int(v) for c in children for v in c.parent_values if float(v).is_integer()}
    return sorted(values.index(v) for v in wanted if v in values)


class Grid:
    """Every combination of the space's grid values, conditionals respected."""

    def __init__(self, space: Space):
        self.space = space
        children: dict[str, list[Param]] = {}
        for p in space.params:
            if p.parent:
                children.setdefault(p.parent, []).append(p)
        self.factors = [_Factor(p, children.get(p.name, [])) for p in space.params if not p.parent]
        self.size = math.prod(f.size for f in self.factors)

    def point(self, index: int) -> dict:
        """The grid point number `index` (0 <= index < size), in space order."""
        if not 0 <= index < self.size:
            raise IndexError(index)
        values: dict = {}
        for factor in reversed(self.factors):
            index, digit = divmod(index, factor.size)
            values.update(factor.point(digit))
        return {p.name: values[p.name] for p in self.space.params if p.name in values}


def grid_size(space: Space) -> int:
    """Number of points of the space's full grid (conditionals counted exactly)."""
    return Grid(space).size
