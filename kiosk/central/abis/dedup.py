"""What the central decides about a record's biometrics ("penunggalan"), and adjudication.

The registry asks :func:`biometric_outcome` before it approves a record whose NIK is free:

* no candidate above the threshold: unique, the record may be approved (and its fingers
  join the gallery, :func:`enrol`);
* a candidate under another NIK: the same person recorded twice. The record is held and an
  adjudication case opened; an officer at the central resolves it
  (``kiosk central adjudication list|resolve``) as *distinct* (approve), *same_person*
  (reject the new record) or *delete_earlier* (the earlier record is deleted, its station
  gets a ``deleted`` decision, the new one is approved);
* a remote ABIS that has not answered yet: PENDING, the registry asks again on its next pass.

The adjudication table lives in the registry's database (``central.db``); every change to
it happens inside the registry's transaction.
"""

from __future__ import annotations

import enum
import json
import sqlite3
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kiosk.central.abis.service import Abis, IdentifyOptions
from kiosk.errors import InputError

ADJUDICATION_SCHEMA = """
CREATE TABLE adjudications (
    case_id TEXT PRIMARY KEY,
    record_id TEXT NOT NULL,
    submission INTEGER NOT NULL,
    candidate_record TEXT NOT NULL,
    score INTEGER NOT NULL,
    status TEXT NOT NULL,
    verdict TEXT,
    note TEXT,
    resolved_by TEXT,
    created_at TEXT NOT NULL,
    resolved_at TEXT,
    UNIQUE (record_id, submission)
);
"""


class Verdict(enum.StrEnum):
    DISTINCT = "distinct"
    SAME_PERSON = "same_person"
    DELETE_EARLIER = "delete_earlier"


class Outcome(enum.Enum):
    PENDING = "pending"
    UNIQUE = "unique"
    ADJUDICATION = "adjudication"
    REJECT_SAME_PERSON = "reject_same_person"


@dataclass(frozen=True)
class BiometricResult:
    outcome: Outcome
    candidate_record: str | None = None
    score: int = 0


def record_fingers(content: Mapping[str, Any]) -> dict[int, bytes]:
    """ISO position -> ISO/IEC 19794-2 record of a packet's fingers: the station's template
    when it sent one, else minutiae extracted here from the finger image (mindtct)."""
    from kiosk.central.packet import sample_bytes

    out: dict[int, bytes] = {}
    images: dict[int, bytes] = {}
    for s in content.get("samples", []):
        pos = int(s.get("position") or 0)
        if not 1 <= pos <= 10:
            continue
        if s.get("kind") == "finger_template":
            out[pos] = sample_bytes(s)
        elif s.get("kind") == "finger":
            images[pos] = sample_bytes(s)
    from kiosk.central.abis.index import AbisError, template_points

    def usable(template: bytes) -> bool:
        try:
            template_points(template)
        except AbisError:
            return False
        return True

    out = {p: t for p, t in out.items() if usable(t)}  # unreadable: use the image instead, if any
    missing = [p for p in images if p not in out]
    if missing:
        from kiosk.capture.finger import FingerprintEngine, decode_finger_image

        engine = FingerprintEngine()
        for p in missing:
            try:
                extracted = engine.minutiae(decode_finger_image(images[p])).to_iso_19794_2_2005()
            except Exception:  # noqa: BLE001 - an unreadable image is a finger the ABIS cannot use
                continue
            if usable(extracted):  # an image without minutiae gives nothing the index can hold
                out[p] = extracted
    return out


def _case(c: sqlite3.Connection, record_id: str, submission: int) -> sqlite3.Row | None:
    return c.execute("SELECT * FROM adjudications WHERE record_id=? AND submission=?",
                     (record_id, submission)).fetchone()


def biometric_outcome(abis: Abis, c: sqlite3.Connection, rec: sqlite3.Row,
                      fingers: Mapping[int, bytes], *, now: str) -> BiometricResult:
    """Unique, held for adjudication, rejected by an adjudicator, or still PENDING."""
    case = _case(c, rec["record_id"], rec["submission"])
    if case is not None:
        if case["status"] == "open":
            return BiometricResult(Outcome.ADJUDICATION, case["candidate_record"], case["score"])
        if case["verdict"] == Verdict.SAME_PERSON:
            return BiometricResult(Outcome.REJECT_SAME_PERSON, case["candidate_record"], case["score"])
        return BiometricResult(Outcome.UNIQUE)
    if not fingers:
        return BiometricResult(Outcome.UNIQUE)
    tid = f"{rec['record_id']}#{rec['submission']}"
    status = abis.identify(tid, fingers, IdentifyOptions(exclude=(rec["record_id"],)))
    if not status.done and hasattr(abis, "run_pending"):
        abis.run_pending()  # the local ABIS answers at once; a remote one answers later
        status = abis.result(tid) or status
    if not status.done:
        return BiometricResult(Outcome.PENDING)
    for cand in status.candidates:
        other = c.execute("SELECT nik, status FROM records WHERE record_id=?", (cand.subject_id,)).fetchone()
        # a deleted or rejected record no longer counts; the same NIK is a re-recording, which
        # the NIK check (duplicate) handles
        if other is None or other["status"] in ("deleted",) or other["nik"] == rec["nik"]:
            continue
        if c.execute("SELECT 1 FROM persons WHERE record_id=?", (cand.subject_id,)).fetchone() is None:
            continue
        c.execute("INSERT OR IGNORE INTO adjudications(case_id, record_id, submission, candidate_record, score,"
                  " status, created_at) VALUES (?,?,?,?,?,?,?)",
                  (str(uuid.uuid4()), rec["record_id"], rec["submission"], cand.subject_id, cand.score, "open", now))
        c.execute("UPDATE records SET status='adjudication' WHERE record_id=?", (rec["record_id"],))
        return BiometricResult(Outcome.ADJUDICATION, cand.subject_id, cand.score)
    return BiometricResult(Outcome.UNIQUE)


def list_cases(c: sqlite3.Connection, *, status: str | None = "open") -> list[dict[str, Any]]:
    sql = ("SELECT a.*, n.nik AS new_nik, n.station_id AS new_station, n.identity AS new_identity,"
           " o.nik AS old_nik, o.station_id AS old_station, o.identity AS old_identity, o.received_at AS old_at"
           " FROM adjudications a JOIN records n ON n.record_id=a.record_id"
           " LEFT JOIN records o ON o.record_id=a.candidate_record")
    rows = c.execute(sql + (" WHERE a.status=?" if status else "") + " ORDER BY a.created_at",
                     (status,) if status else ()).fetchall()
    out = []
    for r in rows:
        new_name = json.loads(r["new_identity"]).get("full_name", "")
        old_name = json.loads(r["old_identity"]).get("full_name", "") if r["old_identity"] else ""
        out.append({"case_id": r["case_id"], "status": r["status"], "verdict": r["verdict"], "score": r["score"],
                    "record_id": r["record_id"], "nik": r["new_nik"], "name": new_name, "station_id": r["new_station"],
                    "earlier_record": r["candidate_record"], "earlier_nik": r["old_nik"], "earlier_name": old_name,
                    "earlier_station": r["old_station"], "earlier_received_at": r["old_at"],
                    "created_at": r["created_at"], "resolved_at": r["resolved_at"], "note": r["note"]})
    return out


def find_case(c: sqlite3.Connection, prefix: str) -> sqlite3.Row:
    rows = c.execute("SELECT * FROM adjudications WHERE case_id LIKE ?", (prefix + "%",)).fetchall()
    if len(rows) != 1:
        raise InputError("adjudication.unknown_case", case=prefix)
    return rows[0]


def resolve_case(c: sqlite3.Connection, case: sqlite3.Row, verdict: Verdict, *, actor: str, note: str,
                 now: str, decide_after: float) -> None:
    """Close the case and put its record back in line for a decision (``_decide`` reads the
    verdict through :func:`biometric_outcome`)."""
    if case["status"] != "open":
        raise InputError("adjudication.already_resolved", case=case["case_id"], verdict=case["verdict"] or "")
    c.execute("UPDATE adjudications SET status='resolved', verdict=?, note=?, resolved_by=?, resolved_at=?"
              " WHERE case_id=?", (verdict.value, note, actor, now, case["case_id"]))
    c.execute("UPDATE records SET status='pending', decide_after=? WHERE record_id=? AND status='adjudication'",
              (decide_after, case["record_id"]))


def enrol(abis: Abis, rec: sqlite3.Row, fingers: Mapping[int, bytes]) -> None:
    """An approved record's fingers join the gallery (subject = record id)."""
    abis.insert(rec["record_id"], str(rec["submission"]), fingers)
