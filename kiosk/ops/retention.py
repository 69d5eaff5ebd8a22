"""Retention: purge biometric samples and identity of finished records after N days.

A record is finished when it is ``printed``, ``rejected``, ``deleted`` or ``cancelled``. The
first three states are only reached on a decision of the central (approved -> printed,
rejected, deleted at the central), so the central holds (or dropped) the record; a cancelled record was either never sent (nothing to keep for the
central) or cancelled after the central's rejected/duplicate decision. Records still waiting
for the central (queued, submitted, or exported on a USB stick but not confirmed) are never
purged: their state is not finished.

After ``days`` days in that state the record keeps only a stub: id, state, dates, creator, the
keyed NIK hash (so this station still refuses to enroll the same NIK twice) and its audit
entries. Samples, finger exceptions and the sealed identity are deleted with SQLite's
``secure_delete`` on, so the freed pages are zeroed too. Each purge writes one audit entry
(action ``purge``) in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from kiosk.store import RecordState, RecordStore
from kiosk.store.queue import now_iso
from kiosk.ops.tables import ensure_ops_tables

log = logging.getLogger("kiosk.ops.retention")

#: states after which the station has no further use for a record's biometrics
FINISHED: frozenset[RecordState] = frozenset({RecordState.PRINTED, RecordState.REJECTED, RecordState.CANCELLED,
                                              RecordState.DELETED})
#: what a purged record's identity column holds (the column is NOT NULL)
PURGED_IDENTITY = b""


@dataclass(frozen=True)
class PurgeCandidate:
    record_id: str
    state: str
    finished_at: str
    samples: int


@dataclass(frozen=True)
class PurgeResult:
    purged: tuple[PurgeCandidate, ...]
    dry_run: bool


def due_for_purge(store: RecordStore, days: int, *, now: dt.datetime | None = None) -> list[PurgeCandidate]:
    """Finished records whose last state change is older than ``days`` and not yet purged."""
    ensure_ops_tables(store)
    now = now or dt.datetime.now(dt.timezone.utc)
    cutoff = (now - dt.timedelta(days=days)).isoformat(timespec="milliseconds")
    states = sorted(s.value for s in FINISHED)
    rows = store.conn.execute(
        f"SELECT r.id, r.state, r.updated_at, (SELECT COUNT(*) FROM samples s WHERE s.record_id = r.id)"
        f" FROM records r WHERE r.state IN ({','.join('?' * len(states))}) AND r.updated_at < ?"
        f" AND r.id NOT IN (SELECT record_id FROM purges) ORDER BY r.updated_at, r.id",
        (*states, cutoff)).fetchall()
    return [PurgeCandidate(r[0], r[1], r[2], int(r[3])) for r in rows]


def purge_expired(store: RecordStore, days: int, *, actor: str = "system", dry_run: bool = False,
                  now: dt.datetime | None = None) -> PurgeResult:
    """Purge every record due (see module doc). The sync service calls this once a day."""
    due = due_for_purge(store, days, now=now)
    log.info("retention pass", extra={"due": len(due), "retention_days": days, "dry_run": dry_run})
    if dry_run:
        return PurgeResult(tuple(due), True)
    done: list[PurgeCandidate] = []
    previous = store.conn.execute("PRAGMA secure_delete").fetchone()[0]
    store.conn.execute("PRAGMA secure_delete=ON")  # zero the freed pages, for this connection only
    try:
        _purge(store, due, days, actor, done)
    finally:
        store.conn.execute(f"PRAGMA secure_delete={int(previous)}")
    return PurgeResult(tuple(done), False)


def _purge(store: RecordStore, due: list[PurgeCandidate], days: int, actor: str, done: list[PurgeCandidate]) -> None:
    for cand in due:  # one transaction per record: a crash leaves each record purged or not
        with store.transaction() as conn:
            row = conn.execute("SELECT state FROM records WHERE id = ?", (cand.record_id,)).fetchone()
            if row is None or RecordState(row[0]) not in FINISHED:
                continue
            conn.execute("DELETE FROM samples WHERE record_id = ?", (cand.record_id,))
            conn.execute("DELETE FROM finger_exceptions WHERE record_id = ?", (cand.record_id,))
            conn.execute("DELETE FROM iris_exceptions WHERE record_id = ?", (cand.record_id,))
            conn.execute("UPDATE records SET identity = ? WHERE id = ?", (PURGED_IDENTITY, cand.record_id))
            conn.execute("INSERT INTO purges(record_id, purged_at, samples) VALUES (?,?,?)",
                         (cand.record_id, now_iso(), cand.samples))
            store.write_audit(conn, actor, "purge", record_id=cand.record_id,
                              params={"samples": cand.samples, "retention_days": days, "state": cand.state})
        done.append(cand)
        log.info("record purged", extra={"record_id": cand.record_id, "samples": cand.samples,
                                          "retention_days": days})


def is_purged(store: RecordStore, record_id: str) -> bool:
    ensure_ops_tables(store)
    return store.conn.execute("SELECT 1 FROM purges WHERE record_id = ?", (record_id,)).fetchone() is not None
