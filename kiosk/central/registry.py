"""The central registry's logic, without HTTP: decisions, dedup, deletions, reprints, permits
and audit checkpoints. It derives from its uploads-and-ingest half (:mod:`kiosk.central.uploads`),
which derives from the core both use: database, keys, stations (:mod:`kiosk.central.registry_core`).

One SQLite database (``<data>/central.db``, :mod:`kiosk.central.central_db`) guarded by one
lock, so every operation is one transaction and concurrent requests never interleave half-way.
``ingest_packet`` is the entry point for a whole sealed packet (offline import).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

from kiosk.central import held_deletions
from kiosk.central.abis import dedup
from kiosk.central.abis.service import Abis, LocalAbis
from kiosk.central.answers import sign_answer
from kiosk.central.carddata import card_data
from kiosk.central.central_db import CENTRAL_MIGRATIONS, CentralError, now_iso
from kiosk.central.keys import CentralKeys
from kiosk.central.permit import PrintPermit, card_data_hash
from kiosk.central.uploads import MAX_PACKET, UploadIngest, UploadState
from kiosk.identity import Identity

# re-exported: what the server, the CLI and the tests import from here
__all__ = ["CENTRAL_MIGRATIONS", "CentralError", "CentralRegistry", "MAX_PACKET", "UploadState", "now_iso"]


class CentralRegistry(UploadIngest):
    def __init__(self, data_dir: Path, *, decision_delay_s: float = 2.0, keys: CentralKeys | None = None,
                 abis: Abis | None = None) -> None:
        super().__init__(data_dir, decision_delay_s=decision_delay_s, keys=keys)
        #: biometric deduplication (OSIA-shaped ABIS boundary; the local reference one by default)
        self.abis: Abis = abis if abis is not None else LocalAbis(self.data_dir / "abis")

    def close(self) -> None:
        with self.lock:
            super().close()
            close_abis = getattr(self.abis, "close", None)
            if close_abis is not None:
                close_abis()

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


