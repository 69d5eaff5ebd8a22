"""Sealed packets at the station: each queued record's packet is sealed once and stored, so
every path that sends it (an upload, a resumed upload, an offline export) sends the same bytes,
and the central sees one packet per record submission however it arrives. Also: the keys
packets are sealed to, and sending a refused record again.

The packet's bytes are a file in ``<data>/outbox/`` named after the record, the submission and
the packet's SHA-256 (:func:`packet_file`); its row in ``sync_packets`` (submission, SHA-256,
length, status) says which file is the record's packet. A ~200 KB SQLite blob cost ~1 ms to
write (46 overflow pages into the WAL, copied again at each checkpoint) and as much again to
drop at confirmation; a file costs one write to the page cache and an unlink. The file is
written before its row is committed (the bytes exist before anything says so), neither is
fsynced: a kill -9 loses nothing; a power cut may lose either, and a file that is missing or
does not match its row's length and SHA-256 is sealed again, which the central takes as the
same upload (restarted if incomplete, "complete" if stored). Rows sealed before packets were
files keep their bytes in ``sync_packets.packet`` and are read from there.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from kiosk.central.packet import build_content, sealed
from kiosk.datafolder import private_folder
from kiosk.errors import ConfigError, InputError
from kiosk.store import RecordState, RecordStore
from kiosk.store.queue import now_iso
from kiosk.sync.schema import ensure_schema

S = RecordState
log = logging.getLogger("kiosk.sync")
OUTBOX_DIR = "outbox"


@dataclass(frozen=True)
class StoredPacket:
    """A record's sealed packet as stored: its row's fields and its bytes."""

    record_id: str
    submission: int
    packet: bytes
    sha256: str
    length: int
    status: str


def packet_file(store: RecordStore, record_id: str, submission: int, sha256: str) -> Path:
    """Where the packet of this record submission with this SHA-256 is kept."""
    return store.data_dir / OUTBOX_DIR / f"{record_id}.{submission}.{sha256}.pkt"


def stored_packet(store: RecordStore, record_id: str, *, station_id: str, station_key: Ed25519PrivateKey,
                  sealing_key: X25519PublicKey, for_upload: bool = True) -> tuple[StoredPacket | None, bool]:
    """The stored sealed packet of a queued record, sealed (once) if need be: (packet, sealed now).
    None for a record that has no packet and is no longer queued. ``for_upload=False``: sealed
    at queue time (:mod:`kiosk.sync.sealer`), not for an upload about to begin; its row says no
    upload has begun (``upload_begun_at`` NULL) until a pass claims it (:func:`claim_never_sent`).

    Every path that sends a record (an upload, a resumed upload, an offline export) takes its
    bytes from here, so the central sees one packet per record submission however it arrives."""
    ensure_schema(store)
    row = store.conn.execute("SELECT * FROM sync_packets WHERE record_id=?", (record_id,)).fetchone()
    unusable = None  # the SHA-256 of a row whose file was lost or damaged: this seal replaces it
    if row is not None and row["sha256"] is not None:
        if row["status"] != "confirmed":  # a confirmed packet's file is gone: the central holds it
            kept = _kept_packet(store, row)
            if kept is not None:
                return kept, False
        unusable = row["sha256"]
    if store.get(record_id).state is not S.QUEUED:
        return None, False
    submission = row["submission"] if row is not None else 1
    out = sealed(build_content(store, record_id, station_id), record_id=record_id, station_id=station_id,
                 submission=submission, station_key=station_key, central_key=sealing_key)
    path = packet_file(store, record_id, submission, out.sha256)
    private_folder(path.parent)
    path.write_bytes(out.blob)  # before the row that names it (no fsync: see the module docstring)
    # No fsync for this commit (WAL, synchronous=NORMAL: it still survives kill -9). Lost in a
    # power cut, the packet is sealed again, and the central takes a re-sealed packet of the
    # same submission as the same upload (restarted if incomplete, "complete" if stored).
    with without_fsync(store.conn):
        fresh = _store_packet(store, record_id, submission, out.sha256, len(out.blob), unusable, for_upload)
    if fresh:
        return StoredPacket(record_id, submission, out.blob, out.sha256, len(out.blob), "pending"), True
    path.unlink(missing_ok=True)  # another worker sealed it meanwhile: theirs is the packet
    return stored_packet(store, record_id, station_id=station_id, station_key=station_key, sealing_key=sealing_key,
                         for_upload=for_upload)


def _kept_packet(store: RecordStore, row: sqlite3.Row) -> StoredPacket | None:
    """The packet a row names, from its file (or, sealed before files, its blob); None when the
    file is missing or not the bytes the row describes (a power cut): it is sealed again."""
    data = row["packet"]
    if data is None:
        path = packet_file(store, row["record_id"], row["submission"], row["sha256"])
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            data = b""
        if len(data) != row["length"] or hashlib.sha256(data).hexdigest() != row["sha256"]:
            log.warning("sync: a stored packet was lost or damaged; sealing it again",
                        extra={"record_id": row["record_id"]})
            return None
    return StoredPacket(row["record_id"], row["submission"], bytes(data), row["sha256"], row["length"], row["status"])


def drop_packet_files(store: RecordStore, tickets: Iterable[tuple[str, int, str | None]]) -> None:
    """Remove the files of packets no row needs any more ((record id, submission, SHA-256) each),
    after the transaction that said so committed. A file left by a kill in between is removed
    by :func:`sweep_packet_files`."""
    for record_id, submission, sha in tickets:
        if sha is not None:
            packet_file(store, record_id, submission, sha).unlink(missing_ok=True)


def sweep_packet_files(store: RecordStore) -> int:
    """Remove packet files no row names as a packet still to send (confirmed, re-sealed, or
    written by a sealer killed before its row committed). Returns how many."""
    folder = store.data_dir / OUTBOX_DIR
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return 0
    ensure_schema(store)
    wanted = {f"{r}.{n}.{h}.pkt" for r, n, h in store.conn.execute(
        "SELECT record_id, submission, sha256 FROM sync_packets WHERE sha256 IS NOT NULL AND packet IS NULL"
        " AND status IN ('pending', 'refused')")}
    gone = 0
    for name in names:
        if name.endswith(".pkt") and name not in wanted:
            (folder / name).unlink(missing_ok=True)
            gone += 1
    return gone


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


def _store_packet(store: RecordStore, record_id: str, submission: int, sha: str, length: int,
                  unusable: str | None, for_upload: bool) -> bool:
    """Commit the row naming a sealed packet's file; False when another worker's packet is
    there already (theirs stays: it may be on its way). A row whose packet was found lost or
    damaged (SHA-256 ``unusable``) is replaced. ``for_upload``: an upload of it begins now
    (``upload_begun_at`` set), else NULL until a pass claims it."""
    fresh = True
    now = now_iso()
    begun = now if for_upload else None
    with store.transaction() as conn:
        current = conn.execute("SELECT sha256, packet FROM sync_packets WHERE record_id=?", (record_id,)).fetchone()
        if current is None:
            conn.execute("INSERT INTO sync_packets(record_id, submission, packet, sha256, length, attempts,"
                         " created_at, upload_begun_at) VALUES (?,?,NULL,?,?,1,?,?)",
                         (record_id, submission, sha, length, now, begun))
        elif current[0] is None:
            conn.execute("UPDATE sync_packets SET packet=NULL, sha256=?, length=?, offset=0, status='pending',"
                         " error=NULL, attempts=1, upload_begun_at=? WHERE record_id=?", (sha, length, begun, record_id))
        elif current[1] is None and current[0] == unusable:  # its file was lost or damaged (a power cut)
            # an upload of the lost packet may have begun: the central takes this one as the same
            # upload (restarted if incomplete), so asking first (HEAD) stays the safe way
            conn.execute("UPDATE sync_packets SET sha256=?, length=?, offset=0, status='pending', error=NULL,"
                         " upload_begun_at=? WHERE record_id=?", (sha, length, now, record_id))
        else:  # another worker built it meanwhile: keep theirs (it may be on its way already)
            fresh = False
    return fresh


def claim_never_sent(store: RecordStore, record_ids: Iterable[str]) -> set[str]:
    """Which of ``record_ids`` have a stored packet no upload has begun with (sealed at queue
    time); they are marked begun in one transaction, so each is claimed once. The commit is not
    fsynced (:func:`without_fsync`): if a power cut undoes it after bytes went out, the next
    upload starts with the creation again, which the central answers with what it holds
    (:func:`kiosk.central.tus.create_with_upload` stores nothing twice)."""
    wanted = set(record_ids)
    if not wanted:
        return set()
    ensure_schema(store)
    with without_fsync(store.conn), store.transaction() as conn:
        never = {r[0] for r in conn.execute("SELECT record_id FROM sync_packets WHERE upload_begun_at IS NULL"
                                            " AND status='pending' AND sha256 IS NOT NULL")} & wanted
        now = now_iso()
        conn.executemany("UPDATE sync_packets SET upload_begun_at=? WHERE record_id=?", [(now, r) for r in never])
    return never


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
        stored, _ = stored_packet(store, record_id, station_id=cfg.station.id, station_key=station_key,
                                  sealing_key=sealing_key)
        if stored is None:
            raise InputError("sync.not_queued", record_id=record_id)
        return stored.packet

    return seal_packet


def retry_refused(store: RecordStore, record_id: str, *, actor: str) -> None:
    """Send a record the central refused once more, sealed anew (e.g. after the central was
    re-keyed or the station registered); the refusal stays in the audit trail."""
    ensure_schema(store)
    with store.transaction() as conn:
        row = conn.execute("SELECT status, error, submission, sha256 FROM sync_packets WHERE record_id=?",
                           (record_id,)).fetchone()
        if row is None or row[0] != "refused":
            raise InputError("sync.not_refused", record_id=record_id)
        conn.execute("UPDATE sync_packets SET packet=NULL, sha256=NULL, length=0, offset=0, status='pending',"
                     " error=NULL, attempts=0 WHERE record_id=?", (record_id,))
        store.write_audit(conn, actor, "sync_retry", record_id=record_id, params={"refused": row[1] or ""})
    drop_packet_files(store, [(record_id, row[2], row[3])])
