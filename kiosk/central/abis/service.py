"""The central's ABIS boundary, shaped like OSIA's Biometrics (ABIS) interface.

Reference: OSIA (Secure Identity Alliance), functional specification, "Biometrics" interface
(``src/doc/functional/_abis.rst`` and the OpenAPI in ``src/doc/yaml/abis.yaml`` of
github.com/SecureIdentityAlliance/osia):

* ``insert(subjectID, encounterID, galleryID, ..., biometricData, ..., callback, options)``:
  "Insert a new encounter. No identify is performed. This service is synchronous."
* ``identify(galleryID, filter, biometricData, callback, options)`` with the options
  ``transactionID``, ``maxNbCand`` ("the maximum number of candidates to return") and
  ``threshold`` ("the threshold to apply on the score to filter the candidates"); it returns
  a list of candidates (subject, encounter, score, per-biometric scores).
* ``delete(subjectID, encounterID, ...)``.
* Synchronous and asynchronous processing: "If not possible [...] a status PENDING is
  returned and the answer, when available, is pushed to a callback provided by the client";
  ``transactionID`` "is mandatory for asynchronous services and is included in the response
  pushed asynchronously".

:class:`Abis` is the protocol the registry calls, so a production ABIS can be plugged in
behind the same calls. :class:`LocalAbis` is the reference implementation: identify requests
are queued durably (SQLite ``tasks``) and answered PENDING; :meth:`LocalAbis.run_pending`
processes them in arrival order and pushes each result to the callback if one was given;
:meth:`LocalAbis.result` reads a result by transaction id. Biometric data are ISO/IEC
19794-2:2005 minutiae records per ISO finger position (OSIA prefers ISO 19794 data).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from kiosk.central.abis.index import AbisError, Candidate, FingerIndex, now_iso
from kiosk.errors import KioskError

#: fused bozorth3 score (sum over up to 3 fingers) at which two ten-prints are the same
#: person. dedup_1n (2,000 synthetic identities, 2 fingers, bozorth3 summed over both): the
#: best impostor of a search reached at most 92, the mates at least 171 when shortlisted; the
#: bench prints the threshold that keeps FPIR at 0.1 % (87 there).
DEFAULT_THRESHOLD = 150
DEFAULT_MAX_CANDIDATES = 5


@dataclass(frozen=True)
class TaskStatus:
    """OSIA's answer to an asynchronous call: PENDING, then SUCCESS (with candidates) or ERROR."""

    transaction_id: str
    status: str  # "PENDING" | "SUCCESS" | "ERROR"
    candidates: tuple[Candidate, ...] = ()
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.status != "PENDING"

    def to_dict(self) -> dict[str, Any]:
        return {"transactionID": self.transaction_id, "status": self.status,
                "candidates": [c.to_dict() for c in self.candidates], "error": self.error}


@dataclass(frozen=True)
class IdentifyOptions:
    max_candidates: int = DEFAULT_MAX_CANDIDATES  # OSIA maxNbCand
    threshold: int = DEFAULT_THRESHOLD  # OSIA threshold
    #: subjects not to return (OSIA filter): the record's own earlier encounter
    exclude: tuple[str, ...] = field(default_factory=tuple)


class Abis(Protocol):
    def insert(self, subject_id: str, encounter_id: str, fingers: Mapping[int, bytes], *,
               gallery: str = "main") -> None: ...

    def delete(self, subject_id: str) -> None: ...

    def identify(self, transaction_id: str, fingers: Mapping[int, bytes], options: IdentifyOptions, *,
                 callback: Callable[[TaskStatus], None] | None = None) -> TaskStatus: ...

    def result(self, transaction_id: str) -> TaskStatus | None: ...


class LocalAbis:
    """The reference ABIS: :class:`FingerIndex` behind OSIA-shaped calls, with a durable task queue."""

    def __init__(self, directory: Path) -> None:
        self.index = FingerIndex(directory)
        self._callbacks: dict[str, Callable[[TaskStatus], None]] = {}

    def close(self) -> None:
        self.index.close()

    @property
    def _conn(self):  # type: ignore[no-untyped-def]
        return self.index.conn

    def insert(self, subject_id: str, encounter_id: str, fingers: Mapping[int, bytes], *,
               gallery: str = "main") -> None:
        """Synchronous, idempotent (the same subject again changes nothing)."""
        if not fingers:
            return
        self.index.insert_many([(subject_id, encounter_id, fingers)], gallery=gallery)

    def delete(self, subject_id: str) -> None:
        self.index.delete(subject_id)

    def identify(self, transaction_id: str, fingers: Mapping[int, bytes], options: IdentifyOptions, *,
                 callback: Callable[[TaskStatus], None] | None = None) -> TaskStatus:
        """Queue a search and answer PENDING (the same transaction id again: its current state)."""
        request = {"fingers": {str(p): t.hex() for p, t in fingers.items()}, "maxNbCand": options.max_candidates,
                   "threshold": options.threshold, "exclude": list(options.exclude)}
        with self.index.lock:
            self._conn.execute("INSERT OR IGNORE INTO tasks(transaction_id, kind, request, status, created_at)"
                               " VALUES (?,?,?,?,?)", (transaction_id, "identify", json.dumps(request), "PENDING",
                                                      now_iso()))
            if callback is not None:
                self._callbacks[transaction_id] = callback
        return self.result(transaction_id)  # type: ignore[return-value]

    def result(self, transaction_id: str) -> TaskStatus | None:
        with self.index.lock:
            row = self._conn.execute("SELECT status, result FROM tasks WHERE transaction_id=?",
                                     (transaction_id,)).fetchone()
        if row is None:
            return None
        if row[0] == "PENDING":
            return TaskStatus(transaction_id, "PENDING")
        body = json.loads(row[1])
        cands = tuple(Candidate(c["subjectId"], c["encounterId"], int(c["score"]),
                                {int(s["position"]): int(s["score"]) for s in c["scores"]})
                      for c in body.get("candidates", []))
        return TaskStatus(transaction_id, row[0], cands, body.get("error"))

    def run_pending(self, limit: int = 100) -> int:
        """Answer queued identify requests in arrival order; returns how many were answered."""
        with self.index.lock:
            rows = self._conn.execute("SELECT transaction_id, request FROM tasks WHERE status='PENDING'"
                                      " ORDER BY created_at, rowid LIMIT ?", (limit,)).fetchall()
        for tid, raw in rows:
            req = json.loads(raw)
            try:
                fingers = {int(p): bytes.fromhex(t) for p, t in req["fingers"].items()}
                cands = self.index.search(fingers, max_candidates=int(req["maxNbCand"]),
                                          threshold=int(req["threshold"]), exclude=req.get("exclude", ()))
                status, body = "SUCCESS", {"candidates": [c.to_dict() for c in cands]}
            except (KioskError, ValueError, KeyError) as exc:  # a bad template fails its own request only
                status, body = "ERROR", {"candidates": [], "error": getattr(exc, "code", type(exc).__name__)}
            with self.index.lock:
                self._conn.execute("UPDATE tasks SET status=?, result=?, done_at=? WHERE transaction_id=?",
                                   (status, json.dumps(body), now_iso(), tid))
            callback = self._callbacks.pop(tid, None)
            if callback is not None:
                callback(self.result(tid))  # type: ignore[arg-type]
        return len(rows)
