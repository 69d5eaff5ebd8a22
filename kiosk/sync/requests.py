"""Requests that create something at the central: deletions, reprints, and the audit anchor.

Each carries a request id derived from what it asks (:func:`request_id`), so a retry after a
lost answer is the same request: the central answers it with its first answer and never mints
a second permit for one spoiled card (issue 13 §2). Each answer that changes station state
is signed with the central's pinned key and verified (:mod:`kiosk.central.answers`); one that
does not verify is quarantined and the request stays open for the next pass.

After each exchange with the central the station signs an audit checkpoint
(:func:`kiosk.ops.audit.checkpoint`) and sends it; the central keeps the newest, so entries cut
from the station's trail show against the central's copy.
"""

from __future__ import annotations


import sqlite3
import uuid
from typing import Any

from kiosk.central.answers import AnswerError, verify_answer
from kiosk.central.permit import PermitError, PrintPermit
from kiosk.errors import InputError
from kiosk import permits as station_permits
from kiosk.store import IllegalTransition, RecordState, RecordStore
from kiosk.store.queue import now_iso
from kiosk.sync.client import CentralRefused
from kiosk.sync.inbox import Inbox, hand_on_permit
from kiosk.sync.quarantine import quarantine
from kiosk.sync.schema import ensure_schema, get_state, set_state
from kiosk.sync.session import ACTOR, SyncSession, log

S = RecordState
#: namespace of the station's request ids (uuid5 over what is asked)
REQUEST_NS = uuid.UUID("5f1c7e0a-8f1e-4d8e-9a35-13c0a5e2b713")


def request_id(station_id: str, kind: str, *parts: object) -> str:
    """The idempotency key of one request: the same request always gets the same id."""
    return str(uuid.uuid5(REQUEST_NS, ":".join([station_id, kind, *map(str, parts)])))


class Requests:
    def __init__(self, session: SyncSession, inbox: Inbox) -> None:
        self.s = session
        self.inbox = inbox

    # -- reprints -----------------------------------------------------------------------------
    def request_reprint(self, record_id: str, reason: str, permit_id: str | None = None, *,
                        request_row: int | None = None) -> PrintPermit:
        """Ask the central for a new permit (spoiled card); verified like any permit and handed
        to the permit owner in one transaction with the answered reprint request ``request_row``
        (a row of the gate's ``reprint_requests``) if given.
        Raises CentralUnavailable / CentralRefused / PermitError / AnswerError."""
        s = self.s
        rid = request_id(s.station_id, "reprint", record_id, permit_id or "", request_row or "")
        answer = s.call(s.client.request_reprint, record_id, reason, permit_id, rid)
        signed = verify_answer(s.permit_key, "reprint", answer.get("answer"), station_id=s.station_id)
        if signed.get("request_id") != rid or signed.get("record_id") != record_id:
            raise AnswerError("answer.mismatch", kind="reprint")
        if not isinstance(signed.get("permit"), dict):
            raise AnswerError("answer.malformed", kind="reprint")
        permit = station_permits.parse_permit(signed["permit"])
        if permit.permit_id != signed.get("permit_id"):
            raise AnswerError("answer.mismatch", kind="reprint")
        self.inbox.verify_permit(record_id, permit)
        with s.store.transaction() as conn:
            hand_on_permit(s.store, conn, record_id, permit, "reprint")
            if request_row is not None:
                station_permits.reprint_answered(conn, request_row, new_permit_id=permit.permit_id)
            s.store.write_audit(conn, ACTOR, "reprint_permit", record_id=record_id, reason=reason,
                                params={"permit_id": permit.permit_id, "replaces": permit_id or "",
                                        "request_id": rid})
        return permit

    def process_reprints(self) -> int:
        """Send the reprint requests the print gate queued for spoiled cards; returns the new
        permits stored. A request the central refuses, or whose permit does not verify, is
        closed with that code (audited) rather than asked again every pass; an answer that
        is not signed by the central is quarantined and the request asked again next pass."""
        s = self.s
        got = 0
        for req in station_permits.reprint_requests(s.store, unsent_only=True):
            if s.stop_event.is_set():
                break
            try:
                self.request_reprint(req["record_id"], req["reason"], req["permit_id"], request_row=req["id"])
                got += 1
            except AnswerError as exc:
                quarantine(s.store, source="reprint", code=exc.code, raw={"record_id": req["record_id"]},
                           detail=str(exc.params.get("detail", "")))
                s.monitor.note(exc.code, "reprint", exc.params)
            except (CentralRefused, PermitError) as exc:
                with s.store.transaction() as conn:
                    station_permits.reprint_answered(conn, req["id"], error=exc.code)
                    s.store.write_audit(conn, ACTOR, "reprint_refused", record_id=req["record_id"],
                                        reason=exc.code, params={k: str(v) for k, v in exc.params.items()})
                log.warning("sync: reprint request refused", extra={"code": exc.code, "record_id": req["record_id"]})
        return got

    # -- deletions ----------------------------------------------------------------------------
    def _verified_deletion(self, raw: dict[str, Any], record_id: str) -> dict[str, Any] | None:
        s = self.s
        try:
            d = verify_answer(s.permit_key, "deletion", raw, station_id=s.station_id)
            if d.get("record_id") != record_id or not isinstance(d.get("request_id"), str) \
                    or d.get("status") not in ("pending", "done", "refused"):
                raise AnswerError("answer.mismatch", kind="deletion")
        except AnswerError as exc:
            quarantine(s.store, source="deletion", code=exc.code, raw=raw)
            s.monitor.note(exc.code, "deletion", exc.params)
            return None
        return d

    def process_deletions(self) -> int:
        s = self.s
        moved = 0
        rows = s.store.conn.execute("SELECT * FROM sync_deletions WHERE status IN ('to_send','sent','waiting')")\
            .fetchall()
        for row in rows:
            record_id = row["record_id"]
            if row["status"] == "waiting":  # filed at the NIK step: sent once the central calls it a duplicate
                if not _promote_waiting(s.store, record_id):
                    continue
                row = s.store.conn.execute("SELECT * FROM sync_deletions WHERE record_id=?", (record_id,)).fetchone()
            try:
                if row["status"] == "to_send":
                    rid = request_id(s.station_id, "deletion", record_id, row["submission"])
                    raw = s.call(s.client.request_deletion, record_id, row["reason"], rid)
                    answer = self._verified_deletion(raw, record_id)
                    if answer is None:
                        continue
                    with s.store.transaction() as conn:
                        conn.execute("UPDATE sync_deletions SET request_id=?, status='sent' WHERE record_id=?",
                                     (answer["request_id"], record_id))
                else:
                    raw = s.call(s.client.deletion_status, row["request_id"])
                    answer = self._verified_deletion(raw, record_id)
                    if answer is None:
                        continue
            except AnswerError as exc:  # not JSON at all
                quarantine(s.store, source="deletion", code=exc.code, raw=exc.raw if exc.raw is not None else b"")
                s.monitor.note(exc.code, "deletion", exc.params)
                continue
            except CentralRefused as exc:
                with s.store.transaction() as conn:
                    conn.execute("UPDATE sync_deletions SET status='refused', error=?, answered_at=? WHERE record_id=?",
                                 (exc.code, now_iso(), record_id))
                    s.store.write_audit(conn, ACTOR, "deletion_refused", record_id=record_id, reason=exc.code)
                continue
            if answer["status"] == "done":
                moved += self._resubmit(record_id)
            elif answer["status"] == "refused":  # the officer found two people, or the same one
                with s.store.transaction() as conn:
                    conn.execute("UPDATE sync_deletions SET status='refused', error=?, answered_at=?"
                                 " WHERE record_id=?", ("central.deletion_refused", now_iso(), record_id))
                    s.store.write_audit(conn, ACTOR, "deletion_refused", record_id=record_id,
                                        reason="central.deletion_refused")
        return moved

    def _resubmit(self, record_id: str) -> int:
        """The central deleted the earlier record: duplicate -> queued, as a new submission."""
        store = self.s.store

        def reset(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE sync_deletions SET status='done', answered_at=? WHERE record_id=?",
                         (now_iso(), record_id))
            conn.execute("UPDATE sync_packets SET submission=submission+1, packet=NULL, sha256=NULL, length=0,"
                         " offset=0, status='pending', error=NULL, attempts=0, confirmed_at=NULL WHERE record_id=?",
                         (record_id,))
        try:
            store.transition(record_id, S.QUEUED, actor=ACTOR, expect=S.DUPLICATE, reason="deletion_done",
                             extra=reset)
        except IllegalTransition:
            with store.transaction() as conn:
                conn.execute("UPDATE sync_deletions SET status='done', answered_at=? WHERE record_id=?",
                             (now_iso(), record_id))
            return 0
        return 1

    # -- the audit anchor ---------------------------------------------------------------------
    def send_checkpoint(self) -> int | None:
        """Sign a checkpoint of the newest audit entry and give it to the central (once per
        checkpoint: the seq the central acknowledged is kept in ``sync_state``). Returns the
        seq the central now holds, or None when there was nothing new."""
        from kiosk.ops.audit import checkpoint
        from kiosk.ops.tables import ensure_ops_tables

        s = self.s
        ensure_ops_tables(s.store)
        cp = checkpoint(s.store, s.station_key)
        if cp is None or int(get_state(s.store.conn, "checkpoint_sent") or 0) >= cp.seq:
            return None
        body = {"seq": cp.seq, "hash": cp.hash, "entries": cp.entries, "prev": cp.prev, "signed_at": cp.signed_at,
                "signature": cp.signature}
        answer = s.call(s.client.send_checkpoint, body)
        held = answer.get("seq")
        with s.store.transaction() as conn:
            set_state(conn, "checkpoint_sent", str(cp.seq))
        return held if type(held) is int else None


#: states in which a deletion may be filed before the central's decision (the NIK step saw the
#: resident recorded elsewhere): the request waits and is sent once the record is a duplicate
EARLY_STATES = frozenset({S.DRAFT, S.CAPTURED, S.QUEUED, S.HELD, S.SUBMITTED})


def _promote_waiting(store: RecordStore, record_id: str) -> bool:
    """A waiting request becomes ``to_send`` when its record is a duplicate; it is closed when the
    central approved or rejected the record instead (nothing to delete). True when promoted."""
    state = store.get(record_id).state
    if state in EARLY_STATES:
        return False
    with store.transaction() as conn:
        if state is S.DUPLICATE:
            row = conn.execute("SELECT submission FROM sync_packets WHERE record_id=?", (record_id,)).fetchone()
            return conn.execute("UPDATE sync_deletions SET status='to_send', submission=? WHERE record_id=? AND"
                                " status='waiting'", (row[0] if row else 1, record_id)).rowcount > 0
        closed = conn.execute("UPDATE sync_deletions SET status='closed', answered_at=?, error=? WHERE"
                              " record_id=? AND status='waiting'", (now_iso(), "sync.not_duplicate", record_id))
        if closed.rowcount:  # audited once, however many passes look at it
            store.write_audit(conn, ACTOR, "deletion_closed", record_id=record_id, reason="sync.not_duplicate")
    return False


# -- functions for the UI and the CLI ----------------------------------------------------------
def request_deletion(store: RecordStore, record_id: str, *, reason: str, actor: str) -> str:
    """Ask (through the next sync pass) that the central delete the earlier record of a duplicate.
    A record not yet decided (filed at the NIK step) waits until the central calls it a duplicate.
    Idempotent: asking again while a request is open changes nothing. Returns the status
    (``to_send``, ``waiting`` or the open request's)."""
    ensure_schema(store)
    with store.transaction() as conn:
        rec = store.get(record_id)
        if rec.state is not S.DUPLICATE and rec.state not in EARLY_STATES:
            raise InputError("sync.not_duplicate", record_id=record_id, state=str(rec.state))
        row = conn.execute("SELECT submission FROM sync_packets WHERE record_id=?", (record_id,)).fetchone()
        existing = conn.execute("SELECT status FROM sync_deletions WHERE record_id=?", (record_id,)).fetchone()
        if existing is not None and existing[0] in ("to_send", "sent", "waiting"):
            return str(existing[0])  # already asked; the answer is on its way
        status = "to_send" if rec.state is S.DUPLICATE else "waiting"
        conn.execute("INSERT OR REPLACE INTO sync_deletions(record_id, submission, status, reason, requested_by,"
                     " requested_at) VALUES (?,?,?,?,?,?)",
                     (record_id, row[0] if row else 1, status, reason, actor, now_iso()))
        store.write_audit(conn, actor, "deletion_request", record_id=record_id, reason=reason,
                          params={"status": status})
    return status



