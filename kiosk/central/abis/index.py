"""The gallery: a durable, incremental finger index with a two-stage 1:N search.

Storage (``<dir>/abis.db``, SQLite, one transaction per insert or delete): one row per
subject (encounter), and per captured finger its coarse vector (float16,
:mod:`kiosk.central.abis.features`) and its ISO/IEC 19794-2 minutiae record. At start the
vectors are loaded into one matrix per finger position; inserts append to it, deletes mask
a row, so nothing is rebuilt.

Search: every probe finger is compared with the same position of every subject by one
matrix-vector product (cosine of mean-centred vectors), the per-finger similarities are
summed over the probe's fingers (score fusion, stage 1), and only the best few subjects go
to NIST bozorth3 (stage 2) on their most similar fingers; the bozorth3 scores of those
fingers are summed into the candidate's score.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import struct
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.central.abis.features import DIM, finger_vectors
from kiosk.errors import KioskError
from kiosk.store.schema import migrate

POSITIONS = tuple(range(1, 11))


class AbisError(KioskError):
    code = "abis.error"

#: subjects kept after the coarse stage, at least (bozorth3 looks at these)
COARSE_SHORTLIST = 12
#: fingers per candidate compared with bozorth3 (the most similar ones by the coarse stage)
VERIFY_FINGERS = 3
#: the centring mean is recomputed when the gallery has grown by this share
MEAN_REFRESH = 0.1

ABIS_MIGRATIONS: list[Any] = [
    """
    CREATE TABLE subjects (
        row INTEGER PRIMARY KEY,
        subject_id TEXT NOT NULL UNIQUE,
        encounter_id TEXT NOT NULL,
        gallery TEXT NOT NULL,
        inserted_at TEXT NOT NULL,
        deleted INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE fingers (
        row INTEGER NOT NULL,
        position INTEGER NOT NULL,
        vector BLOB NOT NULL,
        template BLOB NOT NULL,
        PRIMARY KEY (row, position)
    );
    CREATE TABLE tasks (
        transaction_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        request TEXT NOT NULL,
        status TEXT NOT NULL,
        result TEXT,
        created_at TEXT NOT NULL,
        done_at TEXT
    );
    CREATE INDEX tasks_status ON tasks(status, created_at);
    """,
]


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def _extractor() -> Any:
    from kiosk.capture.finger import _extractor as nbis_extractor

    return nbis_extractor(False, 500)


def load_template(iso: bytes) -> Any:
    """A minutiae record as nbis minutiae (what bozorth3 compares)."""
    return nbis_minutiae(template_points(iso))


def template_points(iso: bytes) -> np.ndarray:
    """(n, 3) x, y, direction (degrees) of a minutiae record: ISO/IEC 19794-2:2005 as the
    station writes it (kiosk.capture.finger), or the shorter layout nbis-py's own
    ``to_iso_19794_2_2005`` writes (no finger-view header; mindtct at the central)."""
    from kiosk.capture.finger import decode_iso_19794_2, minutia_points
    from kiosk.capture.report import CaptureError

    try:
        pts = [(p.x, p.y, p.angle) for p in decode_iso_19794_2(iso).points]
    except CaptureError:
        try:
            pts = [(p.x, p.y, p.angle) for p in minutia_points(_extractor().load_iso_19794_2_2005(iso))]
        except Exception:  # noqa: BLE001 - nbis raises its own error types for bad bytes
            pts = []
        if not pts:
            raise AbisError("abis.bad_template") from None
    return np.array(pts, dtype=np.float32).reshape(-1, 3)


_NBIS_HEADER = struct.Struct(">4s4sIHHHHHBB")


def nbis_minutiae(points: np.ndarray) -> Any:
    """nbis minutiae from points, through the record layout nbis-py reads back (its
    ``load_iso_19794_2_2005`` expects what its writer produces: the 24-byte record header,
    then one reserved byte and the minutiae count, then 6 bytes per minutia as in ISO)."""
    pts = np.asarray(points, dtype=np.float32).reshape(-1, 3)[:255]
    body = bytearray((0, len(pts)))
    for x, y, a in pts:
        angle = int(round((float(a) % 360.0) / (360.0 / 256.0))) % 256
        body += struct.pack(">HHBB", (0b01 << 14) | (int(x) & 0x3FFF), int(y) & 0x3FFF, angle, 60)
    header = _NBIS_HEADER.pack(b"FMR\x00", b" 20\x00", _NBIS_HEADER.size + len(body), 0,
                               int(pts[:, 0].max(initial=0)) + 1, int(pts[:, 1].max(initial=0)) + 1, 0, 0, 0, 0)
    return _extractor().load_iso_19794_2_2005(bytes(header + body))


@dataclass(frozen=True)
class Candidate:
    subject_id: str
    encounter_id: str
    #: fused bozorth3 score (sum over the compared fingers)
    score: int
    #: ISO position -> bozorth3 score of each compared finger
    fingers: dict[int, int]

    def to_dict(self) -> dict[str, Any]:
        return {"subjectId": self.subject_id, "encounterId": self.encounter_id, "score": self.score,
                "scores": [{"position": p, "score": s} for p, s in sorted(self.fingers.items())]}


class _Matrix:
    """Growable (rows, DIM) float32 matrix of one position's centred unit vectors."""

    def __init__(self) -> None:
        self.raw = np.zeros((0, DIM), dtype=np.float16)
        self.present = np.zeros(0, dtype=bool)
        self.centred = np.zeros((0, DIM), dtype=np.float32)
        self.mean = np.zeros(DIM, dtype=np.float32)
        self.mean_rows = 0

    def ensure(self, rows: int) -> None:
        if rows <= len(self.raw):
            return
        cap = max(rows, 2 * len(self.raw), 1024)
        for name, fill in (("raw", np.zeros((cap, DIM), np.float16)), ("present", np.zeros(cap, bool)),
                           ("centred", np.zeros((cap, DIM), np.float32))):
            old = getattr(self, name)
            fill[:len(old)] = old
            setattr(self, name, fill)

    def centre(self, v: np.ndarray) -> np.ndarray:
        c = v.astype(np.float32) - self.mean
        norm = np.linalg.norm(c, axis=-1, keepdims=True)
        return np.divide(c, norm, out=np.zeros_like(c), where=norm > 0)

    def refresh_mean(self, rows: int) -> None:
        n = int(self.present[:rows].sum())
        if n == 0:
            return
        self.mean = self.raw[:rows][self.present[:rows]].astype(np.float32).mean(axis=0)
        self.mean_rows = n
        self.centred[:rows] = self.centre(self.raw[:rows]) * self.present[:rows, None]


class FingerIndex:
    """The gallery of one ABIS: durable in SQLite, searched in memory."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(self.dir / "abis.db", isolation_level=None, timeout=30.0,
                                    check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        migrate(self.conn, "abis", ABIS_MIGRATIONS)
        self.m = {p: _Matrix() for p in POSITIONS}
        self.subjects: list[tuple[str, str]] = []
        self.alive = np.zeros(0, dtype=bool)
        self.rows = 0
        self._load()

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    # -- loading and writing -----------------------------------------------------------------
    def _load(self) -> None:
        subs = self.conn.execute("SELECT row, subject_id, encounter_id, deleted FROM subjects ORDER BY row").fetchall()
        self.rows = (subs[-1][0] + 1) if subs else 0
        self.subjects = [("", "")] * self.rows
        self.alive = np.zeros(max(self.rows, 1024), dtype=bool)
        for row, sid, eid, deleted in subs:
            self.subjects[row] = (sid, eid)
            self.alive[row] = not deleted
        for m in self.m.values():
            m.ensure(self.rows)
        for row, pos, vec in self.conn.execute("SELECT row, position, vector FROM fingers"):
            m = self.m[pos]
            m.raw[row] = np.frombuffer(vec, dtype=np.float16)
            m.present[row] = True
        for m in self.m.values():
            m.refresh_mean(self.rows)

    def __len__(self) -> int:
        return int(self.alive[:self.rows].sum())

    def row_of(self, subject_id: str) -> int | None:
        r = self.conn.execute("SELECT row FROM subjects WHERE subject_id=?", (subject_id,)).fetchone()
        return None if r is None else int(r[0])

    def insert_many(self, items: Iterable[tuple[str, str, Mapping[int, bytes]]], *, gallery: str = "main",
                    vectors: Iterable[Mapping[int, np.ndarray]] | None = None) -> int:
        """Insert subjects (subject_id, encounter_id, ISO position -> ISO/IEC 19794-2 record) in
        one transaction; a subject already here is left as it is (idempotent). ``vectors`` may
        give each finger's coarse vector already computed (bulk loads). Returns how many were new."""
        items = list(items)
        given = list(vectors) if vectors is not None else None
        new = 0
        with self.lock:
            plan = []
            for k, (sid, eid, fingers) in enumerate(items):
                if self.row_of(sid) is not None or any(sid == p[0] for p in plan):
                    continue
                plan.append((sid, eid, dict(fingers), given[k] if given is not None else None))
            if not plan:
                return 0
            flat = [(i, p) for i, (_, _, f, _) in enumerate(plan) for p in sorted(f)]
            if given is not None:
                vecs = np.array([plan[i][3][p] for i, p in flat], dtype=np.float32).reshape(-1, DIM)
            else:
                vecs = finger_vectors([template_points(plan[i][2][p]) for i, p in flat])
            first = self.rows
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                now = now_iso()
                self.conn.executemany(
                    "INSERT INTO subjects(row, subject_id, encounter_id, gallery, inserted_at) VALUES (?,?,?,?,?)",
                    [(first + i, sid, eid, gallery, now) for i, (sid, eid, _, _) in enumerate(plan)])
                self.conn.executemany(
                    "INSERT INTO fingers(row, position, vector, template) VALUES (?,?,?,?)",
                    [(first + i, p, vecs[k].astype(np.float16).tobytes(), plan[i][2][p])
                     for k, (i, p) in enumerate(flat)])
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            # memory follows only what is committed
            self.rows = first + len(plan)
            if len(self.alive) < self.rows:
                grown = np.zeros(max(self.rows, 2 * len(self.alive)), dtype=bool)
                grown[:len(self.alive)] = self.alive
                self.alive = grown
            self.alive[first:self.rows] = True
            self.subjects.extend((sid, eid) for sid, eid, _, _ in plan)
            for m in self.m.values():
                m.ensure(self.rows)
            for k, (i, p) in enumerate(flat):
                m = self.m[p]
                m.raw[first + i] = vecs[k].astype(np.float16)
                m.present[first + i] = True
                m.centred[first + i] = m.centre(m.raw[first + i])
            for m in self.m.values():
                n = int(m.present[:self.rows].sum())
                if n and (m.mean_rows == 0 or n > m.mean_rows * (1 + MEAN_REFRESH)):
                    m.refresh_mean(self.rows)
            new = len(plan)
        return new

    def delete(self, subject_id: str) -> bool:
        with self.lock:
            row = self.row_of(subject_id)
            if row is None:
                return False
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute("UPDATE subjects SET deleted=1 WHERE row=?", (row,))
            self.conn.execute("COMMIT")
            self.alive[row] = False
            return True

    def template(self, row: int, position: int) -> bytes | None:
        r = self.conn.execute("SELECT template FROM fingers WHERE row=? AND position=?", (row, position)).fetchone()
        return None if r is None else bytes(r[0])

    # -- search ------------------------------------------------------------------------------
    def coarse(self, probe_points: Mapping[int, np.ndarray]) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """Fused and per-position coarse similarities of every gallery row."""
        positions = [p for p in sorted(probe_points) if p in self.m]
        vecs = finger_vectors([probe_points[p] for p in positions])
        fused = np.zeros(self.rows, dtype=np.float32)
        per: dict[int, np.ndarray] = {}
        for p, v in zip(positions, vecs):
            m = self.m[p]
            s = m.centred[:self.rows] @ m.centre(v)
            per[p] = s
            fused += s
        return fused, per

    def search(self, probe: Mapping[int, bytes], *, max_candidates: int = 10, threshold: int = 0,
               exclude: Iterable[str] = (), shortlist: int | None = None,
               probe_points: Mapping[int, np.ndarray] | None = None) -> list[Candidate]:
        """Identify: the subjects whose fused bozorth3 score reaches ``threshold``, best first."""
        with self.lock:
            if self.rows == 0 or not probe:
                return []
            pts = dict(probe_points) if probe_points is not None else {p: template_points(t) for p, t in probe.items()}
            fused, per = self.coarse(pts)
            fused[~self.alive[:self.rows]] = -np.inf
            for sid in exclude:
                row = self.row_of(sid)
                if row is not None:
                    fused[row] = -np.inf
            k = min(self.rows, max(shortlist or COARSE_SHORTLIST, max_candidates))
            top = np.argpartition(-fused, k - 1)[:k] if k < self.rows else np.arange(self.rows)
            top = [int(r) for r in top[np.argsort(-fused[top])] if np.isfinite(fused[r])]
            probe_min = {p: nbis_minutiae(v) for p, v in pts.items()}
            out = []
            for row in top:
                ranked = sorted((p for p in per if self.m[p].present[row]), key=lambda p: -per[p][row])
                scores = {}
                for p in ranked[:VERIFY_FINGERS]:
                    t = self.template(row, p)
                    if t is not None:
                        scores[p] = int(probe_min[p].compare(load_template(t)))
                total = sum(scores.values())
                if scores and total >= threshold:
                    sid, eid = self.subjects[row]
                    out.append(Candidate(sid, eid, total, scores))
            out.sort(key=lambda c: -c.score)
            return out[:max_candidates]
