"""The report's Pareto front of a study of several objectives: the first two objectives of
every completed trial, the front (non-dominated on all the objectives) highlighted."""

from __future__ import annotations

import math
from typing import Any

from tuneyard.analysis.pareto import front_numbers
from tuneyard.report.figures import COLORS, plt


def pareto_figure(trials: list, objectives: list[tuple[str, bool]]) -> Any:
    """A scatter of objective 1 against objective 2, front 1 in colour and joined by a
    step line, each front member labelled with its trial number; None with fewer than two
    completed trials. With three objectives the front is judged on all three (a member may
    look dominated in these two)."""
    done = [t for t in trials if t.state.name == "COMPLETE" and t.values
            and len(t.values) == len(objectives) and all(math.isfinite(v) for v in t.values)]
    if len(done) < 2:
        return None
    fronts = front_numbers([t.values for t in done], [up for _, up in objectives])
    front = sorted((t for t, f in zip(done, fronts, strict=True) if f == 1),
                   key=lambda t: (t.values[1], t.values[0]))
    rest = [t for t, f in zip(done, fronts, strict=True) if f != 1]
    (first, first_up), (second, second_up) = objectives[0], objectives[1]  # y, then x
    fig, ax = plt.subplots(figsize=(7.2, 5.0))
    ax.scatter([t.values[1] for t in rest], [t.values[0] for t in rest], s=22, alpha=0.5,
               color=COLORS[7 % len(COLORS)], label="dominated trial")
    xs, ys = [t.values[1] for t in front], [t.values[0] for t in front]
    ax.scatter(xs, ys, s=46, color=COLORS[3], zorder=3, label=f"Pareto front ({len(front)})")
    if len(objectives) == 2:
        ax.step(xs, ys, where="post", color=COLORS[3], alpha=0.6)
    for t in front:
        ax.annotate(str(t.number), (t.values[1], t.values[0]), textcoords="offset points",
                    xytext=(4, 4), fontsize=7)
    every_x = xs + [t.values[1] for t in rest]
    if min(every_x) > 0 and max(every_x) > 20 * min(every_x):  # sizes spanning decades
        ax.set_xscale("log")
    ax.set(xlabel=f"{second} ({'higher' if second_up else 'lower'} is better)",
           ylabel=f"{first} ({'higher' if first_up else 'lower'} is better)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.suptitle(f"Pareto front: {first} against {second} ({len(done)} completed trials)")
    fig.tight_layout()
    return fig
