"""The one exception family for user-facing errors, and how an error names an option.

The CLI turns any TuneyardError into one readable line and exit code 2; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

# Set while `tuneyard.search` runs (api_words()): an error raised anywhere beneath it names
# the option as the API spells it (fresh=True), not as the command line does (--fresh).
_API_WORDS: ContextVar[bool] = ContextVar("tuneyard_api_words", default=False)
# Options that are switches on the command line (--fresh) and True in the API (fresh=True).
SWITCHES = frozenset({"fresh", "verbose", "report"})


class TuneyardError(Exception):
    """A problem the user can fix; str(error) says what was wrong and how to fix it."""


class SpaceError(TuneyardError):
    """A search space file is missing, malformed or breaks a rule."""


class DataError(TuneyardError):
    """A dataset cannot be found, read or subset as asked."""


class StoreError(TuneyardError):
    """A study cannot be created, resumed or read as asked."""


class BackendError(TuneyardError):
    """A search backend cannot run on the given space or options."""


class ArgumentError(TuneyardError, ValueError):
    """An argument of the Python API (`tuneyard.search`) is wrong; the message names it."""


def option(name: str, api: bool | None = None) -> str:
    """How the user wrote option `name` ("warm_from"): `--warm-from` on the command line,
    `warm_from=` in `tuneyard.search` (a switch: `--fresh`, `fresh=True`), so an error names
    what the user can change. `api` None: as the caller's context has it (api_words())."""
    api = _API_WORDS.get() if api is None else api
    if api:
        return f"{name}=True" if name in SWITCHES else f"{name}="
    return "--" + name.replace("_", "-")


def named(name: str, api: bool | None = None) -> str:
    """Option `name` as a word in a sentence: `--trial-timeout` on the command line,
    `trial_timeout` in `tuneyard.search` ("trial_timeout must be ...")."""
    api = _API_WORDS.get() if api is None else api
    return name if api else "--" + name.replace("_", "-")


def given(name: str, value: Any, api: bool | None = None) -> str:
    """Option `name` with `value` as the user wrote it (or would): `--workers 4` on the
    command line, `workers=4` in `tuneyard.search` (strings quoted: `gpus='0,2'`)."""
    api = _API_WORDS.get() if api is None else api
    if api:
        return f"{name}={value!r}"
    return f"--{name.replace('_', '-')} {value}"


def api_words_on() -> bool:
    """Whether errors raised now name `tuneyard.search`'s arguments."""
    return _API_WORDS.get()


@contextlib.contextmanager
def api_words() -> Iterator[None]:
    """Within the block (a `tuneyard.search` call), option() and given() use the API's words."""
    token = _API_WORDS.set(True)
    try:
        yield
    finally:
        _API_WORDS.reset(token)
