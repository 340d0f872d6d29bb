"""Benchmarks that can fail: every bench with a target ends with one verdict line and exits 1
when the target is missed (bench/verdict.py). The benches themselves train for minutes, so
the suite runs the shared ending in a real process and checks that each bench goes through it."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
# Not benchmarks with a target: the helper itself, and a diagnostic that scores a study's
# kept model on two parts of the CIFAR-10 copy (it measures an effect; nothing to meet).
NO_TARGET = {"verdict.py", "cifar_reencoded.py", "sleepy.py"}  # helpers the benches import


def ending(checks: str) -> subprocess.CompletedProcess:
    """A process that ends as a bench does: finish() with the given checks."""
    code = (
        f"import sys; sys.path.insert(0, {str(BENCH)!r})\n"
        f"from verdict import Check, finish\nfinish('x', {checks})"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


MET = "Check('ratio 1.01 (target <= 1.03)', True)"
CASES = {
    # every check met: exit 0, the verdict as the last line
    "met": (
        f"[{MET}, Check('growth 40 MB (target < 100 MB)', True)]",
        0,
        "verdict x: ratio 1.01 (target <= 1.03): met; growth 40 MB (target < 100 MB): met -> met",
    ),
    # one missed check misses the whole target
    "one missed": (
        f"[{MET}, Check('saved 0% (target >= 40%)', False)]",
        1,
        "verdict x: ratio 1.01 (target <= 1.03): met; saved 0% (target >= 40%): NOT met -> NOT met",
    ),
    # an inconclusive check says why and is never a pass
    "inconclusive": (
        "[Check('overhead (target <= 1/3)', False, 'inconclusive: one round')]",
        1,
        "verdict x: overhead (target <= 1/3): NOT met (inconclusive: one round) -> NOT met",
    ),
    # a bench that measured nothing has missed its target
    "nothing": ("[]", 1, "verdict x: nothing measured -> NOT met"),
}


@pytest.mark.parametrize("case", CASES)
def test_the_verdict_is_the_last_line_and_the_exit_status_says_whether_it_is_met(case):
    checks, status, last = CASES[case]
    done = ending(checks)
    assert (done.returncode, done.stdout.splitlines()[-1]) == (status, last)


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


def test_overhead_s_ratio_below_one_beyond_its_noise_is_a_measurement_problem_not_a_pass():
    sys.path.insert(0, str(BENCH))
    try:
        from overhead import ratio_check
    finally:
        sys.path.remove(str(BENCH))
    faster = ratio_check(0.93, [0.92, 0.93, 0.94])  # tuneyard cannot beat the bare loop
    assert not faster.met and faster.why.startswith("measurement problem")
    assert ratio_check(1.01, [1.00, 1.01, 1.02]).met
    assert not ratio_check(1.10, [1.09, 1.10, 1.11]).met
    within_noise = ratio_check(0.98, [0.95, 0.98, 1.01])  # below 1, but inside its noise band
    assert within_noise.met and not within_noise.why
