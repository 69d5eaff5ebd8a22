"""Local minutia descriptors: what each minutia's neighbourhood looks like from the minutia itself.

After the Minutia Cylinder-Code of Cappelli, Ferrara and Maltoni ("Minutia Cylinder-Code: a new
representation and matching technique for fingerprint recognition", IEEE TPAMI 32(12), 2010):
every minutia is the centre and the reference direction of a small cylinder; its neighbours
(within :data:`RADIUS` pixels) add Gaussian-weighted contributions to a grid of
:data:`SPATIAL` x :data:`SPATIAL` cells laid in the minutia's own frame, split into
:data:`DIRECTIONS` bins of their direction relative to the centre's. The cylinder therefore
does not change when the finger is moved or turned on the glass, and a lost or spurious
neighbour changes only a few cells. Unlike MCC we keep the cells real-valued (no bit vector)
and use coarser cells: the descriptors feed an aggregated per-finger vector
(:mod:`kiosk.central.abis.features`), not a minutia-to-minutia matcher (bozorth3 is that).
"""

from __future__ import annotations

import numpy as np

#: neighbourhood radius in pixels at 500 ppi (about 7 ridges): wider ones are bent by skin distortion
RADIUS = 70.0
SPATIAL = 5
DIRECTIONS = 4
DESCRIPTOR_DIM = SPATIAL * SPATIAL * DIRECTIONS
_CELL_CENTRES = ((np.arange(SPATIAL) + 0.5) / SPATIAL * 2 - 1).astype(np.float32) * RADIUS
_SIGMA = RADIUS / SPATIAL
_DIR_CENTRES = ((np.arange(DIRECTIONS) + 0.5) / DIRECTIONS * 2 * np.pi).astype(np.float32)


def minutia_descriptors(points: np.ndarray) -> np.ndarray:
    """``points``: (n, 3) x, y (pixels) and direction (degrees). Returns (n, DESCRIPTOR_DIM)
    float32, each row square-rooted and of unit length, or all zeros for a minutia without a
    neighbour within the radius."""
    p = np.asarray(points, dtype=np.float32).reshape(-1, 3)
    n = len(p)
    if n == 0:
        return np.zeros((0, DESCRIPTOR_DIM), dtype=np.float32)
    # ISO/IEC 19794-2 angles turn counter-clockwise as seen on the image, whose y axis points
    # down: in image coordinates the direction is (cos a, -sin a). Turning the finger by phi in
    # image coordinates takes phi *off* the recorded angle (bozorth3 agrees, see the tests).
    x, y, t = p[:, 0], p[:, 1], -np.radians(p[:, 2])
    dx = x[None, :] - x[:, None]
    dy = y[None, :] - y[:, None]
    c, s = np.cos(t)[:, None], np.sin(t)[:, None]
    # neighbour j in the frame of minutia i: u along i's direction, v across it
    u = c * dx + s * dy
    v = -s * dx + c * dy
    rel = np.mod(t[None, :] - t[:, None], 2 * np.pi)
    near = (np.hypot(dx, dy) < 1.2 * RADIUS) & ~np.eye(n, dtype=bool)
    wu = np.exp(-0.5 * ((u[..., None] - _CELL_CENTRES) / _SIGMA) ** 2) * near[..., None]
    wv = np.exp(-0.5 * ((v[..., None] - _CELL_CENTRES) / _SIGMA) ** 2)
    wd = np.maximum(0.0, np.cos(rel[..., None] - _DIR_CENTRES)) ** 2
    cells = (wu[..., :, None] * wv[..., None, :]).reshape(n, n, SPATIAL * SPATIAL)
    d = np.matmul(cells.transpose(0, 2, 1), wd).reshape(n, DESCRIPTOR_DIM)  # sum over neighbours j
    d = np.sqrt(np.maximum(d, 0.0))
    norm = np.linalg.norm(d, axis=1, keepdims=True)
    return np.divide(d, norm, out=np.zeros_like(d), where=norm > 0).astype(np.float32)
