"""Sealed packets at the station: each queued record's packet is sealed once and stored
(``sync_packets``), so every path that sends it (an upload, a resumed upload, an offline
export) sends the same bytes, and the central sees one packet per record submission however
it arrives. Also: the keys packets are sealed to, and sending a refused record again.
"""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from kiosk.central.packet import build_content, seal
from kiosk.errors import ConfigError, InputError
from kiosk.store import RecordState, RecordStore
from kiosk.store.queue import now_iso
from kiosk.sync.schema import ensure_schema

S = RecordState


def stored_packet(store: RecordStore, record_id: str, *, station_id: str, station_key: Ed25519PrivateKey,
                  sealing_key: X25519PublicKey) -> tuple[sqlite3.Row | None, bool]:
    """The stored sealed packet of a queued record, sealed (once) if need be: (row, sealed now).

    Every path that sends a record (an upload, a resumed upload, an offline export) takes its
    bytes from here, so the central sees one packet per record submission however it arrives."""
    ensure_schema(store)
    row = store.conn.execute("SELECT * FROM sync_packets WHERE record_id=?", (record_id,)).fetchone()
    if row is not None and row["packet"] is not None:
        return row, False
    if store.get(record_id).state is not S.QUEUED:
        return row, False
    submission = row["submission"] if row is not None else 1
    blob = seal(build_content(store, record_id, station_id), record_id=record_id, station_id=station_id,
                submission=submission, station_key=station_key, central_key=sealing_key)
    sha = hashlib.sha256(blob).hexdigest()
    # No fsync for this commit (WAL, synchronous=NORMAL: it still survives kill -9). Lost in a
    # power cut, the packet is sealed again, and the central takes a re-sealed packet of the
    # same submission as the same upload (restarted if incomplete, "complete" if stored).
    with without_fsync(store.conn):
        fresh = _store_packet(store, record_id, submission, blob, sha)
    return store.conn.execute("SELECT * FROM sync_packets WHERE record_id=?", (record_id,)).fetchone(), fresh


@contextmanager
def without_fsync(conn: sqlite3.Connection) -> Iterator[None]:
    """Commits on ``conn`` (this thread's connection) inside the block are not fsynced
    (WAL with synchronous=NORMAL): they survive a killed process but a power cut may undo the
    newest of them, whole and in order. Only for commits the central can tell again."""
    if conn.in_transaction:  # joined an outer transaction: its owner decides
        yield
        return
    conn.execute("PRAGMA synchronous=NORMAL")
    try:
        yield
    finally:
        conn.execute("PRAGMA synchronous=FULL")


def _store_packet(store: RecordStore, record_id: str, submission: int, blob: bytes, sha: str) -> bool:
    fresh = True
    with store.transaction() as conn:
        current = conn.execute("SELECT packet FROM sync_packets WHERE record_id=?", (record_id,)).fetchone()
        if current is None:
            conn.execute("INSERT INTO sync_packets(record_id, submission, packet, sha256, length, attempts,"
                         " created_at) VALUES (?,?,?,?,?,1,?)",
                         (record_id, submission, blob, sha, len(blob), now_iso()))
        elif current[0] is None:
            conn.execute("UPDATE sync_packets SET packet=?, sha256=?, length=?, offset=0, status='pending',"
                         " error=NULL, attempts=1 WHERE record_id=?", (blob, sha, len(blob), record_id))
        else:  # another worker built it meanwhile: keep theirs (it may be on its way already)
            fresh = False
    return fresh


def sealing_key_for(cfg: Any) -> X25519PublicKey:
    """The central's X25519 key packets are sealed to, from the config alone (no connection):
    the local central's key file for ``url = "local"`` (created at first use), else the pinned one."""
    from kiosk.central.keys import CentralKeys, load_x25519_public

    c = cfg.central
    if c.url == "local":
        return CentralKeys.init(c.local.data_dir).sealing_public
    if c.sealing_key is None:
        raise ConfigError("config.missing_key", file=str(cfg.path), key="central.sealing_key",
                          expected="PEM file of the central's X25519 key")
    return load_x25519_public(c.sealing_key)


def sealer_for_station(cfg: Any, store: RecordStore) -> Callable[[str], bytes]:
    """record id -> the sealed packet bytes ``kiosk export`` writes to the stick: exactly the
    packet the sync worker stores and uploads (:func:`stored_packet`), so a record exported
    and later uploaded is one and the same upload at the central. Opens no connection."""
    from kiosk.central.keys import StationKeys

    station_key = StationKeys.init(cfg.station.data_dir).signing
    sealing_key = sealing_key_for(cfg)

    def seal_packet(record_id: str) -> bytes:
        row, _ = stored_packet(store, record_id, station_id=cfg.station.id, station_key=station_key,
                               sealing_key=sealing_key)
        if row is None or row["packet"] is None:
            raise InputError("sync.not_queued", record_id=record_id)
        return bytes(row["packet"])

    return seal_packet


def retry_refused(store: RecordStore, record_id: str, *, actor: str) -> None:
    """Send a record the central refused once more, sealed anew (e.g. after the central was
    re-keyed or the station registered); the refusal stays in the audit trail."""
    ensure_schema(store)
    with store.transaction() as conn:
        row = conn.execute("SELECT status, error FROM sync_packets WHERE record_id=?", (record_id,)).fetchone()
        if row is None or row[0] != "refused":
            raise InputError("sync.not_refused", record_id=record_id)
        conn.execute("UPDATE sync_packets SET packet=NULL, sha256=NULL, length=0, offset=0, status='pending',"
                     " error=NULL, attempts=0 WHERE record_id=?", (record_id,))
        store.write_audit(conn, actor, "sync_retry", record_id=record_id, params={"refused": row[1] or ""})
