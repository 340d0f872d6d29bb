"""`tune` run in this process, for tests where signals, the process's own exit and argv do not
matter: it answers like subprocess.run (returncode, stdout, stderr) without paying a Python
start and a TensorFlow import for every command (seconds each).

What it does not see, a subprocess does: output written to file descriptor 2 behind
Python's back (TensorFlow's C++ logs; tests/test_quiet_import.py covers those), and the
path set-up of `python -m tuneyard` (tests/test_hostile_spaces.py runs that for real).
"""

import contextlib
import os
import sys
import traceback
from pathlib import Path
from subprocess import CompletedProcess

from typer.testing import CliRunner

from tuneyard.cli.main import app


def tune(*args, cwd=None, env=None, **_ignored) -> CompletedProcess:
    """Run `tune ARGS` here, from `cwd` with `env` added to the environment.

    An exception the CLI let out becomes a traceback on stderr, as it would in a process.
    Folders a space put on the import path, and the modules imported from them, are
    forgotten afterwards, so the next test's `model.py` of the same name is its own.
    """
    argv = [str(a) for a in args]
    path_before, modules_before = list(sys.path), set(sys.modules)
    with _chdir(cwd), _environ(env or {}):
        result = CliRunner().invoke(app, argv, prog_name="tune")
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "Traceback (most recent call last):\n" + "".join(
            traceback.format_exception(result.exception))
    _forget_user_modules(path_before, modules_before)
    return CompletedProcess(["tune", *argv], result.exit_code, result.stdout, stderr)


@contextlib.contextmanager
def _chdir(cwd):
    if cwd is None:
        yield
        return
    before = os.getcwd()
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(before)


@contextlib.contextmanager
def _environ(extra):
    before = dict(os.environ)
    os.environ.update({k: str(v) for k, v in extra.items()})
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(before)


def _forget_user_modules(path_before, modules_before):
    added = [p for p in sys.path if p not in path_before]
    for folder in added:
        sys.path.remove(folder)
    roots = [Path(p).resolve() for p in added]
    for name in set(sys.modules) - modules_before:
        file = getattr(sys.modules[name], "__file__", None)
        if file and any(Path(file).resolve().is_relative_to(r) for r in roots):
            del sys.modules[name]
