"""Does a plug-in workload cost more than a shipped one? And what does keeping best.keras cost?

The same 10 grid proposals x 3 epochs on 5,000 MNIST(-shaped) samples, three ways, in
rounds whose order rotates (a TensorFlow process slows as it trains, so no side always
goes last): a bare build+fit loop, `tune` on the shipped `mnist_mlp`, and `tune` on a
user workload defined outside the package (a module in a temp folder beside its space
file, named `plugin_mnist:PluginMlp`, resolved the way a user's is). Prints each total,
each ratio to bare, and the milliseconds per save of best.keras (timed around every save
the sweeps made: one per improving trial). Target: plug-in / shipped 1.00 within noise (the
noise band is half the range of the per-round ratios, so it needs 2 rounds or more); the
last line is the verdict, and the exit status 1 when it is missed.

    .venv/bin/python bench/plugin_overhead.py [--data-dir ../shared/data] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import overhead  # noqa: E402  (bench/overhead.py: data, proposals and the bare loop)
from verdict import Check, finish  # noqa: E402

PLUGIN = '''\
"""A user's workload, outside tuneyard: the MNIST MLP under another name."""
from tuneyard.workloads.mnist import MnistMlp


class PluginMlp(MnistMlp):
    name = "plugin_mlp"
'''

SAVES: list[float] = []


def plugin_space(folder: Path) -> Path:
    """plugin_mnist.py beside plugin.yaml: the shipped space, naming the plug-in workload."""
    from tuneyard.space.file import resolve_space_path

    (folder / "plugin_mnist.py").write_text(PLUGIN)
    text = resolve_space_path("mnist_mlp").read_text()
    text = text.replace("name: mnist_mlp", "name: plugin").replace(
        "workload: mnist_mlp", "workload: plugin_mnist:PluginMlp")
    path = folder / "plugin.yaml"
    path.write_text(text)
    return path


def timed_saves() -> None:
    """Time every save of a trial's model (best.keras candidates) in this process."""
    import tuneyard.engine.training as training

    original = training.save_model_atomically

    def timed(model, path):
        start = time.perf_counter()
        original(model, path)
        SAVES.append(time.perf_counter() - start)

    training.save_model_atomically = timed


def run_tune(space: str, folder: str, results: Path, label: str) -> float:
    """Seconds for the grid sweep through tuneyard's runner and store."""
    from tuneyard.engine.sweep import Sweep, SweepOptions

    os.environ["TUNEYARD_RESULTS_DIR"] = str(results)
    start = time.perf_counter()
    Sweep(SweepOptions(space=space, backend="grid", trials=overhead.TRIALS,
                       epochs=overhead.EPOCHS, subset=overhead.SAMPLES, data_dir=folder,
                       study=f"plugin-{label}", trials_per_process=0)).run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("TUNEYARD_DATA_DIR"))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from tuneyard.space.file import load_space

    folder, space = overhead.data_dir(args.data_dir), load_space("mnist_mlp")
    plugin = str(plugin_space(Path(tempfile.mkdtemp(prefix="tuneyard-plugin-"))))
    results = Path(tempfile.mkdtemp(prefix="tuneyard-bench-results-"))
    timed_saves()
    sides = {"bare": lambda label: overhead.run_bare(folder, space),
             "shipped": lambda label: run_tune("mnist_mlp", folder, results, f"s-{label}"),
             "plug-in": lambda label: run_tune(plugin, folder, results, f"p-{label}")}
    for side in sides.values():  # warm-up: imports, first graph, file cache
        side("warm-up")
    SAVES.clear()
    seconds: dict[str, list[float]] = {name: [] for name in sides}
    names = list(sides)
    for round_ in range(args.rounds):
        order = names[round_ % 3:] + names[:round_ % 3]
        for name in order:
            seconds[name].append(sides[name](f"r{round_}"))
        print(f"round {round_ + 1} ({' -> '.join(order)}): " + ", ".join(
            f"{n} {seconds[n][-1]:.2f} s" for n in names), flush=True)
    bare = statistics.median(seconds["bare"])
    print(f"\n{overhead.TRIALS} trials x {overhead.EPOCHS} epochs, mnist_mlp on "
          f"{overhead.SAMPLES} samples, median of {args.rounds} rounds (order rotated)")
    for name in names:
        median = statistics.median(seconds[name])
        print(f"{name:8s}: {median:7.2f} s   ratio to bare {median / bare:6.3f}   "
              f"overhead {(median - bare) / overhead.TRIALS * 1000:6.0f} ms per trial")
    shipped, plug = (statistics.median(seconds[n]) for n in ("shipped", "plug-in"))
    print(f"plug-in / shipped: {plug / shipped:.3f}  (target: 1.00 within noise)")
    check = same_cost(seconds["plug-in"], seconds["shipped"])
    if SAVES:
        print(f"best.keras saves: {len(SAVES)} over {2 * args.rounds} sweeps "
              f"({len(SAVES) / (2 * args.rounds):.1f} improving trials per 10), "
              f"{statistics.median(SAVES) * 1000:.0f} ms median per save "
              f"(max {max(SAVES) * 1000:.0f} ms)")
    finish("plugin_overhead", [check])


def same_cost(plug: list[float], shipped: list[float]) -> Check:
    """Plug-in / shipped per round: its median is 1.00 within the noise band (half their range)."""
    ratios = [p / s for p, s in zip(plug, shipped, strict=True)]
    median, noise = statistics.median(ratios), (max(ratios) - min(ratios)) / 2
    what = f"plug-in / shipped per round: median {median:.3f} ± {noise:.3f} (target 1.00 within noise)"
    if len(ratios) < 2:
        return Check(what, False, "inconclusive: one round measures no noise band (use --rounds 3)")
    return Check(what, abs(median - 1) <= noise)


if __name__ == "__main__":
    main()
