"""The inbox: the central's decisions, verified, applied once, with their permits handed on.

Trust (issue 13 §1): a decision moves a record (approved / rejected, which lets retention
purge the biometrics / duplicate), so it is applied only when it is signed with the central's
pinned key (:mod:`kiosk.central.answers`), names this station and is well-formed
(:class:`Decision`). Anything else, one item or a whole page, is quarantined
(:mod:`kiosk.sync.quarantine`) and the pass goes on. The decision cursor advances only to the
seq of a verified decision, so a forged ``seq = 10**12`` never hides the real central's.

A ``deleted`` decision (the central deleted this station's record: the resident keeps a
record made elsewhere, issue 14 §2) moves the record to ``deleted`` in one transaction with
its audit row, the voiding of every permit it held and the cursor; the print gate then refuses
it whatever permit it held (it prints approved records only). One that arrives while the
record is printing waits (``sync_decisions.note = 'deferred'``) until the print is over.

Durability: a decision is applied in the transaction that advances the cursor, so it is
never applied twice or lost. A decision for a record still ``queued`` (killed before the
confirmation was written) confirms it first. An approval's permit is handed to the permit
owner by ONE call, :func:`hand_on_permit`, in the transaction that approves the record.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kiosk.central.answers import AnswerError, verify_answer
from kiosk.central.carddata import card_data_from_store
from kiosk.central.permit import PermitError, PrintPermit, card_data_hash
from kiosk import permits as station_permits
from kiosk.store import RecordState, RecordStore
from kiosk.store.states import TRANSITIONS
from kiosk.store.queue import UnknownRecord, now_iso
from kiosk.sync.outbox import Outbox
from kiosk.sync.quarantine import quarantine
from kiosk.sync.schema import get_state, set_state
from kiosk.sync.session import ACTOR, SyncSession, log

S = RecordState
#: pages fetched per pass at most: a central that says "more" forever cannot hold the pass
MAX_PAGES = 50
#: SQLite integers are 64-bit signed
MAX_SEQ = 2 ** 63 - 1
#: ``sync_decisions.note`` of a ``deleted`` decision kept until the print under way is over
DEFERRED = "deferred"


class Reason(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    code: str = Field(min_length=1, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)


class DuplicateOf(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    station_id: str
    region: str
    record_id: str


class Decision(BaseModel):
    """One decision as the central sends it (docs/central-api.yaml ``Decision``), strict types:
    a seq of "abc", a reason that is a bare string or a permit signature of 5 is refused here."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)
    seq: int = Field(ge=1, le=MAX_SEQ)
    station_id: str
    record_id: str = Field(min_length=36, max_length=36)
    submission: int = Field(ge=1, le=MAX_SEQ)
    decision: Literal["approved", "rejected", "duplicate", "deleted"]
    decided_at: str = ""
    reason: Reason | None = None
    duplicate_of: DuplicateOf | None = None
    permit: dict[str, Any] | None = None


def validation_detail(exc: ValidationError) -> str:
    """Which fields failed and how, never the values (they may be personal data)."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}:{e['type']}" for e in exc.errors()[:5])


def hand_on_permit(store: RecordStore, conn: sqlite3.Connection, record_id: str, permit: PrintPermit,
                   source: str) -> None:
    """THE one place sync writes a permit: hands a verified permit to its owner
    (:func:`kiosk.permits.receive`) inside the caller's transaction."""
    station_permits.receive(store, conn, permit, record_id=record_id, actor=ACTOR, source=source)


class Inbox:
    def __init__(self, session: SyncSession, outbox: Outbox) -> None:
        self.s = session
        self.outbox = outbox

    def cursor(self) -> int:
        return int(get_state(self.s.store.conn, "cursor") or 0)

    def verify_permit(self, record_id: str, permit: PrintPermit) -> None:
        card = card_data_from_store(self.s.store, record_id, issued_at=permit.issued_at)
        permit.verify(self.s.permit_key, station_id=self.s.station_id, record_id=record_id,
                      card_hash=card_data_hash(card))

    def pull(self) -> int:
        """Fetch and apply decisions after the cursor; returns how many were applied.
        A malformed page is quarantined and ends the fetching for this pass (uploads go on)."""
        s = self.s
        applied = self.apply_deferred()
        for _ in range(MAX_PAGES):
            if s.stop_event.is_set():
                break
            before = self.cursor()
            try:
                items, _, more = s.call(s.client.decisions, before)
            except AnswerError as exc:
                quarantine(s.store, source="decisions", code=exc.code, raw=exc.raw if exc.raw is not None else b"",
                           detail=str(exc.params.get("detail", "")))
                s.monitor.note(exc.code, "decisions", exc.params)
                break
            for item in items:
                if self.apply(item) == "applied":
                    applied += 1
            if not more or not items or self.cursor() == before:
                break  # nothing verified moved the cursor: asking again gives the same page
        with s.lock:
            s.decisions += applied
        if applied:
            s.report("decisions")
        return applied

    def _verified(self, raw: Any) -> Decision | None:
        """The decision when it verifies and parses; else quarantined (None)."""
        s = self.s
        try:
            verify_answer(s.permit_key, "decision", raw, station_id=s.station_id)
            d = Decision.model_validate(raw)
            uuid.UUID(d.record_id)
        except AnswerError as exc:
            quarantine(s.store, source="decision", code=exc.code, raw=raw)
            s.monitor.note(exc.code, "decisions", exc.params)
            return None
        except ValidationError as exc:
            quarantine(s.store, source="decision", code="answer.malformed", raw=raw, detail=validation_detail(exc))
            s.monitor.note("answer.malformed", "decisions")
            return None
        except ValueError:
            quarantine(s.store, source="decision", code="answer.malformed", raw=raw, detail="record_id:uuid")
            s.monitor.note("answer.malformed", "decisions")
            return None
        return d

    def apply(self, raw: Any) -> str:
        """Apply one decision from the central; returns what happened
        (applied, stale, refused_permit, quarantined)."""
        d = self._verified(raw)
        if d is None:
            return "quarantined"
        store = self.s.store
        seq, record_id, submission = d.seq, d.record_id, d.submission

        def advance(conn: sqlite3.Connection) -> None:
            if seq > int(get_state(conn, "cursor") or 0):
                set_state(conn, "cursor", str(seq))

        def skip() -> str:
            with store.transaction() as conn:
                advance(conn)
            return "stale"

        try:
            rec = store.get(record_id)
        except UnknownRecord:
            return skip()
        pkt = self.outbox.packet_row(record_id)
        if pkt is None or pkt["submission"] != submission:
            return skip()
        if rec.state is S.QUEUED:
            self.outbox.confirm(record_id, submission)  # the central has it whole: it decided on it
            rec = store.get(record_id)
        if d.decision == "deleted":
            return self._apply_deleted(d, rec.state, advance)
        # a duplicate (same fingers under another NIK) the central's officer adjudicated on the
        # same submission, without a deletion request: approved or rejected after all
        adjudicated = rec.state is S.DUPLICATE and d.decision in ("approved", "rejected")
        if rec.state is not S.SUBMITTED and not adjudicated:
            return skip()

        reason = d.reason.model_dump() if d.reason else None
        dup = d.duplicate_of.model_dump() if d.duplicate_of else None
        permit: PrintPermit | None = None
        if d.decision == "approved":
            try:
                permit = station_permits.parse_permit(d.permit)
                self.verify_permit(record_id, permit)
            except (PermitError, TypeError, ValueError, AttributeError) as exc:
                # a permit that does not verify is never stored; the record stays submitted and
                # the operator can ask for a new one (reprint request) once the cause is found
                code = exc.code if isinstance(exc, PermitError) else "permit.malformed"
                params = {k: str(v) for k, v in exc.params.items()} if isinstance(exc, PermitError) else {}
                with store.transaction() as conn:
                    store.write_audit(conn, ACTOR, "permit_refused", record_id=record_id, reason=code, params=params)
                    conn.execute(
                        "INSERT OR REPLACE INTO sync_decisions(record_id, submission, seq, decision, reason,"
                        " duplicate_of, decided_at, applied_at, note) VALUES (?,?,?,?,?,?,?,?,?)",
                        (record_id, submission, seq, d.decision, None, None, d.decided_at, now_iso(), code))
                    advance(conn)
                log.warning("sync: permit refused", extra={"code": code, "record_id": record_id})
                self.s.monitor.note(code, "decisions")
                return "refused_permit"

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR REPLACE INTO sync_decisions(record_id, submission, seq, decision, reason, duplicate_of,"
                " decided_at, applied_at, note) VALUES (?,?,?,?,?,?,?,?,NULL)",
                (record_id, submission, seq, d.decision, json.dumps(reason) if reason else None,
                 json.dumps(dup) if dup else None, d.decided_at, now_iso()))
            if permit is not None:
                hand_on_permit(store, conn, record_id, permit, "approval")
            advance(conn)

        target = {"approved": S.APPROVED, "rejected": S.REJECTED, "duplicate": S.DUPLICATE}[d.decision]
        params: dict[str, Any] = {"seq": seq}
        if dup:
            params["duplicate_of"] = dup
        if reason:
            params["reason"] = reason
        store.transition(record_id, target, actor=ACTOR, expect=rec.state,
                         reason=(reason or {}).get("code", ""), params=params, extra=write)
        return "applied"

    def _apply_deleted(self, d: Decision, state: RecordState,
                       advance: Callable[[sqlite3.Connection], None]) -> str:
        """The central deleted the record: it leaves the queue for good (see the module doc)."""
        store = self.s.store
        reason = d.reason.model_dump() if d.reason else None

        def note(conn: sqlite3.Connection, applied: bool) -> None:
            conn.execute(
                "INSERT OR REPLACE INTO sync_decisions(record_id, submission, seq, decision, reason, duplicate_of,"
                " decided_at, applied_at, note) VALUES (?,?,?,?,?,NULL,?,?,?)",
                (d.record_id, d.submission, d.seq, d.decision, json.dumps(reason) if reason else None,
                 d.decided_at, now_iso(), None if applied else DEFERRED))
            advance(conn)

        if state is S.PRINTING:  # the gate finishes the print first; the next pass deletes
            with store.transaction() as conn:
                note(conn, False)
            log.warning("sync: deletion waits for a print under way", extra={"record_id": d.record_id})
            return "applied"
        if S.DELETED not in TRANSITIONS[state]:  # deleted already, or never reached the central
            with store.transaction() as conn:
                advance(conn)
            return "stale"

        def write(conn: sqlite3.Connection) -> None:
            note(conn, True)
            voided = station_permits.void_permits(conn, d.record_id)
            if voided:
                store.write_audit(conn, ACTOR, "permits_void", record_id=d.record_id, reason="central.deleted",
                                  params={"permits": voided})

        params: dict[str, Any] = {"seq": d.seq}
        if reason:
            params["reason"] = reason
        store.transition(d.record_id, S.DELETED, actor=ACTOR, expect=state, reason="central.deleted",
                         params=params, extra=write)
        log.info("sync: record deleted at the central", extra={"record_id": d.record_id, "from": str(state)})
        return "applied"

    def apply_deferred(self) -> int:
        """Deletions that waited for a print under way, now that it is over."""
        rows = self.s.store.conn.execute("SELECT * FROM sync_decisions WHERE note = ?", (DEFERRED,)).fetchall()
        done = 0
        for row in rows:
            state = self.s.store.get(row["record_id"]).state
            if state is S.PRINTING:
                continue
            reason = json.loads(row["reason"]) if row["reason"] else None
            d = Decision.model_construct(seq=row["seq"], station_id=self.s.station_id, record_id=row["record_id"],
                                         submission=row["submission"], decision="deleted",
                                         decided_at=row["decided_at"], duplicate_of=None, permit=None,
                                         reason=Reason(**reason) if reason else None)
            if self._apply_deleted(d, state, lambda conn: None) == "applied":
                done += 1
        return done
