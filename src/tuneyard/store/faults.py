"""Storage faults are user errors: one line saying what, where and the fix.

A read-only folder or database, a database locked past the retry window, a full
disk, a file that is not a database: `check_writable_*` finds what it can before
any training, and `storage_error` turns what slips through (SQLAlchemy, Optuna
and OS errors raised by a write) into a StoreError at the storage boundary.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tuneyard.errors import StoreError, given, named
from tuneyard.store.urls import mask_secrets

SQLITE_HEADER = b"SQLite format 3\x00"
# Seconds a writer waits for another process's lock on a SQLite file before giving up.
DEFAULT_LOCK_SECONDS = 60


def lock_seconds() -> float:
    """How long a SQLite writer waits on a lock ($TUNEYARD_SQLITE_TIMEOUT, default 60)."""
    return float(os.environ.get("TUNEYARD_SQLITE_TIMEOUT") or DEFAULT_LOCK_SECONDS)


def check_writable_folder(folder: Path, what: str) -> None:
    """Create `folder` if needed and prove a file can be written in it; StoreError if not."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".tuneyard-probe-"):
            pass
    except OSError as exc:
        raise StoreError(
            f"{what} {folder} is not writable ({_reason(exc)}); {_fix_for(exc, folder)}"
        ) from None


def check_sqlite_file(path: Path, writable: bool) -> None:
    """Refuse a file that is not a SQLite database, or (for writers) one that is read-only."""
    path = Path(path)
    if not path.exists():
        return
    try:
        with open(path, "r+b" if writable else "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise StoreError(
            f"database {path} cannot be {'written' if writable else 'read'} "
            f"({_reason(exc)}); {_fix_for(exc, path)}"
        ) from None
    if header and header != SQLITE_HEADER:
        raise StoreError(
            f"{path} is not a SQLite database; move it away or pass {given('storage', 'sqlite:///another.db')}"
        )
    if writable:
        check_writable_folder(path.parent, "the database's folder")  # SQLite writes its WAL there
        for suffix in ("-wal", "-shm"):  # left by an earlier process; SQLite must write them
            _check_writable_file(path.with_name(path.name + suffix))


def _check_writable_file(path: Path) -> None:
    if not path.exists():
        return
    try:
        with open(path, "r+b"):
            pass
    except OSError as exc:
        raise StoreError(
            f"database file {path} cannot be written ({_reason(exc)}); {_fix_for(exc, path)}"
        ) from None


def storage_error(exc: BaseException, where: str) -> StoreError | None:
    """The one-line StoreError for a storage fault, or None when `exc` is not one."""
    # Optuna wraps the driver's error (StorageInternalError from an OperationalError):
    # the cause that says what happened is further down the chain.
    chain = _chain(exc)
    text = next((_first_line(e) for e in chain if _known(_first_line(e))), _first_line(exc))
    low = text.lower()
    if "readonly database" in low or "read-only" in low or _errno(exc) in (errno.EACCES, errno.EROFS):
        return StoreError(
            f"the store {where} is read-only ({text}); make it and its folder "
            f"writable, or pass {named('storage')} with a writable database"
        )
    if "database is locked" in low:
        return StoreError(
            f"the store {where} stayed locked by another process for more than "
            f"{lock_seconds():g} s; wait for it or stop it, then run the same command "
            "again (finished trials are kept)"
        )
    if "disk is full" in low or _errno(exc) in (errno.ENOSPC, errno.EDQUOT):
        return StoreError(
            f"the disk holding {where} is full ({text}); free some space, then run "
            "the same command again (finished trials are kept)"
        )
    if "disk i/o error" in low:  # SQLite's word when its WAL cannot grow on a full disk
        return StoreError(
            f"the disk holding {where} is full or failing ({text}); free some "
            "space, then run the same command again (finished trials are kept)"
        )
    if "not a database" in low or "malformed" in low or "file is encrypted" in low:
        return StoreError(
            f"{where} is not a valid database ({text}); move it away or pass {named('storage')} with "
            "another database"
        )
    if "exceeding max length" in low or "during the commit" in low:
        return StoreError(
            f"the store {where} refused a write ({text}); check that the database "
            "and its folder are writable and the disk is not full"
        )
    return None


@contextlib.contextmanager
def storage_boundary(where: str) -> Iterator[None]:
    """Turn storage faults raised inside the block into one-line StoreErrors."""
    try:
        yield
    except StoreError:
        raise
    except Exception as exc:
        translated = storage_error(exc, where)
        if translated is None:
            raise
        raise translated from None


_KNOWN = (
    "readonly database",
    "read-only",
    "database is locked",
    "disk is full",
    "disk i/o error",
    "not a database",
    "malformed",
    "file is encrypted",
)


def _known(text: str) -> bool:
    return any(sign in text.lower() for sign in _KNOWN)


def _chain(exc: BaseException | None) -> list[BaseException]:
    out: list[BaseException] = []
    while exc is not None and exc not in out:
        out.append(exc)
        exc = exc.__cause__ or exc.__context__
    return out


def _errno(exc: BaseException) -> int | None:
    return next((e.errno for e in _chain(exc) if isinstance(e, OSError) and e.errno), None)


def _first_line(exc: BaseException) -> str:
    # SQLAlchemy wraps the driver's error: its message is the useful part.
    inner = getattr(exc, "orig", None) or exc
    text = str(inner).strip().splitlines()
    return mask_secrets(text[0])[:200] if text else type(exc).__name__


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _fix_for(exc: OSError, path: Path) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "free some disk space"
    if exc.errno == errno.EROFS:
        return "it is on a read-only file system: set TUNEYARD_RESULTS_DIR to a writable folder"
    return f"make it writable (chmod u+w {path}) or set TUNEYARD_RESULTS_DIR to a writable folder"
