"""Where each record stands in its journey, as a catalog code and parameters (issue 14 §2).

The queue screen shows one line per record: held for a local match, waiting for the central,
duplicate waiting for the deletion of the earlier record, sent again after that deletion,
deleted at the central, ... The words come from ``dedup_flow.step.*``; this module only reads
the store (records, ``local_matches``, and the sync tables when they exist), in a fixed number
of queries whatever the number of records, so the UI can call it from a worker each refresh.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from kiosk.store import Record, RecordState, RecordStore

S = RecordState
Step = tuple[str, dict[str, Any]]


def _table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None


def _rows(conn: sqlite3.Connection, sql: str, ids: list[str]) -> dict[str, sqlite3.Row]:
    out: dict[str, sqlite3.Row] = {}
    for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit
        part = ids[start:start + 500]
        for row in conn.execute(sql.format(marks=",".join("?" * len(part))), part):
            out[row["record_id"]] = row
    return out


def steps(store: RecordStore, records: Iterable[Record]) -> dict[str, Step]:
    """record id -> (catalog code, params) of the record's current step."""
    recs = list(records)
    ids = [r.id for r in recs]
    conn = store.conn
    held = _rows(conn, "SELECT record_id, matched_record FROM local_matches WHERE record_id IN ({marks})", ids)
    deletions: dict[str, sqlite3.Row] = {}
    decisions: dict[str, sqlite3.Row] = {}
    if _table(conn, "sync_deletions"):
        deletions = _rows(conn, "SELECT record_id, status FROM sync_deletions WHERE record_id IN ({marks})", ids)
        decisions = _rows(conn, "SELECT record_id, duplicate_of FROM sync_decisions WHERE record_id IN ({marks})",
                          ids)
    out: dict[str, Step] = {}
    for rec in recs:
        out[rec.id] = _step(rec, held.get(rec.id), deletions.get(rec.id), decisions.get(rec.id))
    return out


def _step(rec: Record, held: sqlite3.Row | None, deletion: sqlite3.Row | None,
          decision: sqlite3.Row | None) -> Step:
    base = "dedup_flow.step."
    if rec.state is S.HELD:
        other = held["matched_record"] if held is not None and held["matched_record"] else "?"
        return base + "held", {"record": other[:8]}
    if rec.state in (S.QUEUED, S.SUBMITTED) and deletion is not None and deletion["status"] == "done":
        return base + "resent", {}
    if rec.state is S.DUPLICATE:
        status = deletion["status"] if deletion is not None else None
        if status in ("to_send", "sent", "refused"):
            return base + f"deletion_{status}", {}
        dup: dict[str, Any] = {}
        if decision is not None and decision["duplicate_of"]:
            try:
                dup = dict(json.loads(decision["duplicate_of"]))
            except (ValueError, TypeError):
                dup = {}
        if not dup.get("record_id"):
            return base + "duplicate_elsewhere", {}
        return base + "duplicate", {"record": str(dup["record_id"])[:8], "station": str(dup.get("station_id", "?"))}
    return base + rec.state.value, {}
