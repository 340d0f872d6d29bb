"""The one exception family for user-facing errors.

The CLI turns any TuneyardError into one readable line and exit code 2; anything
else is a bug and keeps its traceback.
"""


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


def option(name: str, api: bool = False) -> str:
    """How the user wrote option `name` ("warm_from"): `--warm-from` on the command line,
    `warm_from=` in `tuneyard.search`, so an error names what the user can change."""
    return f"{name}=" if api else "--" + name.replace("_", "-")
