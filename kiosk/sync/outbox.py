"""The outbox: queued records sealed once into packets and uploaded, resumably, to the central.

Durability (the station may be killed at any instant):
- A record's sealed packet is built once and stored (``sync_packets``), so every retry sends
  identical bytes; the central keys uploads by (record id, submission), so a retry or replay
  never creates a second copy.
- A record becomes ``submitted`` only after the central answered that the whole packet
  arrived (the final chunk, a HEAD saying complete, or "already complete"), in the same
  transaction that marks the packet confirmed.

On a slow link cut every few seconds (issue 13 §3): the central keeps the bytes of a cut
chunk (tus PATCH; :mod:`kiosk.central.auth` says how that is authenticated), the next try
asks where the upload stands (HEAD) and resumes from that byte, and chunk sizes follow the
measured throughput (:class:`ChunkSizer`) so one chunk takes ``chunk_target_s`` seconds,
short enough to see progress, long enough that a round trip per chunk costs little.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from typing import Any, Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from kiosk.central.packet import build_content, seal
from kiosk.errors import ConfigError, InputError
from kiosk.ops.export import upload_order
from kiosk.store import IllegalTransition, RecordState, RecordStore
from kiosk.store.queue import now_iso
from kiosk.sync.client import CentralRefused, CentralUnavailable
from kiosk.sync.schema import ensure_schema
from kiosk.sync.session import ACTOR, SyncSession, log

S = RecordState


class ChunkSizer:
    """Chunk size from the measured throughput: EWMA of bytes/s over whole chunk round trips
    (send time plus the wait for the answer), times the target seconds, within [min, max].

    Until a chunk has been measured the size is ``min(first, PROBE)``: a 256 KB first chunk
    takes 64 s at 32 kbit/s, longer than the request timeout, so it could never complete. A
    chunk that timed out halves the ceiling (a cut connection does not: its bytes were kept)."""

    PROBE = 32 * 1024

    def __init__(self, first: int, target_s: float, lo: int, hi: int) -> None:
        self.first, self.target_s, self.lo, self.hi = first, target_s, lo, hi
        self.rate: float | None = None  # bytes/s
        self.ceiling = hi
        self._lock = threading.Lock()

    def observe(self, nbytes: int, seconds: float) -> None:
        if nbytes <= 0 or seconds <= 0:
            return
        sample = nbytes / seconds
        with self._lock:
            self.rate = sample if self.rate is None else 0.7 * self.rate + 0.3 * sample
            self.ceiling = min(self.hi, self.ceiling * 2)

    def timed_out(self, size: int) -> None:
        with self._lock:
            self.ceiling = max(self.lo, size // 2)

    def size(self) -> int:
        with self._lock:
            if self.target_s <= 0:
                return self.first
            base = min(self.first, self.PROBE) if self.rate is None else self.rate * self.target_s
            return int(min(self.hi, self.ceiling, max(self.lo, base)))


class Outbox:
    def __init__(self, session: SyncSession) -> None:
        self.s = session
        st = session.settings
        self.sizer = ChunkSizer(st.chunk_size, st.chunk_target_s, min(st.min_chunk, st.chunk_size), st.max_chunk)
        #: the central's offset last seen per record: a try that moved it made progress
        self._seen_offset: dict[str, int] = {}
        #: asked before a record's packet is first sealed: False holds the record at the station
        #: (kiosk.dedup.local_hold.PreUploadCheck: the same fingers as another record here)
        self.pre_upload: Callable[[str], bool] | None = None

    # -- packets ------------------------------------------------------------------------------
    def packet_row(self, record_id: str) -> sqlite3.Row | None:
        return self.s.store.conn.execute("SELECT * FROM sync_packets WHERE record_id=?", (record_id,)).fetchone()

    def ensure_packet(self, record_id: str) -> tuple[sqlite3.Row | None, bool]:
        """(packet row, built by this call). A packet built earlier may be partly uploaded."""
        return stored_packet(self.s.store, record_id, station_id=self.s.station_id, station_key=self.s.station_key,
                             sealing_key=self.s.sealing_key)

    def confirm(self, record_id: str, submission: int) -> None:
        """The central holds the whole packet: queued -> submitted, packet confirmed, one transaction."""
        def mark(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE sync_packets SET status='confirmed', confirmed_at=?, offset=length, packet=NULL"
                         " WHERE record_id=? AND submission=?", (now_iso(), record_id, submission))
        try:
            self.s.store.transition(record_id, S.SUBMITTED, actor=ACTOR, expect=S.QUEUED,
                                    params={"submission": submission}, extra=mark)
        except IllegalTransition:
            with self.s.store.transaction() as conn:
                mark(conn)

    def _refuse(self, record_id: str, exc: CentralRefused) -> None:
        with self.s.store.transaction() as conn:
            conn.execute("UPDATE sync_packets SET status='refused', error=? WHERE record_id=?",
                         (json.dumps({"code": exc.code, "params": exc.params}), record_id))
            self.s.store.write_audit(conn, ACTOR, "sync_refused", record_id=record_id, reason=exc.code,
                                     params={k: str(v) for k, v in exc.params.items()})
        log.warning("sync: record refused by the central", extra={"code": exc.code, "record_id": record_id})

    def pending(self) -> list[str]:
        """Queued records to send, oldest first, but those not on a USB stick before those
        that are (kiosk.ops.export.upload_order: an exported record may reach the central by
        hand, so the link is spent on the ones that cannot)."""
        rows = self.s.store.conn.execute(
            "SELECT r.id FROM records r LEFT JOIN sync_packets p ON p.record_id = r.id"
            " WHERE r.state = 'queued' AND (p.status IS NULL OR p.status = 'pending') ORDER BY r.updated_at, r.id"
        ).fetchall()
        return upload_order(self.s.store, [r[0] for r in rows])

    # -- upload -------------------------------------------------------------------------------
    def _upload_once(self, record_id: str) -> str:
        s = self.s
        if self.pre_upload is not None and self.packet_row(record_id) is None and not self.pre_upload(record_id):
            return "held"
        row, fresh = self.ensure_packet(record_id)
        if row is None or s.store.get(record_id).state is not S.QUEUED:
            return "skipped"
        if row["status"] == "refused":
            return "refused"
        if row["status"] == "confirmed":
            return "skipped"
        blob: bytes = row["packet"]
        submission, length = row["submission"], row["length"]
        url = f"/v1/uploads/{record_id}/{submission}"
        answer = None
        if not fresh:  # built before this try, so maybe partly sent: ask how much arrived
            answer = s.call(s.client.upload_offset, url)
        if answer is None:
            answer = s.call(s.client.create_upload, record_id, submission, length, row["sha256"])
        offset = answer.offset
        self._seen_offset[record_id] = max(offset, self._seen_offset.get(record_id, 0))
        while not answer.complete:
            if s.stop_event.is_set():
                return "deferred"
            chunk = blob[offset:offset + self.sizer.size()]
            started = time.monotonic()
            try:
                answer = s.call(s.client.send_chunk, answer.url, offset, chunk)
            except CentralUnavailable as exc:
                if exc.code == "sync.timeout":
                    self.sizer.timed_out(len(chunk))
                raise
            except CentralRefused as exc:
                if exc.code == "upload.offset_mismatch" and "offset" in exc.params:
                    offset = int(exc.params["offset"])
                    continue
                if exc.code in ("upload.unknown", "upload.checksum"):
                    answer = s.call(s.client.create_upload, record_id, submission, length, row["sha256"])
                    offset = answer.offset
                    continue
                raise
            self.sizer.observe(answer.offset - offset, time.monotonic() - started)
            with s.lock:
                s.bytes_sent += answer.offset - offset
            offset = answer.offset
            self._seen_offset[record_id] = offset
        self.confirm(record_id, submission)
        self._seen_offset.pop(record_id, None)
        return "confirmed"

    def upload(self, record_id: str, *, max_attempts: int | None = None) -> str:
        """Send one record's packet, resuming and retrying with backoff.

        Returns confirmed | refused | deferred (try again in a later pass) | skipped | held
        (stopped by :attr:`pre_upload` for a supervisor). A failed
        try after which the central holds more of the packet than before does not count
        against ``max_attempts``."""
        s = self.s
        attempt = 0
        while not s.stop_event.is_set() and not s.abort_pass.is_set():
            before = self._seen_offset.get(record_id, -1)
            try:
                return self._upload_once(record_id)
            except CentralUnavailable:
                if self._moved(record_id, before):
                    # the link carries bytes and the central kept them: go on at once (a link
                    # cut every few seconds leaves no time to wait); only tries that moved
                    # nothing back off and count
                    attempt = 0
                    continue
                attempt += 1
                if max_attempts is not None and attempt >= max_attempts:
                    return "deferred"
                s.stop_event.wait(s.backoff(attempt))
            except CentralRefused as exc:
                if exc.code.startswith("auth."):
                    # station not registered / clock wrong: nothing a retry of this record fixes
                    s.monitor.last_error = exc.code
                    s.abort_pass.set()
                    return "deferred"
                self._refuse(record_id, exc)
                return "refused"
        return "deferred"

    def _moved(self, record_id: str, before: int) -> bool:
        """Did the upload move forward in the failed try (some chunk got through, or part of a
        cut one was kept)? Only the central's own offset counts, learned on the next HEAD."""
        now = self._seen_offset.get(record_id, -1)
        return before >= 0 and now > before


# -- sealed packets ------------------------------------------------------------------------------
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
    conn = store.conn
    conn.execute("PRAGMA synchronous=NORMAL")
    try:
        fresh = _store_packet(store, record_id, submission, blob, sha)
    finally:
        conn.execute("PRAGMA synchronous=FULL")
    return store.conn.execute("SELECT * FROM sync_packets WHERE record_id=?", (record_id,)).fetchone(), fresh


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
