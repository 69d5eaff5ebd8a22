"""The station's record database: its tables, as forward-only migrations of the ``records``
component (:mod:`kiosk.store.schema`), and how a connection to it is opened (WAL,
``synchronous=FULL``, foreign keys on)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

RECORDS_MIGRATIONS: list[Any] = [
    # v1: records, samples, finger exceptions, audit
    """
    CREATE TABLE records (
        id TEXT PRIMARY KEY,
        nik_hash TEXT NOT NULL,
        state TEXT NOT NULL,
        identity BLOB NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        created_by TEXT NOT NULL
    );
    CREATE TABLE samples (
        id INTEGER PRIMARY KEY,
        record_id TEXT NOT NULL REFERENCES records(id),
        kind TEXT NOT NULL,
        position INTEGER NOT NULL DEFAULT 0,
        format TEXT NOT NULL,
        quality REAL,
        metadata TEXT NOT NULL DEFAULT '{}',
        data BLOB,
        captured_at TEXT NOT NULL,
        UNIQUE (record_id, kind, position)
    );
    CREATE TABLE finger_exceptions (
        record_id TEXT NOT NULL REFERENCES records(id),
        position INTEGER NOT NULL,
        reason TEXT NOT NULL,
        approved_by TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (record_id, position)
    );
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        ts TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        record_id TEXT,
        from_state TEXT,
        to_state TEXT,
        reason TEXT NOT NULL DEFAULT '',
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX records_state ON records(state)
    """,
    # v2: wizard step for resuming drafts; structured audit parameters; NIK lookup index
    """
    ALTER TABLE records ADD COLUMN step TEXT NOT NULL DEFAULT 'identity';
    ALTER TABLE audit ADD COLUMN params TEXT NOT NULL DEFAULT '{}';
    CREATE INDEX records_nik ON records(nik_hash);
    CREATE INDEX audit_record ON audit(record_id)
    """,
    # v3 (issue 14 §2): the station's own fingerprint check before upload (kiosk.dedup.local_hold):
    # one row per record checked; a match holds the record (state ``held``) until a supervisor
    # decides. The new states ``held`` and ``deleted`` are values of records.state (TEXT): rows of
    # v2 databases keep their states and gain the new edges (kiosk.store.states)
    """
    CREATE TABLE local_matches (
        record_id TEXT PRIMARY KEY REFERENCES records(id),
        checked_at TEXT NOT NULL,
        matched_record TEXT,
        score INTEGER NOT NULL DEFAULT 0,
        fingers TEXT NOT NULL DEFAULT '{}',
        decision TEXT,
        decided_by TEXT,
        decided_at TEXT,
        note TEXT NOT NULL DEFAULT ''
    )
    """,
    # v4: eyes that cannot be captured (lost, prosthesis, injured, bandaged), as finger_exceptions
    # are for fingers; the capture policy's required_irises counts them (kiosk.store.capture_policy)
    """
    CREATE TABLE iris_exceptions (
        record_id TEXT NOT NULL REFERENCES records(id),
        eye INTEGER NOT NULL,
        reason TEXT NOT NULL,
        approved_by TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (record_id, eye)
    )
    """,
]
SCHEMA_VERSION = len(RECORDS_MIGRATIONS)


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30.0, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.row_factory = sqlite3.Row
    return conn
