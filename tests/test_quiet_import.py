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
