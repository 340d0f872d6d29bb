"""Default names of `tuneyard.search`'s spaces, hence of its studies.

A study's default name is `<space>-<backend>-s<seed>`, as `tune run`'s; a dict space
handed to `tuneyard.search` is named after the build function (or workload class) *and*
the file that defines it: `build_model-wine-3f2a` is `build_model` of `wine.py`, 3f2a the
start of a hash of that file's absolute path. Two scripts of one folder that both define
`build_model` so get two studies, and re-running a script resumes its own (the same file
at the same path). In a notebook the defining file is the notebook itself where the
front end says which it is (Jupyter's JPY_SESSION_NAME, VS Code's `__vsc_ipynb_file__`);
otherwise `notebook`, the same for every notebook: pass `study=` to keep them apart.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import sys
from pathlib import Path
from typing import Any


def word(text: str) -> str:
    """`text` as a space name: letters, digits, `_` and `-` (anything else: `_`)."""
    made = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in text)
    return made or "python"


def default_name(obj: Any, base: str) -> str:
    """`base` (the function's or workload's name) and where `obj` is defined, as one word."""
    return word(f"{base}-{origin(obj)}")


def origin(obj: Any) -> str:
    """`<file stem>-<4 hex digits of its path's hash>`, or `<notebook stem>-<hash>`, or
    `notebook` (an unnamed notebook or console), or `python` (no file at all)."""
    code_file = _defining_file(obj)
    if code_file is None:
        return "python"
    if _is_cell(code_file):
        notebook = notebook_path()
        return "notebook" if notebook is None else _tag(notebook)
    return _tag(Path(code_file))


def notebook_path() -> Path | None:
    """The notebook this kernel runs, where the front end tells: Jupyter (server 2 and
    later) sets JPY_SESSION_NAME to its path, VS Code puts `__vsc_ipynb_file__` in the
    notebook's namespace."""
    main = sys.modules.get("__main__")
    found = getattr(main, "__vsc_ipynb_file__", None) or os.environ.get("JPY_SESSION_NAME")
    return Path(found) if found else None


def _defining_file(obj: Any) -> str | None:
    target = obj if inspect.isfunction(obj) or inspect.isclass(obj) else type(obj)
    target = inspect.unwrap(target) if inspect.isfunction(target) else target
    code = getattr(target, "__code__", None)
    if code is not None:
        return code.co_filename
    try:
        return inspect.getfile(target)
    except (TypeError, OSError):  # a class of __main__ in a console: no file
        return None


def _is_cell(filename: str) -> bool:
    """A notebook cell or console input: IPython compiles it under a made-up name
    (`/tmp/ipykernel_123/456.py`, `<ipython-input-3-...>`) that changes every session."""
    return filename.startswith("<") or "ipykernel_" in filename


def _tag(path: Path) -> str:
    full = str(Path(path).expanduser().resolve())
    return f"{Path(full).stem}-{hashlib.sha1(full.encode()).hexdigest()[:4]}"
