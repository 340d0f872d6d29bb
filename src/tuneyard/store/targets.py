"""Files and folders the user names that tuneyard writes: a store's folder, a CSV.

A user may point these anywhere they choose, with two limits: tuneyard makes no
folder outside the results folder (a typo in a path must not become a new tree),
and it writes nothing through a link in the results folder that leads out of it
(a symlinked study folder), nor over a SQLite store.
"""

from __future__ import annotations

import os
from pathlib import Path

from tuneyard.errors import StoreError
from tuneyard.store.faults import SQLITE_HEADER
from tuneyard.store.paths import inside_results, is_store_file_name, results_dir

# Links followed before a path is called a loop (the kernel's own limit is 40).
MAX_LINKS = 40


def check_store_folder(folder: Path) -> None:
    """Refuse a SQLite store's folder that does not exist, unless it is in the results folder."""
    folder = Path(folder)
    resolved = folder.resolve()
    if folder.is_dir() or resolved == results_dir().resolve() or inside_results(resolved):
        return
    raise StoreError(
        f"the store's folder {folder} does not exist; create it first, or pass a --storage "
        "sqlite:///PATH in an existing folder or inside the results folder"
    )


def check_csv_target(path: Path) -> None:
    """Refuse a CSV path that leads out of the results folder through a link inside it,
    or that would replace a SQLite store; any other path is the user's to choose."""
    path = Path(path)
    link = link_out_of_results(path)
    if link is not None:
        raise StoreError(
            f"refusing to write {path}: {link} is a link in the results folder leading to "
            f"{link.resolve()}, outside it; write the CSV to a path that does not pass through it"
        )
    if is_store_file_name(path.name) or _is_sqlite(path):
        raise StoreError(
            f"refusing to write a CSV over {path}: it is (or is named as) a SQLite store; choose a .csv path"
        )
    if path.is_dir():
        raise StoreError(f"--csv {path} is a folder; give a file path, e.g. {path / 'leaderboard.csv'}")


def link_out_of_results(path: Path) -> Path | None:
    """The first link met on the way to `path` that sits in the results folder and leads out
    of it, or None. The path is walked one part at a time, reading each link, so a link
    reached through another link is seen too."""
    root = results_dir().resolve()
    parts = list(Path(path).absolute().parts)  # ".." kept: it climbs from a link's target
    current, hops = Path(parts.pop(0)), 0
    while parts and hops <= MAX_LINKS:
        part = parts.pop(0)
        step = current / part
        if part == "..":
            current = current.parent
        elif not step.is_symlink():
            current = step
        else:
            hops += 1
            target = Path(os.readlink(step))
            if (current == root or root in current.parents) and not _within(step.resolve(), root):
                return step
            parts = list(target.parts[1:] if target.is_absolute() else target.parts) + parts
            current = Path(target.anchor) if target.is_absolute() else current
    return None


def _within(resolved: Path, root: Path) -> bool:
    return resolved == root or root in resolved.parents


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False
