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

import json
import sqlite3
import threading
import time
from typing import Any, Callable

from kiosk.ops.export import upload_order
from kiosk.store import RecordState
from kiosk.sync.client import CentralRefused, CentralUnavailable, UploadAnswer
from kiosk.sync.confirmations import Confirmations
from kiosk.sync.link import ChunkSizer, Lanes, next_gap
from kiosk.sync.packets import (StoredPacket, retry_refused, sealer_for_station, sealing_key_for,  # noqa: F401
                                stored_packet, sweep_packet_files, without_fsync)
from kiosk.sync.session import ACTOR, SyncSession, log

__all__ = ["ChunkSizer", "Lanes", "Outbox", "retry_refused", "sealer_for_station", "sealing_key_for",
           "stored_packet", "without_fsync"]

S = RecordState


class Outbox:
    def __init__(self, session: SyncSession) -> None:
        self.s = session
        st = session.settings
        self.sizer = ChunkSizer(st.chunk_size, st.chunk_target_s, min(st.min_chunk, st.chunk_size), st.max_chunk)
        # the client's pace is the one clock of cuts (looked up each time: a test may swap it)
        self.lanes = Lanes(st.parallel, lambda: session.client.pace.being_cut())
        session.client.piece_size = self.sizer.piece  # writes of upload bytes follow the throughput
        self.confirmations = Confirmations(session.store)
        #: the central's offset last seen per record: a try that moved it made progress
        self._seen_offset: dict[str, int] = {}
        #: packets sealed ahead in this pass (:meth:`seal_ahead`) and not yet sent: the central
        #: cannot know them, so their upload starts with the creation, without asking (HEAD),
        #: and takes the bytes from here, not read back from their file
        self._unsent: dict[str, StoredPacket] = {}
        #: one lock per record being sealed (guarded by ``_sealing``): the upload of one record
        #: never waits for the sealer ahead of it sealing another
        self._sealing = threading.Lock()
        self._record_locks: dict[str, threading.Lock] = {}
        self._ahead: threading.Semaphore | None = None
        #: asked before a record's packet is first sealed: False holds the record at the station
        #: (kiosk.dedup.local_hold.PreUploadCheck: the same fingers as another record here)
        self.pre_upload: Callable[[str], bool] | None = None

    # -- packets ------------------------------------------------------------------------------
    def packet_row(self, record_id: str) -> sqlite3.Row | None:
        return self.s.store.conn.execute("SELECT * FROM sync_packets WHERE record_id=?", (record_id,)).fetchone()

    def ensure_packet(self, record_id: str, *, ahead: bool = False) -> tuple[StoredPacket | None, bool]:
        """(stored packet, built by this call). A packet built earlier may be partly uploaded."""
        # the uploads and the sealer ahead of them never seal one record twice
        with self._record_lock_of(record_id):
            row, fresh = stored_packet(self.s.store, record_id, station_id=self.s.station_id,
                                       station_key=self.s.station_key, sealing_key=self.s.sealing_key)
            if fresh and ahead and row is not None:
                with self._sealing:
                    self._unsent[record_id] = row
            return row, fresh

    def sweep(self) -> int:
        """Remove packet files no row needs (confirmed, re-sealed, or left by a kill); between
        passes, so no upload or sealer of this outbox is using one."""
        return sweep_packet_files(self.s.store)

    def _record_lock_of(self, record_id: str) -> threading.Lock:
        with self._sealing:
            return self._record_locks.setdefault(record_id, threading.Lock())

    def _take_unsent(self, record_id: str) -> StoredPacket | None:
        """A packet sealed ahead and not yet sent (then forgotten), else None."""
        with self._sealing:
            return self._unsent.pop(record_id, None)

    def seal_ahead(self, record_ids: list[str], lead: int) -> threading.Thread:
        """Seal the packets of ``record_ids`` in a background thread, at most ``lead`` records
        ahead of the uploads (each finished upload lets it seal one more), so sealing the next
        record overlaps the wait for the central's answer about this one."""
        s = self.s
        self._ahead = ahead = threading.Semaphore(lead)
        with self._sealing:  # rows an aborted pass sealed and never sent: asked about (HEAD) instead of held
            self._unsent.clear()

        def run() -> None:
            try:
                seal(record_ids)
            finally:
                s.store.close()  # this thread's connection

        def seal(record_ids: list[str]) -> None:
            for record_id in record_ids:
                while not ahead.acquire(timeout=0.5):
                    if s.stop_event.is_set() or s.abort_pass.is_set():
                        return
                if s.stop_event.is_set() or s.abort_pass.is_set():
                    return
                try:
                    # the same check as the upload's (its answer is kept, so asking twice is one
                    # check): a record held at the station is never sealed
                    if self.pre_upload is not None and self.packet_row(record_id) is None \
                            and not self.pre_upload(record_id):
                        continue
                    self.ensure_packet(record_id, ahead=True)
                except Exception:  # the upload of this record seals (and reports) it itself
                    log.debug("sync: sealing ahead failed", exc_info=True)

        thread = threading.Thread(target=run, name="sync-seal-ahead", daemon=True)
        thread.start()
        return thread

    def uploaded(self) -> None:
        """One upload of the pass ended: the sealer may go one record further."""
        if self._ahead is not None:
            self._ahead.release()

    def confirm(self, record_id: str, submission: int) -> None:
        """The central holds the whole packet: queued -> submitted, packet confirmed, with its
        audit row, in a group commit with the other uploads finishing now
        (:mod:`kiosk.sync.confirmations`: one transaction for the group, never part of one).

        Committed without its own fsync (:func:`without_fsync`): the central made the packet
        durable before it answered "complete", so this commit only records what the central
        can tell again. A kill -9 loses nothing (the commit is in the WAL); a power cut may
        undo the whole transaction (never half of it: the record is queued again with its
        stored packet and no audit row), and the next pass asks the central (HEAD), hears
        "complete" and confirms once. The next durable commit (an audit checkpoint, which
        is signed before it goes to the central) makes this one durable too: SQLite's WAL
        keeps commits in order."""
        self.confirmations.confirm(record_id, submission)

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
        with self._record_lock_of(record_id):  # the sealer may be sealing this very record
            ahead = self._take_unsent(record_id)
        if ahead is not None:
            row, fresh = ahead, True
        else:
            row, fresh = self.ensure_packet(record_id)
        if row is None or s.store.get(record_id).state is not S.QUEUED:
            return "skipped"
        if row.status == "refused":
            return "refused"
        if row.status == "confirmed":
            return "skipped"
        blob, submission, length, sha = row.packet, row.submission, row.length, row.sha256
        url = f"/v1/uploads/{record_id}/{submission}"
        answer = None
        if not fresh:  # built before this try, so maybe partly sent: ask how much arrived
            answer = s.call(s.client.upload_offset, url)
        if answer is None:  # a new upload: its creation carries the first chunk (one round trip)
            answer = self._send(s.client.create_upload, 0, blob, record_id, submission, length, sha)
        self._seen_offset[record_id] = max(answer.offset, self._seen_offset.get(record_id, 0))
        cursor = answer.offset
        stale = False  # a request was cut since the central's last answer: it may hold more
        answered = False  # an answer came since the last question (HEAD)
        while not answer.complete:
            if s.stop_event.is_set() or s.abort_pass.is_set():
                return "deferred"
            gap = next_gap(answer, cursor, length)
            if gap is None and not stale:  # the last answer is current: its holes are the rest
                cursor = answer.offset
                continue
            if gap is None:  # swept to the end past cut chunks: ask what they left (holes)
                head = s.call(s.client.upload_offset, url)
                if head is None:  # the central lost the upload (e.g. restored from a backup): create it again
                    answer = self._send(s.client.create_upload, 0, blob, record_id, submission, length, sha)
                    cursor, stale = answer.offset, False
                    continue
                if not answered and not head.complete and (head.offset, head.ranges) == (answer.offset, answer.ranges):
                    raise CentralUnavailable("sync.network", kind="no_progress")  # nothing arrived: back off
                answer, cursor, stale, answered = head, head.offset, False, False
                self._seen_offset[record_id] = max(head.offset, self._seen_offset.get(record_id, 0))
                continue
            start = gap[0]
            end = min(gap[1], start + self.sizer.size())
            try:
                answer = self._send(s.client.send_chunk, start, blob, answer.url, start, end=end)
            except CentralUnavailable as exc:
                if exc.code != "sync.network" or exc.params.get("kind") == "ConnectError" or s.abort_pass.is_set():
                    raise
                # cut mid-chunk (the client marked the cut): the central kept what arrived; go on
                # at once after this chunk instead of asking first (a round trip of idle link);
                # the next sweep fills holes
                cursor, stale = end, True
                continue
            except CentralRefused as exc:
                if exc.code == "upload.offset_mismatch" and "offset" in exc.params:
                    cursor = int(exc.params["offset"])
                    answer = UploadAnswer(answer.url, cursor, False, answer.ranges)
                    continue
                if exc.code in ("upload.unknown", "upload.checksum"):
                    answer = self._send(s.client.create_upload, 0, blob, record_id, submission, length, sha)
                    cursor = answer.offset
                    continue
                raise
            cursor, answered, stale = max(answer.offset, end), True, False
            self._seen_offset[record_id] = answer.offset
        self.confirm(record_id, submission)
        self._seen_offset.pop(record_id, None)
        return "confirmed"

    def _send(self, fn: Callable[..., UploadAnswer], offset: int, blob: bytes, *args: Any,
              end: int | None = None) -> UploadAnswer:
        """One request carrying ``blob[offset:end]`` (``end`` by default from the measured
        throughput) after ``args``; its round trip feeds the sizer."""
        s = self.s
        chunk = blob[offset:offset + self.sizer.size() if end is None else end]
        started = time.monotonic()
        try:
            answer: UploadAnswer = s.call_transfer(fn, *args, chunk)
        except CentralUnavailable as exc:
            if exc.code == "sync.timeout":
                self.sizer.timed_out(len(chunk))
            raise
        if not answer.complete or answer.offset - offset == len(chunk):  # "already complete" took nothing we timed
            self.sizer.observe(len(chunk), time.monotonic() - started)
            with s.lock:
                s.bytes_sent += len(chunk)
        return answer

    def upload(self, record_id: str, *, max_attempts: int | None = None) -> str:
        """Send one record's packet, resuming and retrying with backoff.

        Returns confirmed | refused | deferred (try again in a later pass) | skipped | held
        (stopped by :attr:`pre_upload` for a supervisor). A failed
        try after which the central holds more of the packet than before does not count
        against ``max_attempts``."""
        try:
            return self._upload_tries(record_id, max_attempts)
        finally:
            with self._sealing:
                self._record_locks.pop(record_id, None)

    def _upload_tries(self, record_id: str, max_attempts: int | None) -> str:
        s = self.s
        attempt = 0
        while not s.stop_event.is_set() and not s.abort_pass.is_set():
            before = self._seen_offset.get(record_id, -1)
            try:
                with self.lanes.lane(s.stop_event) as got:
                    if not got:
                        return "deferred"
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
