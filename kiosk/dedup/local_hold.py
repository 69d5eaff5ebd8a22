"""The station's own fingerprint check, run before upload, and the supervisor's decision.

The sync worker's outbox asks :class:`PreUploadCheck` before it seals a queued record
(:attr:`kiosk.sync.outbox.Outbox.pre_upload`): the record's fingers are searched among this
station's records of the last ``[dedup] window_days`` days (:class:`kiosk.dedup.local.LocalMatcher`).
The same fingers under another NIK stop the record: ``queued -> held`` in one ``BEGIN
IMMEDIATE`` transaction with its audit row and the ``local_matches`` row that names the other
record, the score and the fingers. Each record is checked once (its ``local_matches`` row says
so), so a record a supervisor released is not stopped again.

A supervisor decides with :func:`decide_local_match` (the CLI ``kiosk queue local-match`` and
the TUI's :class:`kiosk.tui.screens.local_match.LocalMatchModal` both call it):

* ``same_person``: the resident already has a record here; the new one is cancelled
  (``held -> cancelled``). The earlier record goes on as it was.
* ``same_person_keep_new``: the same person, but the new record is the right one (the earlier
  one has a wrong NIK, say): it is sent (``held -> queued``); the central's ABIS finds the
  earlier record and answers ``duplicate``, and the operator files the deletion request of the
  earlier record (:func:`kiosk.sync.requests.request_deletion`), the journey of issue 14 §2.
* ``different_people``: two people with similar fingers; the record goes back to the queue
  (``held -> queued``) and is uploaded; the central's ABIS still looks at it.

Either way the decision, who made it and the note commit with the state change and its
audit row (``local_match_decision``).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import logging
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.dedup.local import LocalMatch, LocalMatcher
from kiosk.errors import InputError
from kiosk.store import RecordState, RecordStore
from kiosk.store.queue import now_iso

log = logging.getLogger("kiosk.dedup")
S = RecordState
#: who stops a record in the audit trail (the sync worker runs the check)
ACTOR = "sync"


class LocalVerdict(enum.StrEnum):
    #: the same person, the earlier record is right: the new one is cancelled
    SAME_PERSON = "same_person"
    #: the same person, the NEW record is right (e.g. the earlier one has a wrong NIK): it is
    #: sent; the central finds the earlier one and its answer (duplicate) lets the operator file
    #: the deletion request of the earlier record
    SAME_PERSON_KEEP_NEW = "same_person_keep_new"
    DIFFERENT_PEOPLE = "different_people"


#: verdicts after which the record is sent to the central
RELEASED = frozenset({LocalVerdict.DIFFERENT_PEOPLE, LocalVerdict.SAME_PERSON_KEEP_NEW})


class NotSupervisor(InputError):
    """Only a supervisor decides a fingerprint match (the CLI and the TUI check the role)."""

    code = "dedup_flow.not_supervisor"


class NotHeld(InputError):
    """The record is not held for a local match (already decided, or never matched)."""

    code = "dedup_flow.not_held"


@dataclass(frozen=True)
class HeldMatch:
    """A record held for a supervisor, with the record it matched (what the UI shows)."""

    record_id: str
    matched_record: str
    score: int
    #: ISO finger position -> bozorth3 score
    fingers: dict[int, int]
    checked_at: str
    decision: str | None = None
    decided_by: str | None = None


def _held(row: sqlite3.Row) -> HeldMatch:
    return HeldMatch(row["record_id"], row["matched_record"], int(row["score"]),
                     {int(k): int(v) for k, v in json.loads(row["fingers"] or "{}").items()}, row["checked_at"],
                     row["decision"], row["decided_by"])


def local_match(store: RecordStore, record_id: str) -> HeldMatch | None:
    """The match that stopped ``record_id`` (decided or not), or None when it matched nothing."""
    row = store.conn.execute("SELECT * FROM local_matches WHERE record_id=? AND matched_record IS NOT NULL",
                             (record_id,)).fetchone()
    return _held(row) if row else None


def held_matches(store: RecordStore) -> list[HeldMatch]:
    """Records waiting for a supervisor, oldest first."""
    rows = store.conn.execute("SELECT m.* FROM local_matches m JOIN records r ON r.id = m.record_id"
                              " WHERE r.state = ? AND m.decision IS NULL ORDER BY m.checked_at",
                              (S.HELD.value,)).fetchall()
    return [_held(r) for r in rows]


def record_check(store: RecordStore, record_id: str, matches: list[LocalMatch]) -> bool:
    """Write the outcome of one check; a match holds the record. Returns True when it may go.

    One transaction: the ``local_matches`` row, and for a match ``queued -> held`` with its
    audit row. A record no longer queued (cancelled meanwhile) is only noted."""
    best = matches[0] if matches else None

    def note(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT OR REPLACE INTO local_matches(record_id, checked_at, matched_record, score, fingers)"
                     " VALUES (?,?,?,?,?)",
                     (record_id, now_iso(), best.record_id if best else None, best.score if best else 0,
                      json.dumps({str(k): v for k, v in (best.fingers if best else {}).items()})))

    if best is None:
        with store.transaction() as conn:
            note(conn)
        return True
    store.transition(record_id, S.HELD, actor=ACTOR, expect=S.QUEUED, reason="dedup_flow.held",
                     params={"matched_record": best.record_id, "score": best.score,
                             "fingers": sorted(best.fingers)}, extra=note)
    log.warning("dedup: record held for a local match", extra={"record_id": record_id, "score": best.score})
    return False


def decide_local_match(store: RecordStore, record_id: str, verdict: LocalVerdict | str, *, supervisor: str,
                       note: str = "") -> RecordState:
    """The supervisor's decision on a held record (see the module doc); returns the new state.

    ``supervisor`` is the account name the caller has checked (password and role); it is
    kept with the decision and in the audit row. Raises :class:`NotHeld` when the record is
    not waiting for a decision (decided twice, or by two supervisors at once)."""
    verdict = LocalVerdict(verdict)
    target = S.QUEUED if verdict in RELEASED else S.CANCELLED
    with store.transaction() as conn:  # the check and the move are one transaction
        row = conn.execute("SELECT m.*, r.state FROM local_matches m JOIN records r ON r.id = m.record_id"
                           " WHERE m.record_id = ?", (record_id,)).fetchone()
        if row is None or row["state"] != S.HELD.value or row["decision"] is not None:
            raise NotHeld(record_id=record_id[:8])

        def decided(c: sqlite3.Connection) -> None:
            c.execute("UPDATE local_matches SET decision=?, decided_by=?, decided_at=?, note=? WHERE record_id=?",
                      (verdict.value, supervisor, now_iso(), note, record_id))

        store.transition(record_id, target, actor=supervisor, expect=S.HELD, reason=f"dedup_flow.verdict.{verdict}",
                         params={"local_match_decision": verdict.value, "matched_record": row["matched_record"],
                                 "note": note}, extra=decided)
    return target


def earlier_only(store: RecordStore, record_id: str, matches: list[LocalMatch]) -> list[LocalMatch]:
    """Matches recorded before ``record_id``: of two records queued together it is the later
    one that waits for the supervisor, the earlier one goes on."""
    def order(rid: str) -> tuple[str, str]:
        rec = store.get(rid)
        return rec.created_at, rec.id

    mine = order(record_id)
    return [m for m in matches if order(m.record_id) < mine]


class PreUploadCheck:
    """The outbox's hook: ``check(record_id) -> may upload``. Thread-safe (parallel uploads
    share one matcher); the matcher's gallery opens at the first check."""

    def __init__(self, store: RecordStore, data_dir: Path, *, window_days: int = 90, threshold: int = 150) -> None:
        self.store = store
        self.data_dir = Path(data_dir)
        self.window_days = window_days
        self.threshold = threshold
        self._matcher: LocalMatcher | None = None
        self._lock = threading.Lock()

    def _checked(self, record_id: str) -> bool | None:
        row = self.store.conn.execute("SELECT matched_record, decision FROM local_matches WHERE record_id=?",
                                      (record_id,)).fetchone()
        if row is None:
            return None
        # checked before: released by a supervisor, or nothing matched
        return row["matched_record"] is None or row["decision"] in RELEASED

    def __call__(self, record_id: str, *, now: dt.datetime | None = None) -> bool:
        known = self._checked(record_id)
        if known is not None:
            return known
        with self._lock:
            # the sealer thread and the upload may ask at once: the second one takes the
            # first one's answer instead of holding the record again (which failed, and the
            # pass counted the held record as deferred)
            known = self._checked(record_id)
            if known is not None:
                return known
            if self._matcher is None:
                self._matcher = LocalMatcher(self.store, self.data_dir, window_days=self.window_days,
                                             threshold=self.threshold)
            matches = earlier_only(self.store, record_id, self._matcher.check(record_id, now=now))
            return record_check(self.store, record_id, matches)

    def close(self) -> None:
        with self._lock:
            if self._matcher is not None:
                self._matcher.close()
                self._matcher = None


def match_view(store: RecordStore, held: HeldMatch) -> dict[str, Any]:
    """Both records side by side for the UI and the CLI: name, masked NIK, date, state."""
    from kiosk.printer.desk import mask_nik  # the one masking the print desk shows

    def one(record_id: str) -> dict[str, Any]:
        rec = store.get(record_id)
        try:
            ident = store.identity(record_id)
            name, nik = ident.full_name, mask_nik(ident.nik)
        except Exception:  # noqa: BLE001 - a purged record keeps no identity: show what is left
            name, nik = "-", "-"
        return {"record_id": record_id, "name": name, "nik": nik, "created_at": rec.created_at[:10],
                "state": rec.state.value}

    return {"new": one(held.record_id), "earlier": one(held.matched_record), "score": held.score,
            "fingers": {str(k): v for k, v in sorted(held.fingers.items())}}
