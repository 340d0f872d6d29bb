"""The anytime plot of a race: best-so-far against cumulative training epochs.

One line per entry (the median over seeds) with its min-max band; the course
baseline dashed in black with its final best as a dotted line; where the workload
has references, the noise floor of the validation targets. Log-scale y for an objective minimised
(MSE, loss).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tuneyard.race.table import best_so_far


def curve_matrix(runs: list, maximize: bool, upto: int) -> np.ndarray:
    """Seeds x epochs (1..upto): best-so-far after that many epochs, NaN before a first result."""
    out = np.full((len(runs), upto), np.nan)
    for i, run in enumerate(runs):
        for spent, best in best_so_far(run.trials, maximize):
            if best is not None and spent >= 1:
                out[i, min(spent, upto) - 1:] = best
    return out


def anytime_plot(runs: list, entries: list[str], maximize: bool, metric: str, path: Path,
                 title: str, floors: dict[int, float] | None = None,
                 course: str = "course") -> Path:
    """Draw and save the PNG; returns its path."""
    # heavy: matplotlib
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    upto = max([sum(t["epochs"] for t in r.trials) for r in runs] + [1])
    x = np.arange(1, upto + 1)
    fig, ax = plt.subplots(figsize=(9, 5.5), dpi=110)
    colors = iter(plt.get_cmap("tab10").colors)
    finals = []
    for entry in entries:
        mine = [r for r in runs if r.entry == entry]
        if not mine:
            continue
        m = curve_matrix(mine, maximize, upto)
        seen = ~np.all(np.isnan(m), axis=0)
        if not seen.any():
            continue
        med, lo, hi = (np.full(upto, np.nan) for _ in range(3))
        med[seen] = np.nanmedian(m[:, seen], axis=0)
        lo[seen], hi[seen] = np.nanmin(m[:, seen], axis=0), np.nanmax(m[:, seen], axis=0)
        spent = np.array([sum(t["epochs"] for t in r.trials) for r in mine])
        end = int(spent.max())
        keep = x <= end
        finals.append(med[keep][-1])
        is_course = entry == course
        color = "black" if is_course else next(colors)
        label = f"{entry} (course baseline)" if is_course else entry
        ax.step(x[keep], med[keep], where="post", color=color, lw=2,
                ls="--" if is_course else "-", label=f"{label}, n={len(mine)}")
        ax.fill_between(x[keep], lo[keep], hi[keep], step="post", color=color,
                        alpha=0.08 if is_course else 0.15, lw=0)
        if is_course:
            ax.axhline(med[keep][-1], color="black", lw=1, ls=":",
                       label=f"course baseline best (median) {med[keep][-1]:.4g}")
    if floors:
        floor = float(np.mean(list(floors.values())))
        ax.axhline(floor, color="tab:gray", lw=1.5, ls="-.",
                   label=f"noise floor of the validation targets (mean over seeds) {floor:.4g}")
        finals.append(floor)
    if not maximize:
        ax.set_yscale("log")
        _limit_log(ax, finals)
    elif finals:
        top, low = max(finals), min(finals)
        spread = max(top - low, 0.01)  # show the climb, not only the final few tenths
        ax.set_ylim(max(low - 3 * spread, 0.0), min(top + 0.3 * spread, 1.0) if top <= 1 else None)
    ax.set_xlim(0, upto * 1.01)
    ax.set_xlabel("training epochs spent (cumulative, all executions and short trials counted)")
    ax.set_ylabel(f"best {metric} so far ({'higher' if maximize else 'lower'} is better)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper right" if not maximize else "lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def _limit_log(ax, finals: list[float]) -> None:
    # Start-up values (an untrained LSTM) would squash the interesting end of the curves.
    finals = [f for f in finals if f and np.isfinite(f) and f > 0]
    if not finals:
        return
    low, high = min(finals), max(finals)
    bottom, top = ax.get_ylim()
    ax.set_ylim(max(bottom, low / 1.15), min(top, max(high * 8, low * 3)))
