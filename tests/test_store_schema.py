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
