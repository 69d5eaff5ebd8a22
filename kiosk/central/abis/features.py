"""A fixed-length vector per finger from its minutiae, for the coarse stage of a 1:N search.

Each pair of minutiae (i, j) closer than ``D_MAX`` pixels is described by three numbers
that do not change when the finger is moved or turned on the glass: their distance, and the
direction of each minutia measured against the line from i to j. The finger's vector is the
soft (linearly interpolated) 3-D histogram of those triples over all its pairs, square-rooted
and scaled to unit length (Hellinger mapping), so the dot product of two vectors is a cosine
similarity. The gallery's mean vector is subtracted before the cosine is taken (see
:mod:`kiosk.central.abis.index`): every finger has many parallel-ridge pairs, and without
centring that shared part dominates the similarity. This is the minutiae-pair indexing idea of Germain, Califano and
Colville ("Fingerprint matching using transformation parameter clustering", IEEE CSE 1997)
reduced to one histogram per finger; it is cheap (one matrix-vector product per probe finger
over the whole gallery) and only has to put the true mate among the few best candidates:
bozorth3 decides after it.
"""

from __future__ import annotations

import numpy as np

#: pairs closer than this carry little (too sensitive to one minutia's position), farther
#: ones are often cut by partial contact and skin distortion
D_MIN, D_MAX = 10.0, 80.0
D_BINS = 5
A_BINS = 8
DIM = D_BINS * A_BINS * A_BINS


def finger_vector(points: np.ndarray) -> np.ndarray:
    """``points``: (n, 3) array of x, y (pixels at 500 ppi) and direction (degrees). Returns a
    unit float32 vector of length :data:`DIM` (all zeros when fewer than 3 minutiae)."""
    return finger_vectors([points])[0]


def finger_vectors(point_sets: list[np.ndarray], batch: int = 256) -> np.ndarray:
    """:func:`finger_vector` of many fingers at once, as a (len, DIM) float32 matrix.

    Fingers are sorted by minutiae count and padded per batch, so one batch is a few array
    operations over (batch, n, n) pair grids instead of a Python loop per finger."""
    sets = [np.asarray(p, dtype=np.float32).reshape(-1, 3) for p in point_sets]
    out = np.zeros((len(sets), DIM), dtype=np.float32)
    order = np.argsort([len(p) for p in sets], kind="stable")
    for start in range(0, len(order), batch):
        idx = order[start:start + batch]
        n = max(len(sets[k]) for k in idx)
        if n < 3:
            continue
        pts = np.full((len(idx), n, 3), np.nan, dtype=np.float32)
        for row, k in enumerate(idx):
            pts[row, :len(sets[k])] = sets[k]
        out[idx] = _histograms(pts)
    return out


def _histograms(pts: np.ndarray) -> np.ndarray:
    """Pair histograms of a padded (b, n, 3) batch (padding is NaN, and drops out of every
    comparison)."""
    b = pts.shape[0]
    x, y, th = pts[..., 0], pts[..., 1], np.radians(pts[..., 2])
    dx = x[:, None, :] - x[:, :, None]
    dy = y[:, None, :] - y[:, :, None]
    d = np.hypot(dx, dy)
    with np.errstate(invalid="ignore"):
        f, i, j = np.nonzero((d > D_MIN) & (d < D_MAX))
    hist = np.zeros(b * DIM, dtype=np.float64)
    if f.size:
        phi = np.arctan2(dy[f, i, j], dx[f, i, j])
        two_pi = 2 * np.pi
        ai = np.mod(th[f, i] - phi, two_pi) / two_pi * A_BINS - 0.5
        aj = np.mod(th[f, j] - phi, two_pi) / two_pi * A_BINS - 0.5
        db = (d[f, i, j] - D_MIN) / (D_MAX - D_MIN) * D_BINS - 0.5
        # soft binning: each pair spreads over the 2 x 2 x 2 nearest cells (angles wrap
        # around, distance is clamped at both ends)
        d0, a0, b0 = np.floor(db), np.floor(ai), np.floor(aj)
        fd, fa, fb = db - d0, ai - a0, aj - b0
        base = f.astype(np.int64) * DIM
        for sd, wd in ((0, 1 - fd), (1, fd)):
            dd = np.clip(d0 + sd, 0, D_BINS - 1).astype(np.int64)
            for sa, wa in ((0, 1 - fa), (1, fa)):
                aa = np.mod(a0 + sa, A_BINS).astype(np.int64)
                for sb, wb in ((0, 1 - fb), (1, fb)):
                    bb = np.mod(b0 + sb, A_BINS).astype(np.int64)
                    hist += np.bincount(base + (dd * A_BINS + aa) * A_BINS + bb, weights=wd * wa * wb,
                                        minlength=b * DIM)
    hist = np.sqrt(hist.reshape(b, DIM))
    norm = np.linalg.norm(hist, axis=1, keepdims=True)
    return np.divide(hist, norm, out=np.zeros_like(hist), where=norm > 0).astype(np.float32)
