"""The print side's tables in the station database: prints, stock movements, the printer's
last supplies report; and the schema of permits and reprint requests.

Applied with ``migrate(conn, "printer", PRINTER_MIGRATIONS)``. Records' states are never
changed here: the gate moves them with ``RecordStore.transition(..., extra=...)`` and writes
these rows inside that same transaction.

``print_permits`` and ``reprint_requests`` are created by this component (station databases
already carry its versions, and a print and its permit's use commit together) but every read
and write of them goes through their owner, :mod:`kiosk.permits`.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from kiosk.store.queue import RecordStore, now_iso
from kiosk.store.schema import current_version, migrate

PRINTER_MIGRATIONS: list[Any] = [
    """
    CREATE TABLE print_permits (
        permit_id TEXT PRIMARY KEY,
        record_id TEXT NOT NULL,
        body TEXT NOT NULL,
        received_at TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'received',
        used_at TEXT,
        spent_at TEXT,
        spoiled_at TEXT,
        print_job INTEGER
    );
    CREATE INDEX print_permits_record ON print_permits(record_id, status);
    CREATE TABLE prints (
        id INTEGER PRIMARY KEY,
        record_id TEXT NOT NULL,
        permit_id TEXT NOT NULL REFERENCES print_permits(permit_id),
        printer TEXT NOT NULL,
        state TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        counter_before INTEGER,
        printer_job TEXT,
        reason TEXT NOT NULL DEFAULT '',
        params TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX prints_record ON prints(record_id);
    CREATE TABLE stock_movements (
        id INTEGER PRIMARY KEY,
        ts TEXT NOT NULL,
        kind TEXT NOT NULL,
        cards INTEGER NOT NULL DEFAULT 0,
        ribbon_panels INTEGER NOT NULL DEFAULT 0,
        reason TEXT NOT NULL DEFAULT '',
        record_id TEXT,
        actor TEXT NOT NULL
    );
    CREATE TABLE reprint_requests (
        id INTEGER PRIMARY KEY,
        record_id TEXT NOT NULL,
        permit_id TEXT NOT NULL,
        reason TEXT NOT NULL,
        created_at TEXT NOT NULL,
        sent_at TEXT
    )
    """,
    # the sync worker sends reprint requests to the central: what came back (the new permit,
    # or the central's refusal code)
    """
    ALTER TABLE reprint_requests ADD COLUMN new_permit_id TEXT;
    ALTER TABLE reprint_requests ADD COLUMN error TEXT;
    ALTER TABLE print_permits ADD COLUMN source TEXT NOT NULL DEFAULT 'approval'
    """,
    # the printer's own figures as last read (by the UI or a print), so that every screen and
    # command shows the same stock without opening the printer (kiosk.printer.stock)
    """
    CREATE TABLE printer_supplies (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        read_at TEXT NOT NULL,
        printer TEXT NOT NULL,
        cards_in_hopper INTEGER,
        ribbon_panels_left INTEGER,
        total_printed INTEGER
    )
    """,
]


def migrate_in_transaction(conn: sqlite3.Connection) -> None:
    """Run the missing printer steps inside the caller's open transaction (they commit or roll
    back with it): a permit received in the transaction that approves a record, on a station
    whose printer tables do not exist yet (:func:`kiosk.permits.receive`)."""
    version = current_version(conn, "printer")
    for number in range(version + 1, len(PRINTER_MIGRATIONS) + 1):
        for stmt in str(PRINTER_MIGRATIONS[number - 1]).split(";"):
            if stmt.strip():
                conn.execute(stmt)
        conn.execute("INSERT INTO schema_versions(component, version) VALUES ('printer', ?) "
                     "ON CONFLICT(component) DO UPDATE SET version = excluded.version", (number,))


def ensure_schema(store: RecordStore) -> None:
    """Create/upgrade the printer tables (once per store object and thread's connection).

    Inside a caller's open transaction (e.g. the sync worker storing a permit in the same
    transaction that approves the record) the missing steps join that transaction.
    """
    conn = store.conn
    if getattr(store, "_printer_schema_conn", None) is conn:
        return
    if conn.in_transaction:
        migrate_in_transaction(conn)
        return  # not remembered: the caller's transaction may still roll back
    migrate(conn, "printer", PRINTER_MIGRATIONS)
    store._printer_schema_conn = conn  # type: ignore[attr-defined]


def prints_for(store: RecordStore, record_id: str | None = None) -> list[dict[str, Any]]:
    ensure_schema(store)
    sql = "SELECT * FROM prints" + (" WHERE record_id = ?" if record_id else "") + " ORDER BY id"
    return [dict(r) for r in store.conn.execute(sql, (record_id,) if record_id else ())]


def add_movement(conn: sqlite3.Connection, kind: str, *, cards: int = 0, ribbon_panels: int = 0, reason: str = "",
                 record_id: str | None = None, actor: str) -> None:
    conn.execute("INSERT INTO stock_movements(ts, kind, cards, ribbon_panels, reason, record_id, actor)"
                 " VALUES (?,?,?,?,?,?,?)", (now_iso(), kind, cards, ribbon_panels, reason, record_id, actor))
