"""Where studies live on disk, and the rules that keep tuneyard inside its results folder.

A study name is a name, never a path: it becomes one folder directly under the
results folder, so a name that could climb out of it (`..`, `a/b`, `/tmp/x`) or
that a file system would read differently (a NUL, a newline) is refused. Nor can a
name be one of the store's own files (`tuneyard.db`, its `-wal`, `-shm` and
`-journal`, any SQLite file name) or anything in the results folder that is not a
study's folder: deleting such a study would delete that file. Anything tuneyard
deletes goes through `remove_inside_results`, which resolves the path, refuses
one that lies outside the results folder, and deletes folders and links, never a
file standing where a study's folder should be.
"""

from __future__ import annotations

import os
import shutil
import unicodedata
from pathlib import Path

from tuneyard.errors import StoreError, named

MAX_NAME_LENGTH = 128
# SQLite's files: the database (these suffixes by convention) and what it writes beside it.
STORE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
SIDE_FILES = ("-wal", "-shm", "-journal")
NAME_RULE = (
    "a study name is one folder name: not empty, not '.' or '..', no '/', '\\', NUL "
    f"or control characters, at most {MAX_NAME_LENGTH} characters, not a SQLite file's name "
    "(*.db, *.sqlite, *.sqlite3, with or without -wal, -shm, -journal)"
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
    if is_store_file_name(name):
        return "it is the name of a SQLite store file, which the results folder may hold"
    return None


def is_store_file_name(name: str) -> bool:
    """Whether `name` reads as a SQLite database file or one of its side files (`x.db-wal`)."""
    base = next((name[: -len(s)] for s in SIDE_FILES if name.endswith(s)), name)
    return base.lower().endswith(STORE_SUFFIXES)


def check_not_store_file(study_name: str, store_file: Path | None) -> None:
    """Refuse a study whose folder would be, or would hold, the SQLite store it lives in
    (`--study store --storage sqlite:///results/store`): deleting it would delete the store."""
    if store_file is None:
        return
    folder = results_dir().resolve() / study_name
    for side in ("", *SIDE_FILES):
        found = Path(f"{store_file}{side}").resolve()
        if found == folder or folder in found.parents:
            raise StoreError(
                f"study name {study_name!r} is refused: its folder {results_dir() / study_name} "
                f"would be or hold the store's own file {store_file}; choose another {named('study')} name"
            )


def _has_surrogate(name: str) -> bool:
    return any(0xD800 <= ord(ch) <= 0xDFFF for ch in name)


def study_dir(study_name: str) -> Path:
    """The folder of one study's files (leaderboard, backend state, reports).

    A folder there that is a symlink leading out of the results folder is refused:
    tuneyard writes and deletes nothing outside it. So is anything there that is not
    a folder (the store's database, a file of the user's): the path must be a folder
    or absent.
    """
    path = results_dir() / check_study_name(study_name)
    if not path.is_symlink() and not path.exists():
        return path
    if not inside_results(path.resolve()):
        raise StoreError(
            f"study folder {path} leads to {path.resolve()}, outside the results "
            f"folder; remove that link or set TUNEYARD_RESULTS_DIR to where the "
            "study should live"
        )
    if not path.is_dir():
        raise StoreError(
            f"study name {study_name!r} is refused: {path} is a file, not a study's folder, "
            "and tuneyard never writes or deletes it for a study; choose another name"
        )
    store = next((e for e in os.scandir(path) if is_store_file_name(e.name)), None)
    if store is not None:
        raise StoreError(
            f"study name {study_name!r} is refused: {path} holds the SQLite store "
            f"{store.name}, so it is not a study's folder; choose another name"
        )
    return path


def inside_results(resolved: Path) -> bool:
    """Whether a resolved path lies strictly inside the (resolved) results folder."""
    root = results_dir().resolve()
    return resolved != root and root in resolved.parents


def remove_inside_results(path: Path) -> None:
    """Delete `path` (a folder tree, or a link) only if it lies inside the results folder.

    The path is resolved first, so a symlink or a `..` leading out of the results
    folder is refused; rmtree never follows the links inside the tree. A plain file
    is never deleted: where a study's folder should be, it belongs to someone else.
    """
    path = Path(path)
    if not path.is_symlink() and not path.exists():
        return
    if path.name in ("", ".", "..") or not inside_results(path.resolve()):
        raise StoreError(
            f"refusing to delete {path}: it is not inside the results folder {results_dir().resolve()}"
        )
    if path.is_symlink():
        path.unlink()  # the link itself, never what it points to
        return
    if not path.is_dir():
        raise StoreError(f"refusing to delete {path}: it is a file, not a study's folder")
    store = _store_within(path)
    if store is not None:
        raise StoreError(
            f"refusing to delete {path}: it holds the SQLite store {store}; move that store out of it first"
        )
    shutil.rmtree(path)


def _store_within(folder: Path) -> Path | None:
    """A SQLite file anywhere in `folder`'s tree (links not followed), or None."""
    for parent, _, files in os.walk(folder):
        for name in files:
            if is_store_file_name(name):
                return Path(parent) / name
    return None
