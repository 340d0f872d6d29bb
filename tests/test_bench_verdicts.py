"""Benchmarks that can fail: every bench with a target ends with one verdict line and exits 1
when the target is missed (bench/verdict.py). The benches themselves train for minutes, so
the suite runs the shared ending in a real process and checks that each bench goes through it."""

import ast
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
# Not benchmarks with a target: the helper itself, and a diagnostic that scores a study's
# kept model on two parts of the CIFAR-10 copy (it measures an effect; nothing to meet).
NO_TARGET = {"verdict.py", "cifar_reencoded.py"}


def ending(checks: str) -> subprocess.CompletedProcess:
    """A process that ends as a bench does: finish() with the given checks."""
    code = (
        f"import sys; sys.path.insert(0, {str(BENCH)!r})\n"
        f"from verdict import Check, finish\nfinish('x', {checks})"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_a_met_target_exits_0_with_the_verdict_as_the_last_line():
    done = ending(
        "[Check('ratio 1.01 (target <= 1.03)', True), Check('growth 40 MB (target < 100 MB)', True)]"
    )
    assert done.returncode == 0
    assert done.stdout.splitlines()[-1] == (
        "verdict x: ratio 1.01 (target <= 1.03): met; growth 40 MB (target < 100 MB): met -> met"
    )


def test_one_missed_check_misses_the_target_and_exits_1():
    done = ending("[Check('ratio 1.01 (target <= 1.03)', True), Check('saved 0% (target >= 40%)', False)]")
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1].endswith("saved 0% (target >= 40%): NOT met -> NOT met")


def test_an_inconclusive_check_says_why_and_is_not_a_pass():
    done = ending("[Check('overhead (target <= 1/3)', False, 'inconclusive: one round')]")
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1] == (
        "verdict x: overhead (target <= 1/3): NOT met (inconclusive: one round) -> NOT met"
    )


def test_a_bench_that_measured_nothing_has_missed_its_target():
    done = ending("[]")
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1] == "verdict x: nothing measured -> NOT met"


def test_every_bench_with_a_target_ends_through_finish():
    """Each script's main path calls verdict.finish (kt_overhead under `__main__`)."""
    scripts = sorted(p for p in BENCH.glob("*.py") if p.name not in NO_TARGET)
    assert len(scripts) >= 8
    missing = []
    for script in scripts:
        calls = [
            node.func.id
            for node in ast.walk(ast.parse(script.read_text()))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        ]
        if "finish" not in calls:
            missing.append(script.name)
    assert missing == []
