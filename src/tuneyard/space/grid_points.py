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

from tuneyard.space.core import Param, Space


class _Factor:
    """One independent axis of the grid: a parent with its children, or a lone param."""

    def __init__(self, parent: Param, children: list[Param]):
        self.parent = parent
        self.options: list[tuple[object, list[Param], int]] = []
        for value in parent.grid_values():
            active = [c for c in children if value in c.parent_values]
            self.options.append((value, active, math.prod(len(c.grid_values()) for c in active)))
        self.starts = [0]
        for _, _, count in self.options:
            self.starts.append(self.starts[-1] + count)

    @property
    def size(self) -> int:
        return self.starts[-1]

    def point(self, index: int) -> dict:
        slot = bisect.bisect_right(self.starts, index) - 1
        value, children, _ = self.options[slot]
        rest = index - self.starts[slot]
        point = {self.parent.name: value}
        for child in reversed(children):
            values = child.grid_values()
            rest, digit = divmod(rest, len(values))
            point[child.name] = values[digit]
        return point


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
