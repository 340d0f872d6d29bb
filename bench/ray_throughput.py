"""Trials that sleep (no CPU) on a local Ray with 1, 4 and 8 declared GPUs, in one run.

A local Ray is started for each sweep by tuneyard itself (`--executor ray`, no address)
with G GPUs declared through CUDA_VISIBLE_DEVICES (no GPU needed: Ray hands each actor one
of them), and `--workers G` actors take 1 GPU each. The same 32 grid trials of a stand-in
that sleeps 1 s run on each. The speed-up is the trials' span at 1 GPU (first trial's start
to last trial's end, as the trials recorded them) over the span at G; start-up is printed
beside it. Also checked from each trial's recorded device and times: no two trials ever
ran on one GPU at once, and each recorded the GPU its actor was given. Targets: >= 3.5x at
4 GPUs, >= 6.5x at 8. The last line is the verdict; exit status 1 when missed.

    .venv/bin/python bench/ray_throughput.py [--trials 32] [--sleep 1.0]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent / "src"))
os.environ["PYTHONPATH"] = os.pathsep.join([str(BENCH), str(BENCH.parent / "src"),
                                            os.environ.get("PYTHONPATH", "")])

from sleepy import SPACE, SleepTrainer  # noqa: E402
from verdict import Check, finish  # noqa: E402

from tuneyard.engine.sweep import Sweep, SweepOptions  # noqa: E402

TARGETS = {4: 3.5, 8: 6.5}


def sweep(space: str, gpus: int, trials: int, seconds: float) -> dict:
    """One sweep on a fresh local Ray with `gpus` declared: spans, and the GPU checks."""
    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(str(i) for i in range(gpus))
    began = time.perf_counter()
    result = Sweep(SweepOptions(space=space, backend="grid", study=f"throughput-{gpus}", trials=trials,
                                workers=gpus, trials_per_process=0, executor="ray"),
                   trainer=SleepTrainer(seconds)).run()
    total = time.perf_counter() - began
    rows = [r for r in result.rows if r["status"] == "COMPLETE"]
    assert len(rows) == trials, len(rows)
    runs = [(r["device"], r["metrics"]["t_start"], r["metrics"]["t_end"], r["metrics"]["seen_gpu"])
            for r in rows]
    shared = sum(1 for d, s, _, _ in runs for d2, s2, e2, _ in runs
                 if d2 == d and s2 < s < e2)  # a trial that started while another ran on its GPU
    mislabelled = sum(d != f"gpu:{int(g)}" for d, _, _, g in runs)
    span = max(e for _, _, e, _ in runs) - min(s for _, s, _, _ in runs)
    return {"span": span, "total": total, "shared": shared, "mislabelled": mislabelled,
            "devices": len({d for d, *_ in runs})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=32)
    parser.add_argument("--sleep", type=float, default=1.0)
    args = parser.parse_args()
    os.environ["TUNEYARD_RESULTS_DIR"] = tempfile.mkdtemp(prefix="tuneyard-bench-ray-throughput-")
    space = Path(os.environ["TUNEYARD_RESULTS_DIR"]) / "sleepy.yaml"
    space.write_text(SPACE)
    load = os.getloadavg()[0]
    runs = {g: sweep(str(space), g, args.trials, args.sleep) for g in (1, 4, 8)}
    print(f"\n{args.trials} grid trials sleeping {args.sleep:g} s each, --workers G on a local Ray with G "
          f"declared GPUs, {os.cpu_count()} cores, load average {load:.1f} -> {os.getloadavg()[0]:.1f}")
    print(f"{'GPUs':>6}{'span (s)':>10}{'speed-up':>10}{'whole (s)':>11}{'GPUs used':>11}{'shared':>8}"
          f"{'mislabelled':>13}")
    for g, run in runs.items():
        print(f"{g:6}{run['span']:10.2f}{runs[1]['span'] / run['span']:10.2f}{run['total']:11.1f}"
              f"{run['devices']:11}{run['shared']:8}{run['mislabelled']:13}")
    checks = [Check(f"{g} GPUs {runs[1]['span'] / runs[g]['span']:.2f}x (target >= {t:g})",
                    runs[1]["span"] / runs[g]["span"] >= t) for g, t in TARGETS.items()]
    shared = sum(r["shared"] + r["mislabelled"] for r in runs.values())
    checks.append(Check(f"trials sharing a GPU or mislabelled {shared} (target 0)", shared == 0))
    finish("ray_throughput", checks)


if __name__ == "__main__":
    main()
