"""The race table: per entry, the best objective over seeds, epochs to come within 1% of
the overall best, epochs to match the course baseline, epochs spent and wall time; where
the workload has references (`Workload.references`) also how far each seed's best is from
the best linear filter on the window.

Pure functions over race.StudyRun lists; no pandas, no printing.
"""

from __future__ import annotations

import csv
import math
import statistics
from pathlib import Path

WITHIN = 0.01  # "within 1% of the overall best"
COLUMNS = ["backend", "seeds", "best_mean", "best_sd", "best_min", "best_max",
           "epochs_to_1pct", "reached_1pct", "epochs_to_1pct_per_seed", "epochs_to_course",
           "epochs_spent_mean", "epochs_spent_max", "trials_mean", "wall_s_mean",
           "vs_linear_per_seed", "within_1pct_linear"]


def better(a: float, b: float, maximize: bool) -> bool:
    """Whether a is at least as good as b."""
    return a >= b if maximize else a <= b


def best_so_far(trials: list[dict], maximize: bool) -> list[tuple[int, float | None]]:
    """(cumulative epochs, best completed objective so far) in run order.

    A completed trial whose `curve` holds its objective at every epoch it trained (one
    execution) gives a step per epoch: the model of its best epoch so far existed then,
    never counted better than the trial's own value. Any other trial (several
    executions, pruned, failed) gives one step, at its end.
    """
    out, spent, best = [], 0, None
    for t in trials:
        epochs, value = int(t["epochs"] or 0), t["value"]
        ok = t["status"] == "COMPLETE" and value is not None and math.isfinite(value)
        curve = t.get("curve") or []
        if ok and epochs and len(curve) == epochs:
            running = None
            for epoch, point in enumerate(curve, 1):
                if math.isfinite(point) and (running is None or better(point, running, maximize)):
                    running = point
                if running is not None and (best is None or better(_no_better(running, value, maximize),
                                                                   best, maximize)):
                    best = _no_better(running, value, maximize)
                out.append((spent + epoch, best))
            spent += epochs
            continue
        spent += epochs
        if ok and (best is None or better(value, best, maximize)):
            best = value
        out.append((spent, best))
    return out


def _no_better(point: float, value: float, maximize: bool) -> float:
    """`point`, clipped so that it is never better than the trial's recorded `value`."""
    return min(point, value) if maximize else max(point, value)


def epochs_to_reach(steps: list[tuple[int, float | None]], target: float,
                    maximize: bool) -> int | None:
    """Cumulative epochs at which best-so-far first is at least as good as target; None if never."""
    for spent, best in steps:
        if best is not None and better(best, target, maximize):
            return spent
    return None


def within_target(best: float, maximize: bool, fraction: float = WITHIN) -> float:
    """The value that is `fraction` (relative) worse than `best`."""
    slack = fraction * abs(best)
    return best - slack if maximize else best + slack


def overall_best(runs: list, maximize: bool) -> dict[int, float]:
    """Per seed, the best objective any entry reached."""
    out: dict[int, float] = {}
    for run in runs:
        steps = best_so_far(run.trials, maximize)
        final = steps[-1][1] if steps else None
        if final is not None and (run.seed not in out or better(final, out[run.seed], maximize)):
            out[run.seed] = final
    return out


def median_epochs(values: list[int | None]) -> float | None:
    """Median over seeds, an unreached seed counting as infinite; None when the median is."""
    if not values:
        return None
    med = statistics.median([math.inf if v is None else v for v in values])
    return None if math.isinf(med) else med


def table(runs: list, maximize: bool, entries: list[str], course: str = "course") -> list[dict]:
    """One row per entry, in the order given."""
    overall = overall_best(runs, maximize)
    course_best = {r.seed: best_so_far(r.trials, maximize)[-1][1] for r in runs
                   if r.entry == course and r.trials}
    rows = []
    for entry in entries:
        mine = sorted((r for r in runs if r.entry == entry), key=lambda r: r.seed)
        if not mine:
            continue
        finals, to_1pct, to_course = [], [], []
        for run in mine:
            steps = best_so_far(run.trials, maximize)
            final = steps[-1][1] if steps else None
            if final is not None:
                finals.append(final)
            if run.seed in overall:
                target = within_target(overall[run.seed], maximize)
                to_1pct.append(epochs_to_reach(steps, target, maximize))
            if course_best.get(run.seed) is not None:
                to_course.append(epochs_to_reach(steps, course_best[run.seed], maximize))
        spent = [sum(t["epochs"] for t in r.trials) for r in mine]
        rows.append({
            "backend": entry, "seeds": len(mine),
            "best_mean": statistics.fmean(finals) if finals else None,
            "best_sd": statistics.stdev(finals) if len(finals) > 1 else 0.0 if finals else None,
            "best_min": min(finals) if finals else None,
            "best_max": max(finals) if finals else None,
            "epochs_to_1pct": median_epochs(to_1pct),
            "reached_1pct": f"{sum(v is not None for v in to_1pct)}/{len(to_1pct)}",
            "epochs_to_1pct_per_seed": "/".join("-" if v is None else str(v) for v in to_1pct),
            "epochs_to_course": median_epochs(to_course) if to_course else "n/a",
            "epochs_spent_mean": statistics.fmean(spent), "epochs_spent_max": max(spent),
            "trials_mean": statistics.fmean(len(r.trials) for r in mine),
            "wall_s_mean": statistics.fmean(r.wall_s for r in mine),
            **_against_linear(mine, maximize),
        })
    return rows


def _against_linear(runs: list, maximize: bool) -> dict:
    """Each seed's best relative to the best linear filter on the window, e.g. "+1.2%".

    Blank where the workload has no references (no run has a bound)."""
    gaps = []
    for run in runs:
        final = best_so_far(run.trials, maximize)[-1][1] if run.trials else None
        bound = getattr(run, "bound", None)
        if bound:
            gaps.append(None if final is None else final / bound - 1)
    if not gaps:
        return {"vs_linear_per_seed": "", "within_1pct_linear": ""}
    return {"vs_linear_per_seed": "/".join("-" if g is None else f"{g:+.1%}" for g in gaps),
            "within_1pct_linear": f"{sum(g is not None and g <= WITHIN for g in gaps)}/{len(gaps)}"}


def write_table(rows: list[dict], path: Path) -> None:
    """The table as CSV (blank cells for "not reached")."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def verdicts(rows: list[dict], runs: list, floors: dict[int, float], maximize: bool,
             metric: str, course: str = "course", bounds: dict[int, float] | None = None,
             fitted: dict[int, float] | None = None) -> list[str]:
    """The issue's targets, in words, with the figures behind them.

    `bounds` (the workload's references): the best linear filter's score on each seed's split, which
    shows how close to the floor the model's input window lets any model come;
    `fitted`: the same filter fitted on the seed's training split only, which shows
    what the data itself teaches a linear model.
    """
    lines = []
    others = [r for r in rows if r["backend"] != course and r["best_mean"] is not None]
    ref = next((r for r in rows if r["backend"] == course), None)
    if others and ref is not None:
        lead = (max if maximize else min)(others, key=lambda r: r["best_mean"])
        third = ref["epochs_spent_mean"] / 3
        need = lead["epochs_to_course"] if lead["epochs_to_course"] != "n/a" else None
        reached = need is not None and need <= third
        shown = "never (median)" if need is None else f"{need:g} epochs (median over seeds)"
        lines.append(f"target 1, best backend {lead['backend']} matches the course baseline's "
                     f"best {metric} in {shown}; a third of the course's "
                     f"{ref['epochs_spent_mean']:g} is {third:g}: {'MET' if reached else 'NOT MET'}")
    for seed, floor in sorted(floors.items()):
        bests = [best_so_far(r.trials, maximize)[-1][1] for r in runs
                 if r.seed == seed and r.entry != course and r.trials]
        bests = [b for b in bests if b is not None]
        if not bests:
            continue
        best = min(bests)
        gap = best / floor - 1
        lines.append(f"target 2, seed {seed}: noise floor {floor:.5f}, best {metric} "
                     f"{best:.5f} ({gap:+.1%} above the floor): "
                     f"{'MET' if gap <= 0.03 else 'NOT MET'} (within 3%)")
        bound = (bounds or {}).get(seed)
        if bound is not None:
            lines.append(f"  the best linear filter on the same window scores {bound:.5f} "
                         f"({bound / floor - 1:+.1%} above the floor); best is "
                         f"{best / bound - 1:+.1%} from it")
        if (fitted or {}).get(seed) is not None:
            lines.append(f"  fitted on the training split alone, that filter scores {fitted[seed]:.5f} "
                         f"({fitted[seed] / floor - 1:+.1%} above the floor)")
    lines += _linear_verdict(rows, course)
    return lines


def _linear_verdict(rows: list[dict], course: str) -> list[str]:
    """The linear-filter target: the best backend within 1% of the best linear filter on every seed."""
    scored = [r for r in rows if r["backend"] != course and r.get("within_1pct_linear")]
    if not scored:
        return []
    # The backend with the most seeds within 1%; among those, the best mean (minimised MSE).
    lead = max(scored, key=lambda r: (int(r["within_1pct_linear"].split("/")[0]),
                                      -(r["best_mean"] if r["best_mean"] is not None else math.inf)))
    hit, seeds = (int(part) for part in lead["within_1pct_linear"].split("/"))
    return [f"target 3, best backend {lead['backend']} within 1% of the linear filter's bound on "
            f"the window on {hit} of {seeds} seeds ({lead['vs_linear_per_seed']}): "
            f"{'MET' if hit == seeds else 'NOT MET'} (every seed)"]
