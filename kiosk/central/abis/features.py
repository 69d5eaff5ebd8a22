"""A fixed-length vector per finger from its minutiae, for the coarse stage of a 1:N search.

Each minutia's neighbourhood is described by a cylinder (:mod:`kiosk.central.abis.cylinders`);
the finger's cylinders are aggregated into one vector the way images aggregate local
descriptors: VLAD (Jégou, Douze, Schmid, Pérez, "Aggregating local descriptors into a compact
image representation", CVPR 2010): per codeword of a small codebook, the sum of the residuals
of the cylinders softly assigned to it; then signed square root and unit length (the
"power normalisation" of Jégou et al., TPAMI 2012), then PCA with partial whitening down to
:data:`DIM` numbers and unit length again. The dot product of two vectors is a cosine
similarity: one matrix-vector product scores a probe finger against the whole gallery, and it
only has to put the true mate among the few best candidates: bozorth3 decides after it.

The codebook and the PCA are a *model* (:class:`CoarseModel`) trained once, without labels, on
fingers of the synthetic generator made with another seed than any benchmark or test corpus
(``python -m benchmarks.dedup_corpus model``); it ships as ``coarse_model.npz`` beside this module.
A gallery remembers the id of the model its vectors were made with (:mod:`kiosk.central.abis.index`
recomputes them from the stored minutiae when the model changes).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from kiosk.central.abis.cylinders import DESCRIPTOR_DIM, minutia_descriptors

MODEL_FILE = Path(__file__).with_name("coarse_model.npz")
CODEWORDS = 16
DIM = 128
#: softness of the assignment of a cylinder to codewords (squared-distance scale)
ASSIGN_SCALE = 0.05
#: whitening exponent: 0 keeps the PCA axes' variances, 1 equalises them (noise too); 0.5 between
WHITEN_POWER = 0.5
#: fingers with fewer minutiae give no vector (all zeros: they take no part in a search)
MIN_MINUTIAE = 3


@dataclass(frozen=True)
class CoarseModel:
    codebook: np.ndarray  # (CODEWORDS, DESCRIPTOR_DIM)
    mean: np.ndarray  # (CODEWORDS * DESCRIPTOR_DIM,)
    projection: np.ndarray  # (CODEWORDS * DESCRIPTOR_DIM, DIM)

    @property
    def model_id(self) -> str:
        h = hashlib.sha256()
        for a in (self.codebook, self.mean, self.projection):
            h.update(np.ascontiguousarray(a, dtype=np.float32).tobytes())
        return h.hexdigest()[:16]

    def save(self, path: Path = MODEL_FILE) -> None:
        np.savez_compressed(path, codebook=self.codebook.astype(np.float32), mean=self.mean.astype(np.float32),
                            projection=self.projection.astype(np.float32))

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> CoarseModel:
        with np.load(path) as z:
            return cls(z["codebook"], z["mean"], z["projection"])


@lru_cache(maxsize=1)
def shipped_model() -> CoarseModel:
    return CoarseModel.load(MODEL_FILE)


def vlad(descriptors: np.ndarray, codebook: np.ndarray) -> np.ndarray:
    """Power-normalised unit VLAD of one finger's cylinders (zeros when there are none)."""
    d = descriptors[np.linalg.norm(descriptors, axis=1) > 0]
    out = np.zeros(codebook.size, dtype=np.float32)
    if len(d) == 0:
        return out
    resid = d[:, None, :] - codebook[None]
    dist = (resid ** 2).sum(-1)
    w = np.exp(-(dist - dist.min(axis=1, keepdims=True)) / ASSIGN_SCALE)
    w /= w.sum(axis=1, keepdims=True)
    v = np.einsum("nk,nkd->kd", w, resid).ravel()
    v = np.sign(v) * np.sqrt(np.abs(v))
    norm = float(np.linalg.norm(v))
    return (v / norm).astype(np.float32) if norm > 0 else out


def finger_vectors(point_sets: Sequence[np.ndarray], model: CoarseModel | None = None) -> np.ndarray:
    """The coarse vector of each finger, as a (len, DIM) float32 matrix of unit rows (a zero
    row for a finger with fewer than :data:`MIN_MINUTIAE` minutiae)."""
    model = model or shipped_model()
    raw = np.zeros((len(point_sets), model.codebook.size), dtype=np.float32)
    usable = np.zeros(len(point_sets), dtype=bool)
    for k, pts in enumerate(point_sets):
        pts = np.asarray(pts, dtype=np.float32).reshape(-1, 3)
        if len(pts) >= MIN_MINUTIAE:
            raw[k] = vlad(minutia_descriptors(pts), model.codebook)
            usable[k] = bool(raw[k].any())
    out = (raw - model.mean) @ model.projection
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    out = np.divide(out, norm, out=np.zeros_like(out), where=norm > 0)
    out[~usable] = 0.0
    return out.astype(np.float32)


def finger_vector(points: np.ndarray, model: CoarseModel | None = None) -> np.ndarray:
    """:func:`finger_vectors` of one finger."""
    return finger_vectors([points], model)[0]


def train_model(point_sets: Sequence[np.ndarray], *, seed: int = 1) -> CoarseModel:
    """Learn the codebook (k-means++ on the fingers' cylinders) and the PCA (on their VLADs)."""
    from scipy.cluster.vq import kmeans2

    descs = [minutia_descriptors(p) for p in point_sets if len(np.asarray(p).reshape(-1, 3)) >= MIN_MINUTIAE]
    pool = np.concatenate(descs)
    pool = pool[np.linalg.norm(pool, axis=1) > 0].astype(np.float64)
    codebook, _ = kmeans2(pool, CODEWORDS, iter=25, minit="++", seed=seed)
    codebook = codebook.astype(np.float32)
    vl = np.array([vlad(d, codebook) for d in descs], dtype=np.float64)
    mean = vl.mean(axis=0)
    _, s, vt = np.linalg.svd(vl - mean, full_matrices=False)
    keep = min(DIM, len(s))
    projection = np.zeros((vl.shape[1], DIM))
    projection[:, :keep] = vt[:keep].T / np.maximum(s[:keep], 1e-9) ** WHITEN_POWER
    return CoarseModel(codebook, mean.astype(np.float32), projection.astype(np.float32))

