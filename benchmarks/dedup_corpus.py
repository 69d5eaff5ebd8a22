"""Minutiae corpora for the ``dedup_1n`` bench.

*Real* corpus (accuracy): fingers from the synthetic generator (device_mocks/fingerprints.py,
SFinGe-style masters and impressions at 500 ppi) run through NIST mindtct (nbis-py), each
impression's minutiae kept as an ISO/IEC 19794-2:2005 record. Building it costs about 0.1 s
of mindtct per image, so it is cached in ``var/bench-cache/`` (keyed by its parameters) and
built once: ``python -m benchmarks.dedup_corpus`` builds the default corpus.

*Filler* corpus (speed): a gallery of 100,000 residents x 10 fingers cannot be grown through
images here (about 30 CPU hours), so the gallery filler is made of minutiae sets drawn
directly: per finger a Poisson-like count (mean 55) of points with positions spread over a
fingertip-sized ellipse and directions following a smooth orientation field plus noise, the
same shape of data mindtct returns. They are used only to make the search as slow as a
real gallery of that size; no accuracy figure is taken from them.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "var" / "bench-cache"
#: the two index fingers (ISO positions 2 and 7): what the e-KTP chip holds
REAL_FINGERS = (2, 7)


def real_corpus_path(identities: int, impressions: int, seed: int) -> Path:
    fingers = "-".join(str(p) for p in REAL_FINGERS)
    return CACHE / f"dedup-real-{identities}x{fingers}x{impressions}-s{seed}.sqlite"


def build_real(identities: int = 2000, impressions: int = 2, seed: int = 1401, *,
               progress: bool = False, part: tuple[int, int] | None = None) -> Path:
    """Make (or finish: it resumes) the cached real corpus; returns its path."""
    sys.path.insert(0, str(ROOT))
    from device_mocks.fingerprints import FingerprintGenerator, finger_id
    from kiosk.capture.finger import FingerprintEngine

    path = real_corpus_path(identities, impressions, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=120.0)
    conn.execute("CREATE TABLE IF NOT EXISTS t (ident INTEGER, position INTEGER, impression INTEGER,"
                 " iso BLOB NOT NULL, PRIMARY KEY (ident, position, impression))")
    done = {r[0] for r in conn.execute("SELECT ident FROM t GROUP BY ident HAVING COUNT(*)=?",
                                       (len(REAL_FINGERS) * impressions,))}
    gen = FingerprintGenerator(seed=seed, cache_size=4)
    engine = FingerprintEngine()
    t0 = time.time()
    # ``part``: only identities start..stop-1, so several processes can fill one corpus
    for ident in range(*(part or (0, identities))):
        if ident in done:
            continue
        rows = []
        for pos in REAL_FINGERS:
            fid = finger_id(ident + 1, pos)
            for imp in range(impressions):
                m = engine.minutiae(gen.impression(fid, imp))
                rows.append((ident, pos, imp, m.to_iso_19794_2_2005()))
        with conn:
            conn.executemany("INSERT OR REPLACE INTO t VALUES (?,?,?,?)", rows)
        if progress and ident % 50 == 0:
            print(f"{ident}/{identities} identities, {time.time() - t0:.0f} s", flush=True)
    conn.close()
    return path


#: the coarse-stage model is trained on these fingers: another generator seed than the
#: accuracy corpus's, so no trained parameter has seen a searched identity
TRAIN_SEED = 2718


def training_corpus_path(persons: int, seed: int = TRAIN_SEED) -> Path:
    return CACHE / f"dedup-train-{persons}x10-s{seed}.sqlite"


def build_training(persons: int = 150, seed: int = TRAIN_SEED, *, progress: bool = False,
                   part: tuple[int, int] | None = None) -> Path:
    """First impressions of all ten fingers of ``persons`` generator persons (seed ``seed``),
    mindtct minutiae as ISO/IEC 19794-2 records; cached and resumable like :func:`build_real`."""
    sys.path.insert(0, str(ROOT))
    from device_mocks.fingerprints import FingerprintGenerator, finger_id
    from kiosk.capture.finger import FingerprintEngine

    path = training_corpus_path(persons, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=120.0)
    conn.execute("CREATE TABLE IF NOT EXISTS t (ident INTEGER, position INTEGER, iso BLOB NOT NULL,"
                 " PRIMARY KEY (ident, position))")
    done = {r[0] for r in conn.execute("SELECT ident FROM t GROUP BY ident HAVING COUNT(*)=10")}
    gen = FingerprintGenerator(seed=seed, cache_size=4)
    engine = FingerprintEngine()
    t0 = time.time()
    for person in range(*(part or (0, persons))):
        if person in done:
            continue
        rows = [(person, pos, engine.minutiae(gen.impression(finger_id(person + 1, pos), 0)).to_iso_19794_2_2005())
                for pos in range(1, 11)]
        with conn:
            conn.executemany("INSERT OR REPLACE INTO t VALUES (?,?,?)", rows)
        if progress and person % 10 == 0:
            print(f"training: {person}/{persons} persons, {time.time() - t0:.0f} s", flush=True)
    conn.close()
    return path


def load_training(persons: int = 150, seed: int = TRAIN_SEED) -> list[bytes]:
    path = build_training(persons, seed)
    conn = sqlite3.connect(path, timeout=120.0)
    try:
        return [bytes(b) for (b,) in conn.execute("SELECT iso FROM t ORDER BY ident, position")]
    finally:
        conn.close()


def train_shipped_model(persons: int = 150, seed: int = TRAIN_SEED) -> None:
    """Train the coarse stage's model on the training corpus and write it beside the ABIS code
    (kiosk/central/abis/coarse_model.npz); deterministic for a given corpus."""
    sys.path.insert(0, str(ROOT))
    from kiosk.central.abis.features import MODEL_FILE, train_model
    from kiosk.central.abis.index import template_points

    model = train_model([template_points(iso) for iso in load_training(persons, seed)])
    model.save(MODEL_FILE)
    print(f"model {model.model_id} -> {MODEL_FILE}", flush=True)


def load_real(identities: int = 2000, impressions: int = 2, seed: int = 1401, *,
              build: bool = True) -> dict[tuple[int, int, int], bytes]:
    """The corpus (built first unless ``build`` is False: then whatever is cached so far)."""
    path = build_real(identities, impressions, seed) if build else real_corpus_path(identities, impressions, seed)
    conn = sqlite3.connect(path, timeout=120.0)
    try:
        return {(i, p, m): bytes(b) for i, p, m, b in conn.execute("SELECT ident, position, impression, iso FROM t")}
    finally:
        conn.close()


def filler_minutiae(rng: np.random.Generator, count: int) -> list[np.ndarray]:
    """``count`` synthetic minutiae sets, each an (n, 3) float32 array of x, y, angle (deg)."""
    out = []
    for _ in range(count):
        n = int(np.clip(rng.poisson(55), 20, 110))
        cx, cy = rng.uniform(110, 150), rng.uniform(125, 165)
        r = np.sqrt(rng.uniform(0, 1, n))
        phi = rng.uniform(0, 2 * np.pi, n)
        x = cx + r * np.cos(phi) * rng.uniform(95, 120)
        y = cy + r * np.sin(phi) * rng.uniform(115, 140)
        # a smooth field: one loop-like core, directions bending around it
        core = np.array([cx + rng.uniform(-30, 30), cy + rng.uniform(-40, 10)])
        field = np.degrees(0.5 * np.arctan2(y - core[1], x - core[0])) + rng.uniform(0, 180)
        flip = rng.integers(0, 2, n) * 180.0
        angle = np.mod(field + flip + rng.normal(0, 12, n), 360.0)
        out.append(np.stack([x, y, angle], axis=1).astype(np.float32))
    return out


def filler_gallery_path(residents: int, seed: int) -> Path:
    from kiosk.central.abis.features import shipped_model

    # the vectors depend on the coarse model: a new model means a new gallery
    return CACHE / f"dedup-gallery-{residents}-s{seed}-{shipped_model().model_id}"


def build_filler_gallery(residents: int = 100_000, seed: int = 1402, base: int = 2_000, *,
                         progress: bool = False) -> Path:
    """A gallery of ``residents`` x 10 filler fingers in the ABIS index format.

    ``base`` fingers per position are drawn (minutiae -> ISO record + coarse vector); the
    residents reuse them position by position in shuffled combinations, so every resident is
    a distinct ten-print (2,000^10 combinations) while the vector maths per finger stays real.
    This keeps the one-off build to minutes on a shared 2-core machine; search time depends
    on the gallery's size, not on where its fingers came from."""
    sys.path.insert(0, str(ROOT))
    from kiosk.capture.iso19794_2 import MinutiaPoint, encode_iso_19794_2
    from kiosk.central.abis.features import finger_vectors
    from kiosk.central.abis.index import FingerIndex

    path = filler_gallery_path(residents, seed)
    done = path / "complete"
    if done.exists():
        return path
    rng = np.random.default_rng(seed)
    t0 = time.time()
    isos: dict[int, list[bytes]] = {p: [] for p in range(1, 11)}
    vecs: dict[int, np.ndarray] = {}
    for pos in range(1, 11):
        sets = filler_minutiae(rng, base)
        vecs[pos] = finger_vectors(sets)
        for s in sets:
            mp = [MinutiaPoint(int(x), int(y), float(a), "ending", 60) for x, y, a in s]
            isos[pos].append(encode_iso_19794_2(mp, width=256, height=288, position=pos, quality=60))
        if progress:
            print(f"position {pos}: {base} filler fingers, {time.time() - t0:.0f} s", flush=True)
    perms = {p: np.concatenate([rng.permutation(base) for _ in range(residents // base + 1)])
             for p in range(1, 11)}
    index = FingerIndex(path)
    try:
        chunk = 5000
        for first in range(len(index), residents, chunk):
            rows = range(first, min(first + chunk, residents))
            items = [(f"filler-{r}", "1", {p: isos[p][perms[p][r]] for p in range(1, 11)}) for r in rows]
            vv = [{p: vecs[p][perms[p][r]] for p in range(1, 11)} for r in rows]
            index.insert_many(items, vectors=vv, gallery="filler")
            if progress:
                print(f"{rows[-1] + 1}/{residents} residents, {time.time() - t0:.0f} s", flush=True)
    finally:
        index.close()
    done.touch()
    return path

if __name__ == "__main__":
    if sys.argv[1:] == ["gallery"]:
        build_filler_gallery(progress=True)
    elif sys.argv[1:] == ["model"]:
        train_shipped_model()
    elif sys.argv[1:2] == ["train"]:
        build_training(progress=True, part=(int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else None)
    elif sys.argv[1:2] == ["part"]:
        build_real(progress=True, part=(int(sys.argv[2]), int(sys.argv[3])))
    else:
        build_real(progress=True)
