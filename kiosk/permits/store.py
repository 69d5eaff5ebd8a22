"""The station's permits and reprint requests: the one module that reads and writes them.

Tables (created by the ``printer`` schema component, :mod:`kiosk.printer.ledger`, because the
print that uses a permit and the permit's use commit in one transaction; existing station
databases already carry that component's versions):

- ``print_permits``: every permit the central sent, as received. Status ``received`` (usable)
  -> ``in_use`` (a print started) -> ``spent`` (card printed), back to ``received`` (the print
  failed before any card left the hopper) or ``spoiled`` (a card was fed and is not good: a
  new permit is needed), or ``void`` (the central deleted the record: :func:`void_permits`).
  The status is a convenience index: whether a permit may print is
  decided by the audit chain (:mod:`kiosk.permits.ledger`).
- ``reprint_requests``: spoiled cards waiting for a new permit (the sync requests step sends
  them, :func:`reprint_requests` / :func:`reprint_answered`).

The sync inbox hands a permit over with :func:`receive` inside the transaction that approves
the record (or answers a reprint request); nothing else inserts permits.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from kiosk.central.permit import PermitError, PrintPermit
from kiosk.permits.parse import malformed, parse_permit
from kiosk.printer.ledger import ensure_schema, migrate_in_transaction
from kiosk.store.queue import RecordStore, now_iso

SOURCES = ("approval", "reprint")


@dataclass(frozen=True)
class PermitRow:
    permit_id: str
    record_id: str
    permit: PrintPermit | None  # None when the stored body is not a well-formed permit
    status: str
    received_at: str
    used_at: str | None
    spent_at: str | None
    spoiled_at: str | None
    #: why the stored body is not a permit (a MalformedPermit), else None
    problem: PermitError | None = None


def _row(r: sqlite3.Row) -> PermitRow:
    permit: PrintPermit | None = None
    problem: PermitError | None = None
    try:
        permit = parse_permit(json.loads(r["body"]))
    except PermitError as exc:
        problem = exc
    except ValueError:  # not JSON at all
        problem = malformed("permit", "not_json")
    return PermitRow(r["permit_id"], r["record_id"], permit, r["status"], r["received_at"], r["used_at"],
                     r["spent_at"], r["spoiled_at"], problem)


def receive(store: RecordStore, conn: sqlite3.Connection, permit_doc: PrintPermit | dict[str, Any], *,
            record_id: str, actor: str, source: str = "approval") -> bool:
    """Keep a permit the central sent, inside the caller's open transaction ``conn``.

    The one hand-over from sync to printing: the inbox calls it in the transaction that moves
    the record to approved (or answers a reprint request). The document is parsed strictly
    (:class:`~kiosk.permits.parse.MalformedPermit` otherwise, nothing stored); its signature and card hash
    are checked by the caller before and by the gate again at print time. A permit id seen
    before changes nothing (returns False): a re-delivered permit never resets a used one.
    ``record_id`` is the record the central's message was about; the permit is kept under it
    even if it names another record, so that the gate refuses it with its reason and audit row.
    A new permit is audited (``permit_received``) so the chain holds every permit's life.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown permit source {source!r}")
    permit = permit_doc if isinstance(permit_doc, PrintPermit) else parse_permit(permit_doc)
    migrate_in_transaction(conn)  # joins the caller's transaction on a station without the tables yet
    cur = conn.execute("INSERT OR IGNORE INTO print_permits(permit_id, record_id, body, received_at, source)"
                       " VALUES (?,?,?,?,?)", (permit.permit_id, record_id,
                                               json.dumps(permit.to_dict(), sort_keys=True), now_iso(), source))
    if cur.rowcount != 1:
        return False
    store.write_audit(conn, actor, "permit_received", record_id=record_id,
                      params={"permit_id": permit.permit_id, "source": source})
    return True


def store_permit(store: RecordStore, record_id: str, permit_doc: PrintPermit | dict[str, Any], *,
                 actor: str = "sync", source: str = "approval") -> bool:
    """:func:`receive` in a transaction of its own (tests, tools, a station importing a permit)."""
    ensure_schema(store)
    with store.transaction() as conn:
        return receive(store, conn, permit_doc, record_id=record_id, actor=actor, source=source)


def permits_for(store: RecordStore, record_id: str) -> list[PermitRow]:
    ensure_schema(store)
    rows = store.conn.execute("SELECT * FROM print_permits WHERE record_id = ? ORDER BY received_at, rowid",
                              (record_id,)).fetchall()
    return [_row(r) for r in rows]


def permit(store: RecordStore, permit_id: str) -> PermitRow | None:
    ensure_schema(store)
    r = store.conn.execute("SELECT * FROM print_permits WHERE permit_id = ?", (permit_id,)).fetchone()
    return _row(r) if r else None


def held_permits(store: RecordStore, record_id: str) -> list[PrintPermit]:
    """Well-formed permits received for a record, oldest first."""
    return [row.permit for row in permits_for(store, record_id) if row.permit is not None]


# -- status changes, inside the gate's transactions ----------------------------------------------


def take(conn: sqlite3.Connection, permit_id: str) -> bool:
    """received -> in_use; False when another process took it first (the caller rolls back)."""
    cur = conn.execute("UPDATE print_permits SET status='in_use', used_at=? WHERE permit_id=? AND status='received'",
                       (now_iso(), permit_id))
    return cur.rowcount == 1


def attach_print(conn: sqlite3.Connection, permit_id: str, print_id: int) -> None:
    conn.execute("UPDATE print_permits SET print_job=? WHERE permit_id=?", (print_id, permit_id))


def mark_spent(conn: sqlite3.Connection, permit_id: str) -> None:
    conn.execute("UPDATE print_permits SET status='spent', spent_at=? WHERE permit_id=?", (now_iso(), permit_id))


def release(conn: sqlite3.Connection, permit_id: str) -> None:
    """No card left the hopper: the permit is usable again."""
    conn.execute("UPDATE print_permits SET status='received', used_at=NULL, print_job=NULL WHERE permit_id=?",
                 (permit_id,))


def mark_spoiled(conn: sqlite3.Connection, permit_id: str, record_id: str, reason: str) -> None:
    """A card was fed and is not good: the permit is consumed and a new one is asked for."""
    ts = now_iso()
    conn.execute("UPDATE print_permits SET status='spoiled', spoiled_at=? WHERE permit_id=?", (ts, permit_id))
    conn.execute("INSERT INTO reprint_requests(record_id, permit_id, reason, created_at) VALUES (?,?,?,?)",
                 (record_id, permit_id, reason, ts))


def void_permits(conn: sqlite3.Connection, record_id: str) -> list[str]:
    """The record was deleted at the central: every permit it holds that was not used up is
    void (status ``void``, never taken again), inside the caller's transaction. Returns their ids."""
    migrate_in_transaction(conn)
    ids = [r[0] for r in conn.execute("SELECT permit_id FROM print_permits WHERE record_id=? AND status IN"
                                      " ('received', 'in_use') ORDER BY rowid", (record_id,))]
    conn.execute("UPDATE print_permits SET status='void' WHERE record_id=? AND status IN ('received', 'in_use')",
                 (record_id,))
    return ids


# -- reprint requests -----------------------------------------------------------------------------


def reprint_requests(store: RecordStore, *, unsent_only: bool = False) -> list[dict[str, Any]]:
    """Spoiled cards waiting for a new permit (the sync requests step sends these to the central)."""
    ensure_schema(store)
    sql = "SELECT * FROM reprint_requests" + (" WHERE sent_at IS NULL" if unsent_only else "") + " ORDER BY id"
    return [dict(r) for r in store.conn.execute(sql)]


def reprint_answered(conn: sqlite3.Connection, request_id: int, *, new_permit_id: str | None = None,
                     error: str | None = None) -> None:
    """The central answered a reprint request (a new permit, or a refusal code); inside the
    caller's transaction, so the answer and the received permit commit together."""
    conn.execute("UPDATE reprint_requests SET sent_at=?, new_permit_id=?, error=? WHERE id=?",
                 (now_iso(), new_permit_id, error, request_id))


def adopt_sync_permits(conn: sqlite3.Connection) -> None:
    """Schema step of the ``sync`` component (v2): permits an older station kept in the sync
    worker's ``sync_permits`` move here, so there is one permit store."""
    migrate_in_transaction(conn)
    conn.execute("INSERT OR IGNORE INTO print_permits(permit_id, record_id, body, received_at, source)"
                 " SELECT permit_id, record_id, permit, received_at, source FROM sync_permits")
    conn.execute("DROP TABLE sync_permits")
