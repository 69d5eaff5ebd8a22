"""SQLite tables owned by station operations (component ``ops`` in ``schema_versions``)."""

from __future__ import annotations

from typing import Any

from kiosk.store import RecordStore
from kiosk.store.schema import migrate

OPS_MIGRATIONS: list[Any] = [
    # v1: signed audit checkpoints, offline exports, retention purges
    """
    CREATE TABLE audit_checkpoints (
        seq INTEGER PRIMARY KEY,
        hash TEXT NOT NULL,
        entries INTEGER NOT NULL,
        prev INTEGER NOT NULL,
        signed_at TEXT NOT NULL,
        signature TEXT NOT NULL
    );
    CREATE TABLE exports (
        record_id TEXT PRIMARY KEY REFERENCES records(id),
        batch TEXT NOT NULL,
        file_sha256 TEXT NOT NULL,
        exported_at TEXT NOT NULL,
        confirmed_at TEXT
    );
    CREATE TABLE purges (
        record_id TEXT PRIMARY KEY REFERENCES records(id),
        purged_at TEXT NOT NULL,
        samples INTEGER NOT NULL
    )
    """,
]


def ensure_ops_tables(store: RecordStore) -> None:
    """Apply the ops migrations (idempotent; must run outside a transaction)."""
    migrate(store.conn, "ops", OPS_MIGRATIONS)
