"""Files written whole or not at all: a reader never sees half of one, a crash never leaves one.

Every file tuneyard rewrites while others may read it (the leaderboard CSV, JSON state,
saved models) is written to a temporary file beside it, named per process so that
processes sharing a folder never share one, then moved into place with os.replace.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def replacing(path: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces `path`, else it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> None:
    """Replace `path` with `text`, atomically."""
    with replacing(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | Path, value: Any, indent: int | None = None) -> None:
    """Replace `path` with `value` as JSON, atomically."""
    write_text(path, json.dumps(value, indent=indent))


def write_with(path: str | Path, write: Callable[[Path], None], suffix: str = ".tmp") -> None:
    """Replace `path` with what `write(tmp_path)` writes, atomically."""
    with replacing(path, suffix) as tmp:
        write(tmp)
