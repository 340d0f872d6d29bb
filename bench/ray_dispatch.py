"""What a trial costs on Ray beyond the local pool: the same 40-trial sweep through both.

The same seeded grid of a stand-in trainer whose trials sleep 50 ms (3 epochs each, every
epoch streamed back) runs with --workers 2 through the local pool of worker processes and
through a local Ray started for the run (an actor per slot), neither recycling its workers.
Each trial's time as the driver sees it (handed out -> recorded) is compared: the extra cost
per trial on Ray is the difference of the means. Start-up (processes, Ray and its actors)
is printed beside it, not counted. Target: at most 50 ms extra per trial. The last line is
the verdict; exit status 1 when missed.

    .venv/bin/python bench/ray_dispatch.py [--trials 40] [--sleep 0.05]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent / "src"))
# Ray's actors and the pool's processes import the stand-in from here, tuneyard from src/.
os.environ["PYTHONPATH"] = os.pathsep.join([str(BENCH), str(BENCH.parent / "src"),
                                            os.environ.get("PYTHONPATH", "")])

from sleepy import SPACE, SleepTrainer  # noqa: E402
from verdict import Check, finish  # noqa: E402

from tuneyard.engine.sweep import Events, Sweep, SweepOptions  # noqa: E402

TARGET_MS = 50.0


class Clock(Events):
    """When each trial was handed out and recorded, by trial number; when the first started."""

    def __init__(self):
        self.started: dict[int, float] = {}
        self.done: dict[int, float] = {}

    def trial_started(self, key, params, epochs):
        self.started[key] = time.perf_counter()

    def trial_done(self, row, done, budget, best):
        self.done[row["trial"]] = time.perf_counter()


def sweep(space: str, executor: str, trials: int, seconds: float) -> dict:
    clock = Clock()
    began = time.perf_counter()
    result = Sweep(SweepOptions(space=space, backend="grid", study=f"dispatch-{executor}", trials=trials,
                                workers=2, trials_per_process=0, executor=executor),
                   trainer=SleepTrainer(seconds)).run(clock)
    ended = time.perf_counter()
    assert result.done == trials, result.done
    per_trial = [clock.done[n] - clock.started[n] for n in clock.started]
    return {"mean": statistics.mean(per_trial), "median": statistics.median(per_trial),
            "startup": min(clock.started.values()) - began, "total": ended - began,
            "sweep": max(clock.done.values()) - min(clock.started.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--sleep", type=float, default=0.05)
    args = parser.parse_args()
    os.environ["TUNEYARD_RESULTS_DIR"] = tempfile.mkdtemp(prefix="tuneyard-bench-ray-dispatch-")
    os.environ["CUDA_VISIBLE_DEVICES"] = ""  # both on the CPU, as this machine is
    space = Path(os.environ["TUNEYARD_RESULTS_DIR"]) / "sleepy.yaml"
    space.write_text(SPACE)
    load = os.getloadavg()[0]
    pool = sweep(str(space), "local", args.trials, args.sleep)
    ray = sweep(str(space), "ray", args.trials, args.sleep)
    extra_ms = (ray["mean"] - pool["mean"]) * 1000
    print(f"\n{args.trials} grid trials of a stand-in sleeping {args.sleep * 1000:.0f} ms (3 epochs streamed "
          f"each), --workers 2, {os.cpu_count()} cores, load average {load:.1f} -> {os.getloadavg()[0]:.1f}")
    print(f"{'':24}{'local pool':>12}{'local Ray':>12}")
    for key, name in (("mean", "per trial, mean (ms)"), ("median", "per trial, median (ms)"),
                      ("sweep", "trials, first to last (s)"), ("startup", "start-up (s)"),
                      ("total", "whole sweep (s)")):
        scale = 1000 if key in ("mean", "median") else 1
        print(f"{name:24}{pool[key] * scale:12.1f}{ray[key] * scale:12.1f}")
    print(f"extra per trial on Ray: {extra_ms:.1f} ms (target <= {TARGET_MS:g} ms)")
    finish("ray_dispatch", [Check(f"extra per trial {extra_ms:.1f} ms (target <= {TARGET_MS:g})",
                                  extra_ms <= TARGET_MS)])


if __name__ == "__main__":
    main()
