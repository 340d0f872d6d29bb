"""Opening a store checks Optuna's schema in one query, and still refuses one that needs an upgrade."""

import sqlite3

import optuna
import pytest

from tuneyard.errors import StoreError
from tuneyard.store import optuna_store


@pytest.fixture
def script_loads(monkeypatch):
    """How many times Optuna loads its schema migration scripts (alembic's ScriptDirectory)."""
    import alembic.script

    loads = []
    real = alembic.script.ScriptDirectory.from_config.__func__
    monkeypatch.setattr(alembic.script.ScriptDirectory, "from_config",
                        classmethod(lambda cls, *a, **k: loads.append(1) or real(cls, *a, **k)))
    return loads


def test_the_schema_head_is_the_newest_revision_of_this_optuna(tmp_path):
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 's.db'}")
    # Else every open takes Optuna's slow check: set SCHEMA_HEAD to this Optuna's head.
    assert storage.get_head_version() == optuna_store.SCHEMA_HEAD


@pytest.mark.parametrize("readonly", [False, True])
def test_a_store_at_the_schema_head_opens_without_loading_optunas_migrations(
        tmp_path, script_loads, readonly):
    url = f"sqlite:///{tmp_path / 'tuneyard.db'}"
    optuna.create_study(storage=url, study_name="kept")
    script_loads.clear()
    storage = optuna_store.open_storage(url, readonly=readonly)
    assert script_loads == []
    assert [s.study_name for s in storage.get_all_studies()] == ["kept"]


@pytest.mark.parametrize("readonly", [False, True])
def test_a_store_of_an_older_schema_is_refused_saying_how_to_upgrade_it(tmp_path, readonly):
    path = tmp_path / "tuneyard.db"
    optuna.create_study(storage=f"sqlite:///{path}", study_name="old")
    with sqlite3.connect(path) as db:  # as an Optuna of two schema revisions ago left it
        db.execute("UPDATE alembic_version SET version_num = 'v3.0.0.d'")
    with pytest.raises(StoreError, match="optuna storage upgrade") as caught:
        optuna_store.open_storage(f"sqlite:///{path}", readonly=readonly)
    assert "\n" not in str(caught.value)


def schema(path) -> list:
    """A SQLite store's tables and indexes as SQL, and its stamped revision."""
    with sqlite3.connect(path) as db:
        tables = db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        return [tables, db.execute("SELECT version_num FROM alembic_version").fetchall()]


def test_a_new_store_is_made_as_optunas_own_without_loading_its_migrations(tmp_path, script_loads):
    ours = tmp_path / "tuneyard.db"
    storage = optuna_store.open_storage(f"sqlite:///{ours}")
    optuna.create_study(storage=storage, study_name="first")
    assert script_loads == []
    optunas = tmp_path / "optuna.db"
    optuna.create_study(storage=f"sqlite:///{optunas}", study_name="first")
    assert script_loads  # Optuna's own stamp loads them: the count above could fail
    assert schema(ours) == schema(optunas)
    assert [s.study_name for s in optuna_store.open_storage(f"sqlite:///{ours}").get_all_studies()] == [
        "first"]


def test_a_store_with_tables_is_never_stamped(tmp_path):
    # A file that already holds something (another program's table, a store of Optuna from
    # before alembic) is Optuna's to judge: tuneyard writes no revision into it.
    path = tmp_path / "tuneyard.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    optuna_store._prepare_sqlite(f"sqlite:///{path}")
    with sqlite3.connect(path) as db:
        assert [r[0] for r in db.execute("SELECT name FROM sqlite_master")] == ["notes"]


def test_opening_a_store_another_process_is_writing_takes_no_lock(tmp_path, monkeypatch):
    # A sweep holds the store's write lock for each of its commits; a second `tune run` or
    # `tune worker` opening the store meanwhile must not queue behind it to check for tables.
    url = f"sqlite:///{tmp_path / 'tuneyard.db'}"
    optuna_store.open_storage(url)
    monkeypatch.setenv("TUNEYARD_SQLITE_TIMEOUT", "0.05")
    monkeypatch.setattr(optuna_store.time, "sleep", lambda seconds: None)  # its retries, at once
    writer = sqlite3.connect(tmp_path / "tuneyard.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        optuna_store._prepare_sqlite(url)  # "database is locked" if it asked for the lock
    finally:
        writer.execute("ROLLBACK")
        writer.close()
