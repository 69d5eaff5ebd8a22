"""The central's side of the duplicate journey for a record held for adjudication (issue 14 §2).

When the ABIS finds a record's fingers under another NIK (:mod:`kiosk.central.abis.dedup`),
the record is held for an officer and its station is told at once with a ``duplicate``
decision naming the earlier record (:func:`tell_same_fingers`), so the operator sees where the
resident is recorded and can file the deletion request. That request is not answered on a
timer like a same-NIK one (:meth:`kiosk.central.registry.CentralRegistry.decide_due` skips it
while the case is open): the officer's verdict answers it (:func:`answer_held_deletion`).

Both functions run inside the registry's transaction (``c``).
"""

from __future__ import annotations

import json
import sqlite3

from kiosk.central.abis.dedup import BiometricResult, Verdict


def tell_same_fingers(c: sqlite3.Connection, rec: sqlite3.Row, bio: BiometricResult, *, now: str) -> None:
    """A ``duplicate`` decision for a record held for adjudication, once per submission."""
    told = c.execute("SELECT 1 FROM decisions WHERE record_id=? AND submission=?",
                     (rec["record_id"], rec["submission"])).fetchone()
    earlier = c.execute("SELECT station_id, region FROM records WHERE record_id=?",
                        (bio.candidate_record,)).fetchone()
    if told is not None or earlier is None:
        return
    body = {"permit": None, "duplicate_of": {"station_id": earlier["station_id"], "region": earlier["region"],
                                             "record_id": bio.candidate_record},
            "reason": {"code": "central.duplicate.same_fingers", "params": {"score": bio.score}}}
    c.execute("INSERT INTO decisions(station_id, record_id, submission, decision, body, decided_at)"
              " VALUES (?,?,?,?,?,?)", (rec["station_id"], rec["record_id"], rec["submission"], "duplicate",
                                        json.dumps(body), now))


def answer_held_deletion(c: sqlite3.Connection, case: sqlite3.Row, verdict: Verdict, *, now: str) -> None:
    """The station's deletion request that waited for this verdict: ``done`` (the earlier record
    is deleted; the new record is sent again as a new submission and decided then) or ``refused``
    (two people, or the new record is rejected: its own decision follows on this submission)."""
    req = c.execute("SELECT * FROM deletions WHERE record_id=? AND submission=? AND status='pending'",
                    (case["record_id"], case["submission"])).fetchone()
    if req is None:
        return
    done = verdict is Verdict.DELETE_EARLIER
    c.execute("UPDATE deletions SET status=?, answered_at=? WHERE request_id=?",
              ("done" if done else "refused", now, req["request_id"]))
    if done:  # decided on its next submission, not on this one
        c.execute("UPDATE records SET status='decided' WHERE record_id=? AND submission=?",
                  (case["record_id"], case["submission"]))
