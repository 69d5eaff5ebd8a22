"""The sync component's tables in the station database, and its small key/value state.

``sync_packets`` (outbox), ``sync_decisions`` (inbox), ``sync_deletions`` (requests),
``sync_quarantine`` (answers the station refused to apply) and ``sync_state`` (the decision
cursor, the saved network state, the last checkpoint the central acknowledged).
"""

from __future__ import annotations

import sqlite3
import weakref
from typing import Any

from kiosk import permits as station_permits
from kiosk.store import RecordStore
from kiosk.store.schema import migrate

SYNC_MIGRATIONS: list[Any] = [
    """
    CREATE TABLE sync_packets (
        record_id TEXT PRIMARY KEY REFERENCES records(id),
        submission INTEGER NOT NULL DEFAULT 1,
        packet BLOB,
        sha256 TEXT,
        length INTEGER NOT NULL DEFAULT 0,
        offset INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL DEFAULT 'pending',
        error TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        confirmed_at TEXT
    );
    CREATE TABLE sync_decisions (
        record_id TEXT PRIMARY KEY REFERENCES records(id),
        submission INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        decision TEXT NOT NULL,
        reason TEXT,
        duplicate_of TEXT,
        decided_at TEXT NOT NULL,
        applied_at TEXT NOT NULL,
        note TEXT
    );
    CREATE TABLE sync_permits (
        permit_id TEXT PRIMARY KEY,
        record_id TEXT NOT NULL REFERENCES records(id),
        permit TEXT NOT NULL,
        source TEXT NOT NULL,
        received_at TEXT NOT NULL
    );
    CREATE INDEX sync_permits_record ON sync_permits(record_id);
    CREATE TABLE sync_deletions (
        record_id TEXT PRIMARY KEY REFERENCES records(id),
        submission INTEGER NOT NULL,
        request_id TEXT,
        status TEXT NOT NULL,
        reason TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        requested_at TEXT NOT NULL,
        answered_at TEXT,
        error TEXT
    );
    CREATE TABLE sync_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )
    """,
]


SYNC_MIGRATIONS.append(station_permits.adopt_sync_permits)  # one permit store (kiosk.permits)

# issue 13: answers from the central that were not applied (unsigned, foreign key, malformed);
# ``digest`` is the SHA-256 of the answer as received, ``detail`` names the failed check (never
# the answer's content: it may carry personal data)
SYNC_MIGRATIONS.append("""
    CREATE TABLE sync_quarantine (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        source TEXT NOT NULL,
        code TEXT NOT NULL,
        seq INTEGER,
        record_id TEXT,
        digest TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX sync_quarantine_at ON sync_quarantine(id DESC)
""")


# a packet sealed when its record was queued (kiosk.sync.sealer), before any pass took it:
# ``upload_begun_at`` is NULL until a pass hands it to an upload, so that upload starts with
# the creation without asking the central first (HEAD). Rows from before may have been sent.
SYNC_MIGRATIONS.append("""
    ALTER TABLE sync_packets ADD COLUMN upload_begun_at TEXT;
    UPDATE sync_packets SET upload_begun_at = created_at
""")


#: stores whose sync tables are known to be current: the migration check is a write
#: transaction (BEGIN IMMEDIATE), which every packet sealed would otherwise pay, and wait for
_current: "weakref.WeakSet[RecordStore]" = weakref.WeakSet()


def ensure_schema(store: RecordStore) -> None:
    if store in _current:
        return
    migrate(store.conn, "sync", SYNC_MIGRATIONS)
    _current.add(store)


def set_state(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT INTO sync_state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                 (key, value))


def get_state(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM sync_state WHERE key=?", (key,)).fetchone()
    return row[0] if row else None
