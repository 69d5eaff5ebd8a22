"""The printer component's tables in the station database: permits, prints, stock, reprints.

Applied with ``migrate(conn, "printer", PRINTER_MIGRATIONS)``. Records' states are never
changed here: the gate moves them with ``RecordStore.transition(..., extra=...)`` and writes
these rows inside that same transaction.

``print_permits`` is THE station's permit store: the sync worker writes the permits the central
sends (with an approval, or in answer to a reprint request) here, in the transaction that
applies them, and the gate reads them from here. ``reprint_requests`` is the queue of spoiled
cards the sync worker sends to the central (POST /v1/reprint-requests).

Permit status: ``received`` (usable) -> ``in_use`` (a print started) -> ``spent`` (card printed)
or back to ``received`` (the print failed before any card left the hopper) or ``spoiled`` (a card
was fed and the print failed, or the outcome is unknown: a new permit is needed, see
``reprint_requests``).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from kiosk.central.permit import PrintPermit
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
]


def migrate_in_transaction(conn: sqlite3.Connection) -> None:
    """Run the missing printer steps inside the caller's open transaction (they commit or roll
    back with it): the sync worker's own migration needs ``print_permits`` to move its rows."""
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


@dataclass(frozen=True)
class PermitRow:
    permit_id: str
    record_id: str
    permit: PrintPermit | None  # None when the stored body is not a permit at all
    status: str
    received_at: str
    used_at: str | None
    spent_at: str | None
    spoiled_at: str | None


def _row(r: sqlite3.Row) -> PermitRow:
    try:
        permit: PrintPermit | None = PrintPermit.from_dict(json.loads(r["body"]))
    except Exception:
        permit = None
    return PermitRow(r["permit_id"], r["record_id"], permit, r["status"], r["received_at"], r["used_at"],
                     r["spent_at"], r["spoiled_at"])


def store_permit(store: RecordStore, record_id: str, permit: PrintPermit | dict[str, Any],
                 conn: sqlite3.Connection | None = None, *, source: str = "approval") -> bool:
    """Keep a permit the central sent for ``record_id`` (the sync worker calls this).

    Stored as received (``source``: approval | reprint); the gate verifies it at print time. A permit id seen before is ignored
    (returns False) so a re-delivered permit can never reset a used one. Pass ``conn`` to join
    the caller's transaction (e.g. the one that moves the record to approved).
    """
    ensure_schema(store)
    body = permit.to_dict() if isinstance(permit, PrintPermit) else dict(permit)
    permit_id = str(body.get("permit_id", ""))
    c = conn or store.conn
    sql = "INSERT OR IGNORE INTO print_permits(permit_id, record_id, body, received_at, source) VALUES (?,?,?,?,?)"
    args = (permit_id, record_id, json.dumps(body, sort_keys=True), now_iso(), source)
    if conn is not None:
        return conn.execute(sql, args).rowcount == 1
    with store.transaction() as tx:
        return tx.execute(sql, args).rowcount == 1


def permits_for(store: RecordStore, record_id: str) -> list[PermitRow]:
    ensure_schema(store)
    rows = store.conn.execute("SELECT * FROM print_permits WHERE record_id = ? ORDER BY received_at, rowid",
                              (record_id,)).fetchall()
    return [_row(r) for r in rows]


def permit(store: RecordStore, permit_id: str) -> PermitRow | None:
    ensure_schema(store)
    r = store.conn.execute("SELECT * FROM print_permits WHERE permit_id = ?", (permit_id,)).fetchone()
    return _row(r) if r else None


def prints_for(store: RecordStore, record_id: str | None = None) -> list[dict[str, Any]]:
    ensure_schema(store)
    sql = "SELECT * FROM prints" + (" WHERE record_id = ?" if record_id else "") + " ORDER BY id"
    return [dict(r) for r in store.conn.execute(sql, (record_id,) if record_id else ())]


def reprint_requests(store: RecordStore, *, unsent_only: bool = False) -> list[dict[str, Any]]:
    """Spoiled cards waiting for a new permit (the sync worker sends these to the central)."""
    ensure_schema(store)
    sql = "SELECT * FROM reprint_requests" + (" WHERE sent_at IS NULL" if unsent_only else "") + " ORDER BY id"
    return [dict(r) for r in store.conn.execute(sql)]


def add_movement(conn: sqlite3.Connection, kind: str, *, cards: int = 0, ribbon_panels: int = 0, reason: str = "",
                 record_id: str | None = None, actor: str) -> None:
    conn.execute("INSERT INTO stock_movements(ts, kind, cards, ribbon_panels, reason, record_id, actor)"
                 " VALUES (?,?,?,?,?,?,?)", (now_iso(), kind, cards, ribbon_panels, reason, record_id, actor))


def reprint_answered(conn: sqlite3.Connection, request_id: int, *, new_permit_id: str | None = None,
                     error: str | None = None) -> None:
    """The central answered a reprint request (a new permit, or a refusal code); inside the
    caller's transaction, so the answer and the stored permit commit together."""
    conn.execute("UPDATE reprint_requests SET sent_at=?, new_permit_id=?, error=? WHERE id=?",
                 (now_iso(), new_permit_id, error, request_id))
