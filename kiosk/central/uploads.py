"""Uploads and ingest at the central: resumable uploads of sealed packets (tus-shaped, with
ranges after holes: :mod:`kiosk.central.upload_ranges`), the completing chunk's packet checked
and opened without the registry lock, and whole packets taken from a stick
(:meth:`UploadIngest.ingest_packet`). One half of :class:`kiosk.central.registry.CentralRegistry`
(the other: decisions, dedup, deletions, reprints), which derives from it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import uuid
from dataclasses import dataclass
from typing import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kiosk.central import upload_ranges
from kiosk.central.central_db import CentralError, RegistryTx, now_iso
from kiosk.central.packet import OpenedPacket, PacketError, digest_packet, open_packet
from kiosk.central.registry_core import RegistryCore

MAX_PACKET = 64 * 1024 * 1024


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


@dataclass(frozen=True)
class _Completion:
    """A completing chunk's upload, as :meth:`UploadIngest._take_chunk` found it, and the
    whole packet assembled (not yet verified, not yet stored)."""

    station_id: str
    record_id: str
    submission: int
    length: int
    sha256: str
    offset: int
    blob: bytes


def _check_creation(record_id: str, submission: int, length: int, sha256: str) -> None:
    """Refuse a creation whose fields cannot name an upload (400)."""
    try:
        uuid.UUID(record_id)
    except ValueError:
        raise CentralError("upload.bad_record_id", status=400, record=record_id) from None
    if not (0 < length <= MAX_PACKET) or submission < 1 or len(sha256) != 64:
        raise CentralError("upload.bad_request", status=400, record=record_id)


class UploadIngest(RegistryCore):
    """The uploads half of the registry (module docstring), on the registry's core (database,
    keys, stations: :class:`kiosk.central.registry_core.RegistryCore`)."""

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
        _check_creation(record_id, submission, length, sha256)
        # a lost upload creation costs the station one more POST: no fsync needed for it
        with self._tx(durable=False) as c:
            return self._create(c, station_id, record_id, submission, length, sha256)

    def create_with_packet(self, station_id: str, record_id: str, submission: int, length: int, sha256: str,
                           blob: bytes) -> tuple[UploadState, bool]:
        """Create the upload and complete it with ``blob``, the whole packet, in one transaction
        (what :meth:`create_upload` then :meth:`append_chunk` do in three: one request carrying
        a whole packet is the common case). The packet is verified first, without the lock;
        the creation's own refusals come first all the same. When the central already holds
        bytes of this upload (a retry whose answer was lost), nothing is stored again and the
        answer says where the upload stands."""
        _check_creation(record_id, submission, length, sha256)
        taken = _Completion(station_id, record_id, submission, length, sha256, 0, blob)
        checked = self._check_packet(taken)  # without the lock
        tx = self._tx(durable=False)
        with tx as c:
            state, created = self._create(c, station_id, record_id, submission, length, sha256)
            if state.offset != 0:
                return state, created
            state = self._complete_in(c, taken, checked)
        self._group_sync(tx.generation)
        return state, created

    def _create(self, c: sqlite3.Connection, station_id: str, record_id: str, submission: int, length: int,
                sha256: str) -> tuple[UploadState, bool]:
        """:meth:`create_upload` inside the caller's transaction."""
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

    def _take_chunk(self, tx: RegistryTx, station_id: str, record_id: str, submission: int, offset: int,
                    data: bytes) -> UploadState | _Completion:
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

    def _check_packet(self, taken: _Completion) -> OpenedPacket | CentralError | PacketError:
        """The packet opened, or why it is refused (CPU work, done without the lock)."""
        digest = digest_packet(taken.blob)
        if digest.sha256 != taken.sha256:
            return CentralError("upload.checksum", status=422, record=taken.record_id)
        try:
            return open_packet(taken.blob, station_key=self.station_key, central_key=self.keys.sealing, digest=digest)
        except PacketError as exc:
            return exc

    def _complete(self, tx: RegistryTx, taken: _Completion, checked: OpenedPacket | CentralError | PacketError
                  ) -> UploadState:
        with tx as c:
            return self._complete_in(c, taken, checked)

    def _complete_in(self, c: sqlite3.Connection, taken: _Completion,
                     checked: OpenedPacket | CentralError | PacketError) -> UploadState:
        """:meth:`_complete` inside the caller's transaction."""
        record_id, submission, station_id = taken.record_id, taken.submission, taken.station_id
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
    def packet(self, record_id: str) -> bytes | None:
        """The sealed packet of a record as the central keeps it (None: not received)."""
        with self.lock:
            row = self.conn.execute("SELECT packet FROM records WHERE record_id=?", (record_id,)).fetchone()
        return None if row is None else bytes(row[0])

    def packets(self) -> list[bytes]:
        """Every packet the central keeps, in the order received."""
        with self.lock:
            return [bytes(r[0]) for r in self.conn.execute("SELECT packet FROM records ORDER BY rowid")]

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
