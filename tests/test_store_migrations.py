"""Forward migrations from every earlier schema version, data preserved."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kiosk.store import RecordStore
from kiosk.store.records_schema import RECORDS_MIGRATIONS, SCHEMA_VERSION, connect
from kiosk.store.schema import current_version, migrate
from kiosk.store.vault import Vault
from tests.conftest import resident


@pytest.mark.parametrize("start", range(0, SCHEMA_VERSION + 1))
def test_migrates_from_every_earlier_version(tmp_path: Path, start: int) -> None:
    data = tmp_path / "st"
    data.mkdir()
    conn = connect(data / "station.db")
    migrate(conn, "records", RECORDS_MIGRATIONS, target=start)
    assert current_version(conn, "records") == start
    conn.close()
    store = RecordStore(data)
    assert current_version(store.conn, "records") == SCHEMA_VERSION
    rec = store.create_draft(resident(1), actor="op")
    assert store.get(rec.id).step == "identity"


def test_v1_rows_survive_the_move_to_v2(tmp_path: Path) -> None:
    data = tmp_path / "st"
    data.mkdir()
    vault = Vault.open(data)
    conn = connect(data / "station.db")
    migrate(conn, "records", RECORDS_MIGRATIONS, target=1)
    ident = resident(5)
    import json

    sealed = vault.seal(json.dumps(ident.to_dict()).encode(), b"identity:r1")
    conn.execute("INSERT INTO records VALUES ('r1', ?, 'queued', ?, 't0', 't0', 'op')", (vault.nik_hash(ident.nik), sealed))
    conn.execute("INSERT INTO audit(ts, actor, action, record_id, reason, prev_hash, hash)"
                 " VALUES ('t0','op','create','r1','', '0', 'h')")
    conn.close()
    store = RecordStore(data)
    rec = store.get("r1")
    assert (rec.state.value, rec.step) == ("queued", "identity")
    assert store.identity("r1") == ident
    assert store.audit("r1")[0].params == {}


def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "st"
    RecordStore(data).close()
    conn = sqlite3.connect(data / "station.db")
    conn.execute("UPDATE schema_versions SET version = 99 WHERE component = 'records'")
    conn.commit()
    conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        RecordStore(data)


def test_a_failed_step_leaves_the_old_version(tmp_path: Path) -> None:
    conn = connect(tmp_path / "x.db")
    steps = ["CREATE TABLE a (x)", "CREATE TABLE b (y); CREATE TABLE a (dup)"]
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, "demo", steps)
    assert current_version(conn, "demo") == 0
    assert conn.execute("SELECT name FROM sqlite_master WHERE name IN ('a','b')").fetchall() == []
