"""Why a study cannot be resumed as asked: the fields that changed, and the ways on.

A study keeps its space's canonical body (`space_body` in its config) and its settings;
a run whose space or settings differ is refused with each change ("units.high: 256 ->
512", "epochs: 10 -> 15") and what the user can do instead: resume it unchanged, start it
over, or start a new study warm-started from this one.
"""

from __future__ import annotations

from typing import Any

from tuneyard.errors import TuneyardError
from tuneyard.space.diff import changes, summary
from tuneyard.space.file import space_of_study

SETTINGS = ("epochs", "subset", "seed")  # run settings that decide a trial's result


def changed_fields(old: dict, new: dict) -> list[str] | None:
    """'field: old -> new' lines between a study's stored config and a run's; None when the
    space changed but the study is too old to say how (it kept neither body nor text)."""
    lines: list[str] = []
    if old.get("fingerprint") != new.get("fingerprint"):
        before = _stored_body(old)
        lines = changes(before, new["space_body"]) if before is not None else []
        if not lines:
            return None
    for key in SETTINGS:
        line = f"{key}: {_plain(old.get(key))} -> {_plain(new.get(key))}"
        # The run's epochs follow the space's unless --epochs is given: said once.
        if old.get(key) != new.get(key) and f"training.{line}" not in lines:
            lines.append(line)
    return lines


def refusal(name: str, old: dict, new: dict, api: bool = False) -> str:
    """The one-line refusal of a changed study: what changed, and the ways on."""
    lines = changed_fields(old, new)
    if lines is None:
        what = (f"another space (fingerprint {old.get('fingerprint')}, now {new.get('fingerprint')}; "
                "the study was stored before tuneyard kept its space, so the fields cannot be named)")
        settings = [f"{k}: {_plain(old.get(k))} -> {_plain(new.get(k))}" for k in SETTINGS
                    if old.get(k) != new.get(k)]
        if settings:
            what += "; " + "; ".join(settings)
    else:
        what = summary(lines)
    if api:
        ways = ("resume it unchanged, pass fresh=True to start it over, or start a new study from "
                f"its trials that fit: warm_from={name!r}, study='new_name'")
    else:
        ways = ("resume it unchanged, pass --fresh to start it over, or start a new study from "
                f"its trials that fit: --warm-from {name} --study NEW_NAME")
    return f"study '{name}' was made with other settings: {what}. Ways on: {ways}"


def _stored_body(config: dict) -> dict | None:
    """The space body a study stored, or rebuilt from the space text older studies kept."""
    if config.get("space_body") is not None:
        return config["space_body"]
    if not config.get("space_text"):
        return None
    try:
        return space_of_study(config, check_workload=False).fingerprint_body()
    except TuneyardError:
        return None


def _plain(value: Any) -> str:
    return "(none)" if value is None else str(value)
