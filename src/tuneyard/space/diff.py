"""What changed between two spaces, field by field, in words a user can act on.

A study stores its space's `fingerprint_body()`; resuming it with another space is
refused with these lines ("units.high: 256 -> 512", "dropout: added") rather than two
hashes, and `--warm-from` says them about the earlier study it carries trials from.
"""

from __future__ import annotations

import json
from typing import Any

SECTIONS = ("name", "workload", "objective", "training", "fixed", "hyperparameters")
MAX_SHOWN = 8  # changed fields listed in one message; the rest are counted


def changes(old: dict, new: dict) -> list[str]:
    """Lines 'field: old -> new' between two fingerprint bodies (Space.fingerprint_body()).

    A hyperparameter's fields are named without the `hyperparameters.` prefix
    (`units.high`), as the user writes them under that key; a hyperparameter that appears
    or goes is one line (`dropout: added`).
    """
    out: list[str] = []
    old_params, new_params = old.get("hyperparameters", {}), new.get("hyperparameters", {})
    for section in [*SECTIONS, *sorted((set(old) | set(new)) - set(SECTIONS))]:
        if section == "hyperparameters":
            out.extend(_param_changes(old_params, new_params))
        else:
            out.extend(_walk(section, old.get(section), new.get(section)))
    return out


def summary(lines: list[str]) -> str:
    """The change lines joined for one message, at most MAX_SHOWN of them."""
    shown = "; ".join(lines[:MAX_SHOWN])
    more = len(lines) - MAX_SHOWN
    return shown + (f"; and {more} more" if more > 0 else "")


def _param_changes(old: dict, new: dict) -> list[str]:
    out = []
    for name in [*old, *(n for n in new if n not in old)]:
        label = name if name not in SECTIONS else f"hyperparameters.{name}"
        if name not in new:
            out.append(f"{label}: removed")
        elif name not in old:
            out.append(f"{label}: added ({_text(new[name])})")
        else:
            out.extend(_walk(label, old[name], new[name]))
    return out


def _walk(path: str, old: Any, new: Any) -> list[str]:
    """Changed leaves under `path`; lists are compared whole (a choice's values)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in [*old, *(k for k in new if k not in old)]:
            out.extend(_walk(f"{path}.{key}", old.get(key, _UNSET), new.get(key, _UNSET)))
        return out
    if old == new:
        return []
    return [f"{path}: {_text(old)} -> {_text(new)}"]


class _Unset:
    def __repr__(self) -> str:
        return "(unset)"


_UNSET = _Unset()


def _text(value: Any) -> str:
    if value is _UNSET:
        return "(unset)"
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_text(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)
