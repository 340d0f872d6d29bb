"""Where studies live on disk, and the rules that keep tuneyard inside its results folder.

A study name is a name, never a path: it becomes one folder directly under the
results folder, so a name that could climb out of it (`..`, `a/b`, `/tmp/x`) or
that a file system would read differently (a NUL, a newline) is refused. Anything
tuneyard deletes goes through `remove_inside_results`, which resolves the path
and refuses one that lies outside the results folder.
"""

from __future__ import annotations

import os
import shutil
import unicodedata
from pathlib import Path

from tuneyard.errors import StoreError

MAX_NAME_LENGTH = 128
NAME_RULE = (
    "a study name is one folder name: not empty, not '.' or '..', no '/', '\\', NUL "
    f"or control characters, at most {MAX_NAME_LENGTH} characters"
)


def results_dir() -> Path:
    """Where sweeps write: ./results, or $TUNEYARD_RESULTS_DIR."""
    return Path(os.environ.get("TUNEYARD_RESULTS_DIR") or "results")


def check_study_name(name: str) -> str:
    """Return `name` if it is a valid study name; StoreError stating the rule if not."""
    problem = _name_problem(name)
    if problem:
        raise StoreError(f"study name {name!r} is refused ({problem}); {NAME_RULE}")
    return name


def _name_problem(name: str) -> str | None:
    if not isinstance(name, str) or not name:
        return "it is empty"
    if name in (".", ".."):
        return "it names a folder, not a study"
    if "/" in name or "\\" in name:
        return "it contains a path separator"
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        return "it contains a control character"
    if len(name) > MAX_NAME_LENGTH:
        return f"it has {len(name)} characters"
    if len(name.encode("utf-8", "surrogatepass")) > 255 or _has_surrogate(name):
        return "the file system cannot hold it as a folder name"
    return None


def _has_surrogate(name: str) -> bool:
    return any(0xD800 <= ord(ch) <= 0xDFFF for ch in name)


def study_dir(study_name: str) -> Path:
    """The folder of one study's files (leaderboard, backend state, reports).

    A folder there that is a symlink leading out of the results folder is refused:
    tuneyard writes and deletes nothing outside it.
    """
    path = results_dir() / check_study_name(study_name)
    if (path.is_symlink() or path.exists()) and not _inside_results(path.resolve()):
        raise StoreError(
            f"study folder {path} leads to {path.resolve()}, outside the results "
            f"folder; remove that link or set TUNEYARD_RESULTS_DIR to where the "
            "study should live"
        )
    return path


def _inside_results(resolved: Path) -> bool:
    root = results_dir().resolve()
    return resolved != root and root in resolved.parents


def remove_inside_results(path: Path) -> None:
    """Delete `path` (a file or a folder tree) only if it lies inside the results folder.

    The path is resolved first, so a symlink or a `..` leading out of the results
    folder is refused; rmtree never follows the links inside the tree.
    """
    path = Path(path)
    if not path.is_symlink() and not path.exists():
        return
    if path.name in ("", ".", "..") or not _inside_results(path.resolve()):
        raise StoreError(
            f"refusing to delete {path}: it is not inside the results folder {results_dir().resolve()}"
        )
    if path.is_symlink() or not path.is_dir():
        path.unlink()  # the link itself, never what it points to
    else:
        shutil.rmtree(path)
