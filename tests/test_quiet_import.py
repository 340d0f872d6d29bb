"""TensorFlow's import-time lines on fd 2 are hidden; --verbose shows them; errors still raise.

A stand-in module writes to file descriptor 2 from its import, as TensorFlow's C++
side does on AVX512_VNNI CPUs, so the test fails on any machine if the silencing breaks.
"""

import os
import subprocess
import sys

import pytest

NOISY = 'import os\nos.write(2, b"I0000 oneDNN custom operations are on\\n")\nVALUE = 42\n'
SCRIPT = """
import tuneyard.quiet_import as quiet
quiet.QUIET_MODULE = "noisy_stand_in"
quiet.install()
import noisy_stand_in
import sys
print(noisy_stand_in.VALUE)
print("after the import", file=sys.stderr)
"""


def run(tmp_path, source, level):
    (tmp_path / "noisy_stand_in.py").write_text(source)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "TF_CPP_MIN_LOG_LEVEL": level}
    return subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True)


def test_the_import_lines_are_hidden_and_stderr_comes_back(tmp_path):
    done = run(tmp_path, NOISY, "2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "42"
    assert done.stderr == "after the import\n"


def test_verbose_shows_them(tmp_path):
    assert "oneDNN" in run(tmp_path, NOISY, "0").stderr


@pytest.mark.parametrize("level", ["2", "0"])
def test_an_import_that_fails_still_raises(tmp_path, level):
    done = run(tmp_path, "raise ImportError('no such library')\n", level)
    assert done.returncode == 1
    assert "ImportError: no such library" in done.stderr


# --- where the hook lives: the CLI and tuneyard's worker processes, never `import tuneyard` ---
# A stand-in `tensorflow` first on the path says so on fd 2 when imported, with its pid.
STAND_IN = 'import os\nos.write(2, f"tensorflow imported in {os.getpid()}\\n".encode())\n'
TESTS = os.path.dirname(os.path.abspath(__file__))


def run_with_stand_in(tmp_path, script, stand_in=True, **env):
    if stand_in:
        (tmp_path / "tensorflow.py").write_text(STAND_IN)
    path = os.pathsep.join([str(tmp_path), TESTS, os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path, "TF_CPP_MIN_LOG_LEVEL": "2", **env}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def test_import_tuneyard_changes_nothing_global(tmp_path):
    done = run_with_stand_in(tmp_path, (
        "import sys\nbefore = list(sys.meta_path)\nimport tuneyard, tuneyard.api\n"
        "assert sys.meta_path == before, sys.meta_path\nimport tensorflow\n"))
    assert "tensorflow imported in" in done.stderr  # fd 2 is the user's own: nothing hidden


def test_the_cli_hides_the_import_lines(tmp_path):
    done = run_with_stand_in(tmp_path, "import tuneyard.cli.main\nimport tensorflow\n")
    assert done.stderr == ""


SWEEP = """
import os
from cheap import SPACE
from noisy_trainer import NoisyTrainer
from tuneyard.engine.sweep import Sweep, SweepOptions
open("cheap.yaml", "w").write(SPACE)
Sweep(SweepOptions(space="cheap.yaml", backend="tpe", trials=2, workers=2),
      trainer=NoisyTrainer()).run()
print(os.getpid())
"""
NOISY_TRAINER = """
import os
from cheap import CheapTrainer
import tuneyard.quiet_import as quiet

class NoisyTrainer(CheapTrainer):
    def run(self, proposal, callbacks=None):
        quiet.QUIET_MODULE = "noisy_stand_in"  # the hook hides this one's first import
        import noisy_stand_in  # noqa: F401
        os.write(2, f"after the import in {os.getpid()}\\n".encode())
        return super().run(proposal, callbacks)
"""


@pytest.mark.slow  # starts worker processes (seconds)
def test_worker_processes_hide_the_import_lines_whoever_started_them(tmp_path):
    # The sweep runs as the API runs it (no CLI in the parent): its worker processes are
    # tuneyard's own and keep fd 2 quiet while TensorFlow loads, as they did. An Optuna
    # backend: a Keras Tuner one checks the space with Keras Tuner, which imports the real
    # TensorFlow in the parent, whose fd 2 is the user's own (on AVX512_VNNI CPUs it then
    # says "oneDNN" itself, which this test would take for a worker's line).
    (tmp_path / "noisy_trainer.py").write_text(NOISY_TRAINER)
    (tmp_path / "noisy_stand_in.py").write_text(NOISY)
    done = run_with_stand_in(tmp_path, SWEEP, stand_in=False,
                             TUNEYARD_RESULTS_DIR=str(tmp_path / "results"))
    parent = done.stdout.split()[-1]
    workers = {line.split()[-1] for line in done.stderr.splitlines()
               if line.startswith("after the import in")}
    assert len(workers) == 2 and parent not in workers, done.stderr  # two worker processes
    assert "oneDNN" not in done.stderr
