"""The PostgreSQL server the tests use, and what happens when there is none.

The server is TUNEYARD_TEST_POSTGRES (an admin URL; default the machine's one,
postgresql://postgres@127.0.0.1:5432/postgres, trust auth). When it cannot be used (no
psycopg2, no server, a refused login) a test skips naming the reason, except under CI
(CI set to anything but "", 0 or false; .ci/run sets it), where it fails with that
reason: a green CI run proves the PostgreSQL tests ran. Only those connection problems
skip; any other error fails the test as usual.
"""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import pytest

ADMIN_URL = os.environ.get("TUNEYARD_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def under_ci() -> bool:
    """Whether a missing or refusing server must fail the tests rather than skip them."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str) -> None:
    """Fail under CI, skip elsewhere: either way saying why."""
    if under_ci():
        pytest.fail(f"PostgreSQL tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL tests skipped: {reason} (set TUNEYARD_TEST_POSTGRES to a server's URL)")


def _server_name() -> str:
    parts = urlsplit(ADMIN_URL)
    return f"{parts.hostname}:{parts.port or 5432} as {parts.username}"


def require_server():
    """psycopg2, once the admin URL has been seen to accept a login (else fail or skip)."""
    problem = None  # said outside the except blocks, so no traceback of the cause is chained
    try:
        import psycopg2
    except ImportError as exc:
        problem = f"psycopg2 is not installed ({exc})"
    else:
        try:
            psycopg2.connect(ADMIN_URL, connect_timeout=3).close()
        except psycopg2.OperationalError as exc:  # no server, a refused login, an unknown database
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            problem = f"no PostgreSQL server accepts a login at {_server_name()}: {first}"
    if problem:
        unavailable(problem)
    return psycopg2


def database_url(name: str, password: str | None = None) -> str:
    """The admin URL pointed at database `name` (with `password`, if given: trust auth ignores it)."""
    parts = urlsplit(ADMIN_URL)
    netloc = parts.netloc.rpartition("@")[2]
    password = parts.password if password is None else password
    login = (parts.username or "") + (f":{password}" if password is not None else "")
    return urlunsplit((parts.scheme, f"{login}@{netloc}" if login else netloc, f"/{name}", "", ""))


def connect(database: str | None = None):
    """A psycopg2 connection to `database` (default: the admin URL's own)."""
    import psycopg2

    return psycopg2.connect(database_url(database) if database else ADMIN_URL)


@contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """A new database on the server for one test (its name), dropped afterwards."""
    require_server()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = connect()
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()
