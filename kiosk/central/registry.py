"""The central registry's logic, without HTTP: stations, uploads, packets, decisions, permits.

One SQLite database (``<data>/central.db``) guarded by one lock, so every operation is one
transaction and concurrent requests never interleave half-way. ``ingest_packet`` is the
entry point for a whole sealed packet (used by the upload path and by offline import).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kiosk.central.answers import sign_answer
from kiosk.central import held_deletions, upload_ranges
from kiosk.central.abis import dedup
from kiosk.central.abis.service import Abis, LocalAbis
from kiosk.central.carddata import card_data
from kiosk.central.keys import CentralKeys, ed25519_public_from_pem, public_pem
from kiosk.central.packet import OpenedPacket, PacketError, digest_packet, open_packet
from kiosk.central.permit import PrintPermit, card_data_hash
from kiosk.errors import KioskError
from kiosk.identity import Identity
from kiosk.store.schema import migrate

MAX_PACKET = 64 * 1024 * 1024

CENTRAL_MIGRATIONS: list[Any] = [
    """
    CREATE TABLE stations (
        station_id TEXT PRIMARY KEY,
        public_key TEXT NOT NULL,
        region TEXT NOT NULL DEFAULT '',
        registered_at TEXT NOT NULL
    );
    CREATE TABLE uploads (
        record_id TEXT NOT NULL,
        submission INTEGER NOT NULL,
        station_id TEXT NOT NULL,
        length INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        offset INTEGER NOT NULL DEFAULT 0,
        complete INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        completed_at TEXT,
        PRIMARY KEY (record_id, submission)
    );
    CREATE TABLE upload_chunks (
        record_id TEXT NOT NULL,
        submission INTEGER NOT NULL,
        offset INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (record_id, submission, offset)
    );
    CREATE TABLE records (
        record_id TEXT PRIMARY KEY,
        station_id TEXT NOT NULL,
        submission INTEGER NOT NULL,
        nik TEXT NOT NULL,
        region TEXT NOT NULL,
        identity TEXT NOT NULL,
        photo_sha256 TEXT NOT NULL,
        signature_sha256 TEXT,
        packet BLOB NOT NULL,
        status TEXT NOT NULL,
        received_at TEXT NOT NULL,
        decide_after REAL NOT NULL
    );
    CREATE INDEX records_status ON records(status, decide_after);
    CREATE TABLE persons (
        nik TEXT PRIMARY KEY,
        record_id TEXT NOT NULL,
        station_id TEXT NOT NULL,
        region TEXT NOT NULL
    );
    CREATE TABLE decisions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        station_id TEXT NOT NULL,
        record_id TEXT NOT NULL,
        submission INTEGER NOT NULL,
        decision TEXT NOT NULL,
        body TEXT NOT NULL,
        decided_at TEXT NOT NULL
    );
    CREATE INDEX decisions_station ON decisions(station_id, seq);
    CREATE TABLE permits (
        permit_id TEXT PRIMARY KEY,
        record_id TEXT NOT NULL,
        station_id TEXT NOT NULL,
        body TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT 'approval',
        issued_at TEXT NOT NULL
    );
    CREATE TABLE deletions (
        request_id TEXT PRIMARY KEY,
        station_id TEXT NOT NULL,
        record_id TEXT NOT NULL,
        submission INTEGER NOT NULL,
        target_record TEXT NOT NULL,
        reason TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        answer_after REAL NOT NULL,
        answered_at TEXT,
        UNIQUE (record_id, submission)
    );
    CREATE TABLE refusals (
        id INTEGER PRIMARY KEY,
        station_id TEXT NOT NULL,
        record_id TEXT NOT NULL,
        code TEXT NOT NULL,
        at TEXT NOT NULL
    )
    """,
    # issue 13: a reprint request carries the station's request id and a retry gets the first
    # answer (never a second permit); each station's audit checkpoints are kept here, so cutting
    # the newest entries at the station shows against the central's copy
    """
    CREATE TABLE reprint_requests (
        request_id TEXT PRIMARY KEY,
        station_id TEXT NOT NULL,
        record_id TEXT NOT NULL,
        permit_id TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    ALTER TABLE deletions ADD COLUMN station_request_id TEXT;
    CREATE TABLE audit_checkpoints (
        station_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL,
        entries INTEGER NOT NULL,
        prev INTEGER NOT NULL,
        signed_at TEXT NOT NULL,
        signature TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (station_id, seq)
    )
    """,
    dedup.ADJUDICATION_SCHEMA,
]


class CentralError(KioskError):
    """A request the central refuses; ``status`` is the HTTP status it answers with."""

    code = "central.error"
    status = 400

    def __init__(self, code: str | None = None, /, *, status: int | None = None, **params: Any) -> None:
        super().__init__(code, **params)
        if status is not None:
            self.status = status


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class UploadState:
    record_id: str
    submission: int
    length: int
    offset: int
    complete: bool
    #: ranges [start, end) held after a hole beyond ``offset`` (kiosk.central.upload_ranges)
    ranges: tuple[tuple[int, int], ...] = ()

    @property
    def url(self) -> str:
        return f"/v1/uploads/{self.record_id}/{self.submission}"


class CentralRegistry:
    def __init__(self, data_dir: Path, *, decision_delay_s: float = 2.0, keys: CentralKeys | None = None,
                 abis: Abis | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.keys = keys or CentralKeys.init(self.data_dir)
        self.decision_delay_s = decision_delay_s
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(self.data_dir / "central.db", isolation_level=None, timeout=30.0,
                                    check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA busy_timeout=30000")
        migrate(self.conn, "central", CENTRAL_MIGRATIONS)
        self._station_cache: dict[str, Ed25519PublicKey] = {}
        #: group commit (_group_sync): commits so far, and how many of them are known on disk
        self._commits = 0
        self._synced = 0
        self._sync_lock = threading.Lock()
        #: biometric deduplication (OSIA-shaped ABIS boundary; the local reference one by default)
        self.abis: Abis = abis if abis is not None else LocalAbis(self.data_dir / "abis")

    def close(self) -> None:
        with self.lock:
            self.conn.close()
            close_abis = getattr(self.abis, "close", None)
            if close_abis is not None:
                close_abis()

    def _tx(self, *, durable: bool = True) -> "_Tx":
        return _Tx(self, durable)

    # -- stations -----------------------------------------------------------------------------
    def register_station(self, station_id: str, public_key: Ed25519PublicKey, region: str = "") -> None:
        pem = public_pem(public_key).decode()
        with self._tx() as c:
            c.execute("INSERT INTO stations(station_id, public_key, region, registered_at) VALUES (?,?,?,?)"
                      " ON CONFLICT(station_id) DO UPDATE SET public_key=excluded.public_key, region=excluded.region",
                      (station_id, pem, region, now_iso()))
        self._station_cache.pop(station_id, None)

    def station_key(self, station_id: str) -> Ed25519PublicKey | None:
        key = self._station_cache.get(station_id)
        if key is None:
            with self.lock:
                row = self.conn.execute("SELECT public_key FROM stations WHERE station_id=?", (station_id,)).fetchone()
            if row is None:
                return None
            key = self._station_cache[station_id] = ed25519_public_from_pem(row[0].encode())
        return key

    def station_region(self, station_id: str) -> str:
        with self.lock:
            row = self.conn.execute("SELECT region FROM stations WHERE station_id=?", (station_id,)).fetchone()
        return row[0] if row else ""

    # -- uploads ------------------------------------------------------------------------------
    def _upload(self, c: sqlite3.Connection, record_id: str, submission: int) -> sqlite3.Row | None:
        return c.execute("SELECT * FROM uploads WHERE record_id=? AND submission=?", (record_id, submission)).fetchone()

    @staticmethod
    def _state(row: sqlite3.Row) -> UploadState:
        return UploadState(row["record_id"], row["submission"], row["length"], row["offset"], bool(row["complete"]))

    def create_upload(self, station_id: str, record_id: str, submission: int, length: int,
                      sha256: str) -> tuple[UploadState, bool]:
        """Create (or find again) the upload of one record submission. Returns (state, created).

        Raises upload.already_complete (409) when that submission has arrived whole: the
        caller may take it as confirmation, nothing is stored twice."""
        try:
            uuid.UUID(record_id)
        except ValueError:
            raise CentralError("upload.bad_record_id", status=400, record=record_id) from None
        if not (0 < length <= MAX_PACKET) or submission < 1 or len(sha256) != 64:
            raise CentralError("upload.bad_request", status=400, record=record_id)
        # a lost upload creation costs the station one more POST: no fsync needed for it
        with self._tx(durable=False) as c:
            row = self._upload(c, record_id, submission)
            if row is not None:
                if row["station_id"] != station_id:
                    raise CentralError("upload.forbidden", status=403, record=record_id)
                if row["complete"]:
                    # the same submission again, even re-sealed (other bytes, same record): it is
                    # here already, and nothing is stored twice
                    raise CentralError("upload.already_complete", status=409, record=record_id,
                                       submission=submission, offset=row["length"])
                if row["length"] == length and row["sha256"] == sha256:
                    return self._state(row), False
                # the station re-sealed the packet (it lost the first one): start over with these bytes
                c.execute("DELETE FROM upload_chunks WHERE record_id=? AND submission=?", (record_id, submission))
                c.execute("UPDATE uploads SET length=?, sha256=?, offset=0 WHERE record_id=? AND submission=?",
                          (length, sha256, record_id, submission))
                return UploadState(record_id, submission, length, 0, False), True
            other = c.execute("SELECT station_id, MAX(submission) AS sub FROM uploads WHERE record_id=?",
                              (record_id,)).fetchone()
            if other["station_id"] is not None and other["station_id"] != station_id:
                raise CentralError("upload.conflict", status=409, record=record_id)
            if other["sub"] is not None and submission < other["sub"]:
                raise CentralError("upload.stale_submission", status=409, record=record_id, latest=other["sub"])
            if submission > 1:
                last = c.execute("SELECT decision FROM decisions WHERE record_id=? AND submission=?",
                                 (record_id, submission - 1)).fetchone()
                if last is None or last[0] != "duplicate":
                    raise CentralError("upload.already_decided", status=409, record=record_id)
            c.execute("INSERT INTO uploads(record_id, submission, station_id, length, sha256, created_at)"
                      " VALUES (?,?,?,?,?,?)", (record_id, submission, station_id, length, sha256, now_iso()))
            return UploadState(record_id, submission, length, 0, False), True

    def upload_state(self, station_id: str, record_id: str, submission: int) -> UploadState:
        with self.lock:
            row = self._upload(self.conn, record_id, submission)
            ranges = () if row is None else tuple(upload_ranges.held(self.conn, record_id, submission, row["offset"]))
        if row is None:
            raise CentralError("upload.unknown", status=404, record=record_id)
        if row["station_id"] != station_id:
            raise CentralError("upload.forbidden", status=403, record=record_id)
        return UploadState(row["record_id"], row["submission"], row["length"], row["offset"], bool(row["complete"]),
                           () if row["complete"] else ranges)

    def append_chunk(self, station_id: str, record_id: str, submission: int, offset: int, data: bytes) -> UploadState:
        """Store one chunk at ``offset``; the chunk that completes the upload ingests the packet.

        Intermediate chunks are committed without waiting for fsync (WAL, synchronous=NORMAL):
        losing them in a power cut only moves the offset back, and the station asks (HEAD)
        before resuming. The completing chunk is durable before "complete" is answered: its
        commit is fsynced by :meth:`_group_sync` after the lock is released, so uploads that
        complete together share one fsync (group commit) and other requests need not wait
        for the disk.

        The completing chunk is handled in three steps so the registry lock is never held for
        CPU work: the packet is assembled (under the lock, reading only), verified and opened
        (signature, AEAD, sample hashes: without the lock, so concurrent uploads verify side
        by side), then stored with the upload marked complete in one transaction, which first
        checks that the upload did not change meanwhile."""
        taken = self._take_chunk(self._tx(durable=False), station_id, record_id, submission, offset, data)
        if isinstance(taken, UploadState):
            return taken
        checked = self._check_packet(taken)  # without the lock
        tx = self._tx(durable=False)
        state = self._complete(tx, taken, checked)
        if state.complete:
            self._group_sync(tx.generation)
        return state

    def _group_sync(self, generation: int) -> None:
        """Make every commit up to ``generation`` durable: one fsync of the WAL (it holds the
        commits in order) unless another thread's fsync since that commit already did."""
        with self._sync_lock:
            if self._synced >= generation:
                return
            with self.lock:
                upto = self._commits
            fd = os.open(self.data_dir / "central.db-wal", os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            self._synced = upto

    def _take_chunk(self, tx: "_Tx", station_id: str, record_id: str, submission: int, offset: int,
                    data: bytes) -> "UploadState | _Completion":
        """Store a chunk that does not complete its upload (its state), or assemble the whole
        packet a completing chunk makes (nothing written: :meth:`_complete` writes it)."""
        with tx as c:
            row = self._upload(c, record_id, submission)
            if row is None:
                raise CentralError("upload.unknown", status=404, record=record_id)
            if row["station_id"] != station_id:
                raise CentralError("upload.forbidden", status=403, record=record_id)
            if row["complete"]:
                raise CentralError("upload.already_complete", status=409, record=record_id,
                                   submission=submission, offset=row["length"])
            if offset < row["offset"]:
                if offset + len(data) <= row["offset"]:
                    raise CentralError("upload.offset_mismatch", status=409, record=record_id, offset=row["offset"])
                data, offset = data[row["offset"] - offset:], row["offset"]  # only the part it lacks
            if not data:
                raise CentralError("upload.empty_chunk", status=400, record=record_id)
            if offset + len(data) > row["length"]:
                raise CentralError("upload.too_long", status=400, record=record_id, length=row["length"])
            if offset > row["offset"]:  # after a hole (a cut chunk's unsent rest): kept as a range
                upload_ranges.keep(c, record_id, submission, offset, data)
                return UploadState(record_id, submission, row["length"], row["offset"], False,
                                   tuple(upload_ranges.held(c, record_id, submission, row["offset"])))
            new_offset = upload_ranges.contiguous_end(c, record_id, submission, offset + len(data))
            if new_offset < row["length"]:
                upload_ranges.keep(c, record_id, submission, offset, data)
                c.execute("UPDATE uploads SET offset=? WHERE record_id=? AND submission=?",
                          (new_offset, record_id, submission))
                return UploadState(record_id, submission, row["length"], new_offset, False,
                                   tuple(upload_ranges.held(c, record_id, submission, new_offset)))
            if offset == 0 and len(data) == row["length"]:
                blob = data  # the whole packet in one request: it never needs a row of its own
            else:  # the stored bytes with this chunk laid over them, in memory (stored at completion)
                blob = upload_ranges.assemble_with(c, record_id, submission, offset, data)
            return _Completion(station_id, record_id, submission, row["length"], row["sha256"], row["offset"], blob)

    def _check_packet(self, taken: "_Completion") -> "OpenedPacket | CentralError | PacketError":
        """The packet opened, or why it is refused (CPU work, done without the lock)."""
        digest = digest_packet(taken.blob)
        if digest.sha256 != taken.sha256:
            return CentralError("upload.checksum", status=422, record=taken.record_id)
        try:
            return open_packet(taken.blob, station_key=self.station_key, central_key=self.keys.sealing, digest=digest)
        except PacketError as exc:
            return exc

    def _complete(self, tx: "_Tx", taken: "_Completion", checked: "OpenedPacket | CentralError | PacketError"
                  ) -> UploadState:
        record_id, submission, station_id = taken.record_id, taken.submission, taken.station_id
        with tx as c:
            row = self._upload(c, record_id, submission)
            if row is None or row["station_id"] != station_id:
                raise CentralError("upload.unknown", status=404, record=record_id)
            if row["complete"]:  # a retry of the same chunk completed it meanwhile: the same packet
                return UploadState(record_id, submission, row["length"], row["length"], True)
            if (row["sha256"], row["length"], row["offset"]) != (taken.sha256, taken.length, taken.offset):
                # re-created (re-sealed) or moved on meanwhile: this chunk is stale, ask again
                raise CentralError("upload.offset_mismatch", status=409, record=record_id, offset=row["offset"])
            c.execute("DELETE FROM upload_chunks WHERE record_id=? AND submission=?", (record_id, submission))
            if isinstance(checked, CentralError):
                # corrupted in transit: start this upload again from zero
                c.execute("UPDATE uploads SET offset=0 WHERE record_id=? AND submission=?", (record_id, submission))
                raise checked
            try:
                if isinstance(checked, PacketError):
                    raise checked
                self._ingest(c, taken.blob, station_id=station_id, record_id=record_id, submission=submission,
                             opened=checked)
            except PacketError as exc:
                # refused for good: forget the bytes, log why (the station sees the code)
                c.execute("DELETE FROM uploads WHERE record_id=? AND submission=?", (record_id, submission))
                c.execute("INSERT INTO refusals(station_id, record_id, code, at) VALUES (?,?,?,?)",
                          (station_id, record_id, exc.code, now_iso()))
                raise CentralError(exc.code, status=422, **exc.params) from None
            c.execute("UPDATE uploads SET offset=length, complete=1, completed_at=? WHERE record_id=? AND submission=?",
                      (now_iso(), record_id, submission))
            return UploadState(record_id, submission, row["length"], row["length"], True)

    # -- packets ------------------------------------------------------------------------------
    def open(self, blob: bytes) -> OpenedPacket:
        return open_packet(blob, station_key=self.station_key, central_key=self.keys.sealing)

    def ingest_packet(self, blob: bytes, *,
                      station_key: Callable[[str], Ed25519PublicKey | None] | None = None) -> str:
        """Take a whole sealed packet (offline import): verify, decrypt, queue for decision.

        Idempotent: the same record submission arriving again (by upload or by an earlier
        import, even re-sealed) changes nothing, and neither does an older submission than
        one already here (a stick imported late). ``station_key`` overrides the registered
        keys for the signature check (an operator's explicit ``--station-key``). Returns the
        record id; raises :class:`PacketError` when the packet is refused."""
        opened = open_packet(blob, station_key=station_key or self.station_key, central_key=self.keys.sealing)
        h = opened.header
        with self._tx() as c:
            other = c.execute("SELECT station_id, MAX(submission) AS sub FROM uploads WHERE record_id=?",
                              (h.record_id,)).fetchone()
            if other["station_id"] is not None and other["station_id"] != h.station_id:
                raise PacketError("packet.conflict", record=h.record_id)
            row = self._upload(c, h.record_id, h.submission)
            if row is not None and row["complete"]:
                return h.record_id
            if other["sub"] is not None and h.submission < other["sub"]:
                return h.record_id  # superseded by a later submission already here
            if h.submission > 1:  # as for uploads: a new submission only follows a duplicate
                last = c.execute("SELECT decision FROM decisions WHERE record_id=? AND submission=?",
                                 (h.record_id, h.submission - 1)).fetchone()
                if last is None or last[0] != "duplicate":
                    raise PacketError("upload.already_decided", record=h.record_id)
            self._ingest(c, blob, station_id=h.station_id, record_id=h.record_id, submission=h.submission,
                         opened=opened)
            # a network upload of the same submission may have been part-way: its chunks are moot
            c.execute("DELETE FROM upload_chunks WHERE record_id=? AND submission=?", (h.record_id, h.submission))
            c.execute("INSERT INTO uploads(record_id, submission, station_id, length, sha256, offset, complete,"
                      " created_at, completed_at) VALUES (?,?,?,?,?,?,1,?,?) ON CONFLICT(record_id, submission)"
                      " DO UPDATE SET length=excluded.length, sha256=excluded.sha256, offset=excluded.length,"
                      " complete=1, completed_at=excluded.completed_at",
                      (h.record_id, h.submission, h.station_id, len(blob), hashlib.sha256(blob).hexdigest(),
                       len(blob), now_iso(), now_iso()))
        return h.record_id

    def _ingest(self, c: sqlite3.Connection, blob: bytes, *, station_id: str, record_id: str, submission: int,
                opened: OpenedPacket | None = None) -> None:
        opened = opened or self.open(blob)
        h = opened.header
        if (h.station_id, h.record_id, h.submission) != (station_id, record_id, submission):
            raise PacketError("packet.mismatch", record=record_id)
        content = opened.content
        samples = {(s["kind"], s["position"]): s for s in content.get("samples", [])}
        face, sig = samples.get(("face", 0)), samples.get(("signature", 0))
        ident = content["identity"]
        c.execute(
            "INSERT INTO records(record_id, station_id, submission, nik, region, identity, photo_sha256,"
            " signature_sha256, packet, status, received_at, decide_after) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT(record_id) DO UPDATE SET submission=excluded.submission, packet=excluded.packet,"
            " identity=excluded.identity, nik=excluded.nik, photo_sha256=excluded.photo_sha256,"
            " signature_sha256=excluded.signature_sha256, status='pending', received_at=excluded.received_at,"
            " decide_after=excluded.decide_after",
            (record_id, station_id, submission, ident["nik"], self.station_region(station_id),
             json.dumps(ident), face["sha256"] if face else "",  # checked against the bytes by open_packet
             sig["sha256"] if sig else None, blob, "pending", now_iso(),
             time.time() + self.decision_delay_s))

    # -- decisions ----------------------------------------------------------------------------
    def _permit(self, c: sqlite3.Connection, rec: sqlite3.Row, reason: str) -> PrintPermit:
        now = dt.datetime.now(dt.timezone.utc)
        identity = Identity.from_dict(json.loads(rec["identity"]))
        card = card_data(identity, rec["record_id"], photo_sha256=rec["photo_sha256"],
                         signature_sha256=rec["signature_sha256"], issue_place=identity.regency,
                         issued_at=now.isoformat())  # PrintPermit.issue writes issued_at = now.isoformat()
        permit = PrintPermit.issue(self.keys.signing, permit_id=str(uuid.uuid4()), record_id=rec["record_id"],
                                   station_id=rec["station_id"], card_hash=card_data_hash(card), now=now)
        assert permit.issued_at == now.isoformat()  # the card's issue date above is this permit's
        c.execute("INSERT INTO permits(permit_id, record_id, station_id, body, reason, issued_at) VALUES (?,?,?,?,?,?)",
                  (permit.permit_id, permit.record_id, permit.station_id, json.dumps(permit.to_dict()), reason,
                   permit.issued_at))
        return permit

    def _decide(self, c: sqlite3.Connection, rec: sqlite3.Row) -> None:
        body: dict[str, Any] = {"permit": None, "reason": None, "duplicate_of": None}
        identity = Identity.from_dict(json.loads(rec["identity"]))
        problems = identity.problems()
        holder = c.execute("SELECT * FROM persons WHERE nik=?", (rec["nik"],)).fetchone()
        if problems:
            field, code, params = problems[0]
            decision = "rejected"
            body["reason"] = {"code": "central.reject.identity", "params": {"field": field, "problem": code}}
        elif not rec["photo_sha256"]:
            decision = "rejected"
            body["reason"] = {"code": "central.reject.no_face", "params": {}}
        elif holder is not None and holder["record_id"] != rec["record_id"]:
            decision = "duplicate"
            body["duplicate_of"] = {"station_id": holder["station_id"], "region": holder["region"],
                                    "record_id": holder["record_id"]}
        elif (bio := self._biometric(c, rec)).outcome in (dedup.Outcome.PENDING, dedup.Outcome.ADJUDICATION):
            # the ABIS has not answered yet, or an officer must adjudicate: no final decision yet,
            # but the station is told at once that the resident is recorded elsewhere
            if bio.outcome is dedup.Outcome.ADJUDICATION and bio.candidate_record:
                held_deletions.tell_same_fingers(c, rec, bio, now=now_iso())
            return
        elif bio.outcome is dedup.Outcome.REJECT_SAME_PERSON:
            decision = "rejected"
            body["reason"] = {"code": "central.reject.same_person", "params": {}}
        else:
            decision = "approved"
            c.execute("INSERT OR REPLACE INTO persons(nik, record_id, station_id, region) VALUES (?,?,?,?)",
                      (rec["nik"], rec["record_id"], rec["station_id"], rec["region"]))
            body["permit"] = self._permit(c, rec, "approval").to_dict()
            dedup.enrol(self.abis, rec, self._fingers(rec))
        c.execute("UPDATE records SET status='decided' WHERE record_id=?", (rec["record_id"],))
        c.execute("INSERT INTO decisions(station_id, record_id, submission, decision, body, decided_at)"
                  " VALUES (?,?,?,?,?,?)", (rec["station_id"], rec["record_id"], rec["submission"], decision,
                                            json.dumps(body), now_iso()))

    # -- biometric deduplication (kiosk.central.abis) -----------------------------------------
    def _fingers(self, rec: sqlite3.Row) -> dict[int, bytes]:
        key = (rec["record_id"], rec["submission"])
        cached = getattr(self, "_fingers_of", None)
        if cached is None or cached[0] != key:  # asked twice per decision: search, then enrol
            self._fingers_of = cached = (key, dedup.record_fingers(self.open(rec["packet"]).content))
        return cached[1]

    def _biometric(self, c: sqlite3.Connection, rec: sqlite3.Row) -> dedup.BiometricResult:
        return dedup.biometric_outcome(self.abis, c, rec, self._fingers(rec), now=now_iso())

    def _delete_record(self, c: sqlite3.Connection, record_id: str, reason: str) -> None:
        """The earlier record of a resident is deleted: the NIK is free again, its fingers leave
        the gallery, and its station is told through its decision feed (decision ``deleted``)."""
        rec = c.execute("SELECT * FROM records WHERE record_id=?", (record_id,)).fetchone()
        c.execute("DELETE FROM persons WHERE record_id=?", (record_id,))
        c.execute("UPDATE records SET status='deleted' WHERE record_id=?", (record_id,))
        self.abis.delete(record_id)
        if rec is not None:
            c.execute("INSERT INTO decisions(station_id, record_id, submission, decision, body, decided_at)"
                      " VALUES (?,?,?,?,?,?)", (rec["station_id"], record_id, rec["submission"], "deleted",
                                                json.dumps({"permit": None, "duplicate_of": None,
                                                            "reason": {"code": "central.deleted",
                                                                       "params": {"why": reason}}}), now_iso()))

    def nik_status(self, station_id: str, nik: str) -> dict[str, Any]:
        """Where and when ``nik`` was recorded (for the NIK step), signed with the central key
        over its canonical JSON; names the asking station and the time, so an answer cannot
        be replayed to another station or passed off as fresh (kiosk.dedup.nik_lookup)."""
        from kiosk.central.abis.nik_answer import nik_answer

        with self.lock:
            return nik_answer(self.conn, self.keys.signing, station_id, nik, asked_at=now_iso())

    def adjudications(self, status: str | None = "open") -> list[dict[str, Any]]:
        with self.lock:
            return dedup.list_cases(self.conn, status=status)

    def resolve_adjudication(self, case: str, verdict: dedup.Verdict, *, actor: str, note: str = "") -> None:
        """An officer's verdict on a same-person case; the record is decided on the next pass."""
        with self._tx() as c:
            row = dedup.find_case(c, case)
            if verdict is dedup.Verdict.DELETE_EARLIER:
                self._delete_record(c, row["candidate_record"], f"adjudication {row['case_id']}: {note}")
            dedup.resolve_case(c, row, verdict, actor=actor, note=note, now=now_iso(), decide_after=time.time())
            held_deletions.answer_held_deletion(c, row, verdict, now=now_iso())
        self.decide_due()

    def decide_due(self, now: float | None = None) -> int:
        """Decide every packet whose delay has passed, and answer due deletion requests."""
        now = time.time() if now is None else now
        n = 0
        with self._tx() as c:
            for rec in c.execute("SELECT * FROM records WHERE status='pending' AND decide_after <= ?"
                                 " ORDER BY decide_after", (now,)).fetchall():
                self._decide(c, rec)
                n += 1
            # a request for a record held for adjudication waits for the officer's verdict
            for req in c.execute("SELECT * FROM deletions d WHERE status='pending' AND answer_after <= ?"
                                 " AND NOT EXISTS (SELECT 1 FROM adjudications a WHERE a.record_id=d.record_id"
                                 " AND a.submission=d.submission AND a.status='open')", (now,)).fetchall():
                # "one NIK, one person": the earlier record is deleted, the NIK is free again
                self._delete_record(c, req["target_record"], f"deletion request {req['request_id']}")
                c.execute("UPDATE deletions SET status='done', answered_at=? WHERE request_id=?",
                          (now_iso(), req["request_id"]))
                n += 1
        return n

    def decisions(self, station_id: str, cursor: int, limit: int = 200) -> tuple[list[dict[str, Any]], int, bool]:
        self.decide_due()
        with self.lock:
            rows = self.conn.execute("SELECT * FROM decisions WHERE station_id=? AND seq>? ORDER BY seq LIMIT ?",
                                     (station_id, cursor, limit + 1)).fetchall()
        more = len(rows) > limit
        # signed when sent (rows decided before answers were signed are covered too)
        out = [sign_answer(self.keys.signing, "decision",
                           {"seq": r["seq"], "station_id": r["station_id"], "record_id": r["record_id"],
                            "submission": r["submission"], "decision": r["decision"], "decided_at": r["decided_at"],
                            **json.loads(r["body"])})
               for r in rows[:limit]]
        return out, (out[-1]["seq"] if out else cursor), more

    # -- deletion and reprint requests -------------------------------------------------------
    def _deletion(self, row: sqlite3.Row) -> dict[str, Any]:
        """The signed answer about one deletion request (the station moves its record on it)."""
        return sign_answer(self.keys.signing, "deletion", {
            "request_id": row["request_id"], "station_id": row["station_id"], "record_id": row["record_id"],
            "submission": row["submission"], "target_record": row["target_record"], "status": row["status"],
            "reason": row["reason"], "created_at": row["created_at"], "answered_at": row["answered_at"],
            "station_request_id": row["station_request_id"]})

    def request_deletion(self, station_id: str, record_id: str, reason: str,
                         station_request_id: str | None = None) -> tuple[dict[str, Any], bool]:
        """Ask to delete the earlier record that made ``record_id`` a duplicate. Idempotent: one
        request per record submission, so a retry (same ``station_request_id``) gets the first answer."""
        with self._tx() as c:
            d = c.execute("SELECT * FROM decisions WHERE record_id=? ORDER BY seq DESC LIMIT 1", (record_id,)).fetchone()
            if d is None:
                raise CentralError("deletion.unknown_record", status=404, record=record_id)
            if d["station_id"] != station_id:
                raise CentralError("deletion.forbidden", status=403, record=record_id)
            existing = c.execute("SELECT * FROM deletions WHERE record_id=? AND submission=?",
                                 (record_id, d["submission"])).fetchone()
            if existing is not None:
                return self._deletion(existing), False
            if d["decision"] != "duplicate":
                raise CentralError("deletion.not_duplicate", status=409, record=record_id, decision=d["decision"])
            target = json.loads(d["body"])["duplicate_of"]["record_id"]
            rid = str(uuid.uuid4())
            c.execute("INSERT INTO deletions(request_id, station_id, record_id, submission, target_record, reason,"
                      " status, created_at, answer_after, station_request_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
                      (rid, station_id, record_id, d["submission"], target, reason, "pending", now_iso(),
                       time.time() + self.decision_delay_s, station_request_id))
            return self._deletion(c.execute("SELECT * FROM deletions WHERE request_id=?", (rid,)).fetchone()), True

    def deletion(self, station_id: str, request_id: str) -> dict[str, Any]:
        self.decide_due()
        with self.lock:
            row = self.conn.execute("SELECT * FROM deletions WHERE request_id=?", (request_id,)).fetchone()
        if row is None:
            raise CentralError("deletion.unknown", status=404, request=request_id)
        if row["station_id"] != station_id:
            raise CentralError("deletion.forbidden", status=403, request=request_id)
        return self._deletion(row)

    def reprint(self, station_id: str, record_id: str, reason: str, permit_id: str | None = None,
                request_id: str | None = None) -> PrintPermit:
        """A new permit for an approved record whose card was spoiled.

        With a ``request_id`` (the station's idempotency key) a retry returns the permit the
        first request minted, so a lost answer never leaves an extra permit at the central."""
        if not reason.strip():
            raise CentralError("reprint.reason_required", status=400, record=record_id)
        with self._tx() as c:
            if request_id is not None:
                seen = c.execute("SELECT r.station_id, r.record_id, p.body FROM reprint_requests r"
                                 " JOIN permits p ON p.permit_id = r.permit_id WHERE r.request_id=?",
                                 (request_id,)).fetchone()
                if seen is not None:
                    if (seen["station_id"], seen["record_id"]) != (station_id, record_id):
                        raise CentralError("reprint.request_conflict", status=409, request=request_id)
                    return PrintPermit.from_dict(json.loads(seen["body"]))
            rec = c.execute("SELECT * FROM records WHERE record_id=?", (record_id,)).fetchone()
            if rec is None:
                raise CentralError("reprint.unknown_record", status=404, record=record_id)
            if rec["station_id"] != station_id:
                raise CentralError("reprint.forbidden", status=403, record=record_id)
            holder = c.execute("SELECT record_id FROM persons WHERE nik=?", (rec["nik"],)).fetchone()
            if holder is None or holder[0] != record_id:
                raise CentralError("reprint.not_approved", status=409, record=record_id)
            if permit_id is not None and c.execute("SELECT 1 FROM permits WHERE permit_id=? AND record_id=?",
                                                   (permit_id, record_id)).fetchone() is None:
                raise CentralError("reprint.unknown_permit", status=404, permit=permit_id)
            permit = self._permit(c, rec, f"reprint: {reason}")
            if request_id is not None:
                c.execute("INSERT INTO reprint_requests(request_id, station_id, record_id, permit_id, created_at)"
                          " VALUES (?,?,?,?,?)", (request_id, station_id, record_id, permit.permit_id, now_iso()))
            return permit

    def reprint_answer(self, station_id: str, request_id: str | None, permit: PrintPermit) -> dict[str, Any]:
        """The signed answer to a reprint request: binds the request id to the permit minted for it."""
        return sign_answer(self.keys.signing, "reprint", {"station_id": station_id, "request_id": request_id,
                                                          "record_id": permit.record_id, "permit_id": permit.permit_id,
                                                          "permit": permit.to_dict()})

    # -- audit checkpoints ---------------------------------------------------------------------
    def keep_checkpoint(self, station_id: str, cp: dict[str, Any]) -> dict[str, Any]:
        """Keep a station's signed audit checkpoint (verified with the station's registered key).

        The newest one a station sent is its anchor: a station whose trail ends before it was cut."""
        from kiosk.central.checkpoints import verify_station_checkpoint

        key = self.station_key(station_id)
        assert key is not None  # the request was authenticated with it
        verify_station_checkpoint(key, cp)
        with self._tx() as c:
            c.execute("INSERT OR IGNORE INTO audit_checkpoints(station_id, seq, hash, entries, prev, signed_at,"
                      " signature, received_at) VALUES (?,?,?,?,?,?,?,?)",
                      (station_id, cp["seq"], cp["hash"], cp["entries"], cp["prev"], cp["signed_at"],
                       cp["signature"], now_iso()))
            newest = c.execute("SELECT seq, hash FROM audit_checkpoints WHERE station_id=? ORDER BY seq DESC LIMIT 1",
                               (station_id,)).fetchone()
        return {"station_id": station_id, "seq": newest["seq"], "hash": newest["hash"]}

    def newest_checkpoint(self, station_id: str) -> dict[str, Any] | None:
        with self.lock:
            row = self.conn.execute("SELECT * FROM audit_checkpoints WHERE station_id=? ORDER BY seq DESC LIMIT 1",
                                    (station_id,)).fetchone()
        return dict(row) if row else None

    # -- inspection (tests, admin) ------------------------------------------------------------
    def counts(self) -> dict[str, Any]:
        with self.lock:
            c = self.conn
            return {
                "records": c.execute("SELECT COUNT(*) FROM records").fetchone()[0],
                "uploads_complete": c.execute("SELECT COUNT(*) FROM uploads WHERE complete=1").fetchone()[0],
                "decisions": dict(c.execute("SELECT decision, COUNT(*) FROM decisions GROUP BY decision").fetchall()),
                "refusals": c.execute("SELECT COUNT(*) FROM refusals").fetchone()[0],
            }


@dataclass(frozen=True)
class _Completion:
    """A completing chunk's upload, as :meth:`CentralRegistry._take_chunk` found it, and the
    whole packet assembled (not yet verified, not yet stored)."""

    station_id: str
    record_id: str
    submission: int
    length: int
    sha256: str
    offset: int
    blob: bytes


class _Tx:
    """``with registry._tx() as conn``: the registry lock plus one IMMEDIATE transaction."""

    def __init__(self, reg: CentralRegistry, durable: bool = True) -> None:
        self.reg = reg
        self.durable = durable
        #: the registry's commit count after this transaction committed (for _group_sync)
        self.generation = 0

    def __enter__(self) -> sqlite3.Connection:
        self.reg.lock.acquire()
        self.reg.conn.execute(f"PRAGMA synchronous={'FULL' if self.durable else 'NORMAL'}")
        self.reg.conn.execute("BEGIN IMMEDIATE")
        return self.reg.conn

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            # a CentralError raised after some writes still commits what a refusal must keep
            # (the refusal log, the dropped upload); any other exception rolls back
            if exc_type is None or (isinstance(exc, CentralError) and exc.status == 422):
                self.reg.conn.execute("COMMIT")
                self.reg._commits += 1
                self.generation = self.reg._commits
            else:
                self.reg.conn.execute("ROLLBACK")
        finally:
            self.reg.lock.release()
