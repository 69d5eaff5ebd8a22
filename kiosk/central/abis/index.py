"""The gallery: a durable, incremental finger index with a two-stage 1:N search.

Storage (``<dir>/abis.db``, SQLite, one transaction per insert or delete): one row per
subject (encounter), and per captured finger its coarse vector (float16,
:mod:`kiosk.central.abis.features`) and its ISO/IEC 19794-2 minutiae record; the ``meta``
table names the coarse model the vectors were made with. The vectors are held in memory in
one matrix (:mod:`kiosk.central.abis.matrix`, reloaded at start from its append-only copy);
inserts append to it, deletes mask a row, so nothing is rebuilt. A gallery made with another
model (or with the earlier pair-histogram vectors) is re-vectorised from its stored minutiae
once, when it is opened.

Search: every probe finger is compared with the same position of every subject by one
matrix-vector product (cosine), each finger's similarities are standardised over the gallery
(z-scores, so a distinctive finger counts more than a common one) and summed over the
probe's fingers (score fusion, stage 1). The best subjects, as many as a fixed budget of
bozorth3 comparisons allows, go to NIST bozorth3 (stage 2) on their most similar fingers, two
threads at a time (nbis releases the GIL); the bozorth3 scores of those fingers are summed
into the candidate's score.
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.central.abis.features import DIM, finger_vectors, shipped_model
from kiosk.central.abis.matrix import POSITIONS, CoarseMatrix
from kiosk.central.abis.templates import AbisError, load_template, nbis_minutiae, template_points
from kiosk.store.schema import migrate

__all__ = ["AbisError", "Candidate", "FingerIndex", "POSITIONS", "load_template", "nbis_minutiae",
           "template_points"]

#: bozorth3 comparisons one search may spend (about 2.5 ms each on an idle core here): the
#: shortlist is as many subjects as this budget allows at VERIFY_FINGERS fingers each
BOZORTH3_BUDGET = 24
#: fingers per candidate compared with bozorth3 (the most similar ones by the coarse stage)
VERIFY_FINGERS = 3
#: threads comparing with bozorth3 (the machine's two cores)
VERIFY_THREADS = 2

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
    # the coarse model the stored vectors were made with, and this database's identity (the
    # in-memory matrix's file copy is named after both)
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
]


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


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
        self.model = shipped_model()
        self.subjects: list[tuple[str, str]] = []
        self.alive = np.zeros(0, dtype=bool)
        self.rows = 0
        self._pool = ThreadPoolExecutor(VERIFY_THREADS, thread_name_prefix="bozorth3")
        self._load()

    def close(self) -> None:
        with self.lock:
            self._pool.shutdown(wait=True)
            self.conn.close()

    # -- loading and writing -----------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        r = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if r is None else str(r[0])

    def _load(self) -> None:
        subs = self.conn.execute("SELECT row, subject_id, encounter_id, deleted FROM subjects ORDER BY row").fetchall()
        self.rows = (subs[-1][0] + 1) if subs else 0
        self.subjects = [("", "")] * self.rows
        self.alive = np.zeros(max(self.rows, 1024), dtype=bool)
        for row, sid, eid, deleted in subs:
            self.subjects[row] = (sid, eid)
            self.alive[row] = not deleted
        if self._meta("model") != self.model.model_id:
            self._revectorise()
        instance = self._meta("instance")
        self.matrix = CoarseMatrix(self.dir / f"coarse-{instance}-{self.model.model_id}.f32")
        self.matrix.load(self.rows, self._read_vectors)

    def _revectorise(self) -> None:
        """Vectors of another model (or none yet): recompute every finger's from its minutiae,
        in one transaction, and start a new file copy (a new instance id)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            rows = self.conn.execute("SELECT row, position, template FROM fingers ORDER BY row, position").fetchall()
            for start in range(0, len(rows), 2048):
                part = rows[start:start + 2048]
                vecs = finger_vectors([_points_or_none(t) for _, _, t in part], self.model)
                self.conn.executemany("UPDATE fingers SET vector=? WHERE row=? AND position=?",
                                      [(v.astype(np.float16).tobytes(), r, p) for (r, p, _), v in zip(part, vecs)])
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('model', ?)", (self.model.model_id,))
            self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('instance', ?)", (uuid.uuid4().hex[:12],))
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        for stale in self.dir.glob("coarse-*.f32"):
            stale.unlink()

    def _read_vectors(self, first_row: int) -> Iterable[tuple[int, int, np.ndarray]]:
        for row, pos, vec in self.conn.execute("SELECT row, position, vector FROM fingers WHERE row>=?",
                                               (first_row,)):
            yield int(row), int(pos), np.frombuffer(vec, dtype=np.float16).astype(np.float32)

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
        with self.lock:
            plan = []
            for k, (sid, eid, fingers) in enumerate(items):
                if self.row_of(sid) is not None or any(sid == p[0] for p in plan):
                    continue
                plan.append((sid, eid, {p: t for p, t in fingers.items() if p in POSITIONS},
                             given[k] if given is not None else None))
            if not plan:
                return 0
            flat = [(i, p) for i, (_, _, f, _) in enumerate(plan) for p in sorted(f)]
            if given is not None:
                vecs = np.array([plan[i][3][p] for i, p in flat], dtype=np.float32).reshape(-1, DIM)
            else:
                vecs = finger_vectors([template_points(plan[i][2][p]) for i, p in flat], self.model)
            vecs = vecs.astype(np.float16)  # what the database keeps, so memory and disk agree
            first = self.rows
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                now = now_iso()
                self.conn.executemany(
                    "INSERT INTO subjects(row, subject_id, encounter_id, gallery, inserted_at) VALUES (?,?,?,?,?)",
                    [(first + i, sid, eid, gallery, now) for i, (sid, eid, _, _) in enumerate(plan)])
                self.conn.executemany(
                    "INSERT INTO fingers(row, position, vector, template) VALUES (?,?,?,?)",
                    [(first + i, p, vecs[k].tobytes(), plan[i][2][p]) for k, (i, p) in enumerate(flat)])
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            # memory follows only what is committed
            block = np.zeros((len(plan), len(POSITIONS), DIM), dtype=np.float32)
            for k, (i, p) in enumerate(flat):
                block[i, p - 1] = vecs[k]
            self.matrix.append(block)
            self.rows = first + len(plan)
            if len(self.alive) < self.rows:
                grown = np.zeros(max(self.rows, 2 * len(self.alive)), dtype=bool)
                grown[:len(self.alive)] = self.alive
                self.alive = grown
            self.alive[first:self.rows] = True
            self.subjects.extend((sid, eid) for sid, eid, _, _ in plan)
            return len(plan)

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
        """Fused and per-position coarse z-scores of every gallery row (0 where a row lacks
        the finger, or the probe's finger has no vector)."""
        positions = [p for p in sorted(probe_points) if p in POSITIONS]
        vecs = finger_vectors([probe_points[p] for p in positions], self.model)
        query = np.zeros((len(POSITIONS), DIM), dtype=np.float32)
        used = [p for p, v in zip(positions, vecs) if v.any()]
        for p, v in zip(positions, vecs):
            query[p - 1] = v
        fused = np.zeros(self.rows, dtype=np.float32)
        per: dict[int, np.ndarray] = {}
        if not used:
            return fused, per
        # one pass over the (rows, 10, DIM) matrix for all the probe's fingers: measured 3-4x
        # faster here than one BLAS matrix-vector product per position on the strided slices
        sims = np.einsum("rpd,pd->rp", self.matrix.vectors[:self.rows], query)
        alive = self.alive[:self.rows]
        for p in used:
            s = sims[:, p - 1]
            present = self.matrix.present[:self.rows, p - 1]
            live = present & alive
            if live.sum() < 2:
                z = np.where(present, s, 0.0).astype(np.float32)
            else:
                mu, sd = float(s[live].mean()), float(s[live].std())
                z = np.where(present, (s - mu) / max(sd, 1e-6), 0.0).astype(np.float32)
            per[p] = z
            fused += z
        return fused, per

    def shortlist_size(self, probe_fingers: int, max_candidates: int) -> int:
        """Subjects the bozorth3 budget pays for at this probe's number of fingers."""
        verify = max(1, min(VERIFY_FINGERS, probe_fingers))
        return max(max_candidates, math.ceil(BOZORTH3_BUDGET / verify))

    def search(self, probe: Mapping[int, bytes], *, max_candidates: int = 10, threshold: int = 0,
               exclude: Iterable[str] = (), shortlist: int | None = None,
               probe_points: Mapping[int, np.ndarray] | None = None) -> list[Candidate]:
        """Identify: the subjects whose fused bozorth3 score reaches ``threshold``, best first."""
        with self.lock:
            if self.rows == 0 or not probe:
                return []
            pts = dict(probe_points) if probe_points is not None else {p: template_points(t) for p, t in probe.items()}
            fused, per = self.coarse(pts)
            if not per:
                return []
            live = self.alive[:self.rows].copy()
            for sid in exclude:
                row = self.row_of(sid)
                if row is not None:
                    live[row] = False
            fused[~live] = -np.inf
            k = min(self.rows, shortlist or self.shortlist_size(len(per), max_candidates))
            top = np.argpartition(-fused, k - 1)[:k] if k < self.rows else np.arange(self.rows)
            top = [int(r) for r in top[np.argsort(-fused[top])] if np.isfinite(fused[r])]
            verify = max(1, min(VERIFY_FINGERS, len(per)))
            pairs = []
            for row in top:
                has = [p for p in per if self.matrix.present[row, p - 1]]
                pairs += [(row, p) for p in sorted(has, key=lambda p: -per[p][row])[:verify]]
            templates = self._templates(pairs)
            probe_min = {p: nbis_minutiae(pts[p]) for p in per}

            def compare(pair: tuple[int, int]) -> int:
                return int(probe_min[pair[1]].compare(load_template(templates[pair])))

            scores_of: dict[int, dict[int, int]] = {}
            for pair, score in zip(pairs, self._pool.map(compare, pairs)):
                scores_of.setdefault(pair[0], {})[pair[1]] = score
            out = []
            for row, scores in scores_of.items():
                total = sum(scores.values())
                if total >= threshold:
                    sid, eid = self.subjects[row]
                    out.append(Candidate(sid, eid, total, scores))
            out.sort(key=lambda c: -c.score)
            return out[:max_candidates]

    def _templates(self, pairs: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        wanted = set(pairs)
        rows = sorted({r for r, _ in pairs})
        out: dict[tuple[int, int], bytes] = {}
        for start in range(0, len(rows), 500):
            part = rows[start:start + 500]
            q = f"SELECT row, position, template FROM fingers WHERE row IN ({','.join('?' * len(part))})"
            for row, pos, t in self.conn.execute(q, part):
                if (row, pos) in wanted:
                    out[(row, pos)] = bytes(t)
        return out


def _points_or_none(template: bytes) -> np.ndarray:
    try:
        return template_points(template)
    except AbisError:
        return np.zeros((0, 3), dtype=np.float32)
