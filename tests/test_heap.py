"""engine/heap.py: tuneyard's own processes freeze the libraries' objects before a trial's
garbage collections; a user's process is never touched. Each case runs in a fresh
interpreter: the test worker's own collector is conftest's to manage."""

import subprocess
import sys
from importlib.metadata import distribution


def python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_process_tuneyard_owns_freezes_once_per_batch_of_new_modules():
    out = python(
        "import gc\n"
        "from tuneyard.engine import heap\n"
        "heap.own_this_process()\n"
        "first = heap.settle(); frozen = gc.get_freeze_count()\n"
        "again = heap.settle()  # nothing new imported: no second collection\n"
        "import email.mime.multipart, http.server, xml.dom.minidom, json.tool, unittest.mock\n"
        "third = heap.settle()\n"
        "print(first, frozen > 1000, again, third)\n")
    assert out == "True True False True"


def test_a_users_process_is_never_frozen():
    # tuneyard.search in a notebook or script: the same call before a trial does nothing.
    out = python(
        "import gc, tuneyard, pandas\n"
        "from tuneyard.engine import heap\n"
        "print(heap.settle(), gc.get_freeze_count())\n")
    assert out == "False 0"


def test_the_tune_command_owns_its_process():
    # tuneyard's own scripts (Ray installs a `tune` of its own over it; see pyproject.toml)
    scripts = {e.name: e.value for e in distribution("tuneyard").entry_points
               if e.group == "console_scripts"}
    assert scripts == {"tune": "tuneyard.cli.main:main", "tuneyard": "tuneyard.cli.main:main"}
    out = python(
        "from tuneyard.cli import main as cli\n"
        "from tuneyard.engine import heap\n"
        "cli.app = lambda **kw: print(heap._owned[0])  # the command itself is not run\n"
        "print(heap._owned[0]); cli.main()\n")
    assert out.split() == ["False", "True"]
