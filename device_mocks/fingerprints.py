"""Synthetic fingerprints for mocks and tests (after SFinGe, Cappelli/Maio/Maltoni).

A *master* print is grown for each finger: an orientation field from its singular points
(Sherlock-Monro model: cores and deltas; arches get a smooth bump field), then random noise
is filtered again and again with a bank of Gabor filters tuned to the local orientation and
ridge period until a ridge pattern emerges. Ridge endings and bifurcations appear where the
growth meets itself, so every master has its own minutiae. *Impressions* of a master differ
the way real touches do: elastic skin distortion, rotation, translation, partial contact,
pressure (ridge width), sensor noise and blur.

Everything is seeded: the same (seed, finger_id, impression) always gives the same pixels.

    gen = FingerprintGenerator(seed=7)
    img = gen.impression(finger_id=3, impression=0)   # uint8 288 x 256, 500 ppi, ridges dark

``finger_id`` is any integer (:func:`finger_id` maps person and ISO position to one);
different ids are different fingers. Run ``python -m device_mocks.fingerprints OUT_DIR`` to write sample PNGs.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

PPI = 500
#: master canvas (height, width): a fingertip is about 20 x 16 mm = 400 x 320 px at 500 ppi
MASTER_SHAPE = (416, 368)
#: orientation bins of the Gabor bank; the field is interpolated between the two nearest bins
ORIENTATION_BINS = 12
GROWTH_ITERATIONS = 6


def finger_id(person: int, position: int) -> int:
    """A stable finger id for ISO position 1..10 of a synthetic person (mocks agree on it, so
    the same resident gives the same prints at every mock and at the central)."""
    if not 1 <= position <= 10:
        raise ValueError(f"finger position must be 1..10, not {position}")
    return person * 10 + position


def _rng(*parts: int) -> np.random.Generator:
    """A generator seeded from several integers (stable across runs and platforms)."""
    digest = hashlib.sha256(",".join(str(p) for p in parts).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


@dataclass(frozen=True)
class MasterPrint:
    """A grown ridge pattern: float32 in [-1, 1] (ridge = +1) plus the finger silhouette."""

    ridges: np.ndarray
    #: float32 0..1 silhouette of the fingertip (soft edge)
    silhouette: np.ndarray
    #: "arch", "left_loop", "right_loop", "whorl", "tented_arch"
    pattern: str
    ridge_period_px: float


def orientation_field(shape: tuple[int, int], cores: list[tuple[float, float]],
                      deltas: list[tuple[float, float]], base_angle: float = 0.0) -> np.ndarray:
    """Ridge direction (radians, mod pi) by the Sherlock-Monro zero-pole model.

    theta(z) = base + 1/2 (sum arg(z - delta_i) - sum arg(z - core_i)).
    """
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    z = xx + 1j * yy
    theta = np.full(shape, base_angle, dtype=np.float64)
    for cx, cy in deltas:
        theta += 0.5 * np.angle(z - (cx + 1j * cy))
    for cx, cy in cores:
        theta -= 0.5 * np.angle(z - (cx + 1j * cy))
    return np.mod(theta, np.pi).astype(np.float32)


def arch_field(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Plain arch: ridges run across the finger and bulge upwards in the middle."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = w * rng.uniform(0.4, 0.6), h * rng.uniform(0.45, 0.6)
    bump = rng.uniform(1.2, 2.2) * np.exp(-((yy - cy) / (0.35 * h)) ** 2)
    return np.mod(-np.arctan(bump * (xx - cx) / (0.5 * w)), np.pi).astype(np.float32)


def _pattern_field(shape: tuple[int, int], rng: np.random.Generator) -> tuple[str, np.ndarray]:
    h, w = shape
    # rough natural frequencies: loops ~65 %, whorls ~30 %, arches ~5 %
    pattern = rng.choice(["left_loop", "right_loop", "whorl", "arch", "tented_arch"],
                         p=[0.33, 0.32, 0.25, 0.05, 0.05])
    jitter = lambda s: rng.uniform(-s, s)  # noqa: E731
    if pattern == "arch":
        return str(pattern), arch_field(shape, rng)
    if pattern == "whorl":
        c1 = (w * 0.5 + jitter(20), h * 0.42 + jitter(15))
        c2 = (c1[0] + jitter(10), c1[1] + 24 + jitter(8))
        d1 = (w * 0.12 + jitter(15), h * 0.78 + jitter(15))
        d2 = (w * 0.88 + jitter(15), h * 0.78 + jitter(15))
        return "whorl", orientation_field(shape, [c1, c2], [d1, d2])
    if pattern == "tented_arch":
        core = (w * 0.5 + jitter(10), h * 0.45 + jitter(15))
        delta = (core[0] + jitter(6), core[1] + 70 + jitter(10))
        return "tented_arch", orientation_field(shape, [core], [delta])
    side = -1 if pattern == "left_loop" else 1
    core = (w * 0.5 + side * 20 + jitter(15), h * 0.4 + jitter(20))
    delta = (w * 0.5 - side * 95 + jitter(20), h * 0.78 + jitter(20))
    return str(pattern), orientation_field(shape, [core], [delta])


@lru_cache(maxsize=8)
def _gabor_bank(period: float) -> tuple[np.ndarray, ...]:
    # ksize ~ 1.6 periods, sigma ~ period/2.2: the usual choice for fingerprint enhancement
    ksize = int(round(period * 1.6)) | 1
    sigma = period / 2.2
    kernels = []
    for k in range(ORIENTATION_BINS):
        ridge_dir = k * np.pi / ORIENTATION_BINS
        # cv2's theta is the direction of the wave (normal to the stripes)
        kern = cv2.getGaborKernel((ksize, ksize), sigma, ridge_dir + np.pi / 2, period, 1.0, 0, ktype=cv2.CV_32F)
        kern -= kern.mean()
        kernels.append(kern / np.abs(kern).sum())
    return tuple(kernels)


def orientation_half(theta: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Downscale an orientation field (average the doubled-angle vectors, not the angles)."""
    c = cv2.resize(np.cos(2 * theta), size, interpolation=cv2.INTER_AREA)
    s = cv2.resize(np.sin(2 * theta), size, interpolation=cv2.INTER_AREA)
    return np.mod(0.5 * np.arctan2(s, c), np.pi).astype(np.float32)


def grow_ridges(theta: np.ndarray, period: float, rng: np.random.Generator,
                iterations: int = GROWTH_ITERATIONS, start: np.ndarray | None = None) -> np.ndarray:
    """Gabor growth from noise: each pass filters every pixel along its own orientation."""
    bank = _gabor_bank(period)
    pos = theta / np.pi * ORIENTATION_BINS
    lo = np.floor(pos).astype(np.int32) % ORIENTATION_BINS
    frac = (pos - np.floor(pos)).astype(np.float32)
    hi = (lo + 1) % ORIENTATION_BINS
    # per-bin blending weights are fixed for the whole growth: compute them once, and only
    # filter the rows a bin touches
    weights = []
    for k in range(ORIENTATION_BINS):
        wk = (np.where(lo == k, 1.0 - frac, 0.0) + np.where(hi == k, frac, 0.0)).astype(np.float32)
        rows = np.flatnonzero(wk.any(axis=1))
        if rows.size:
            weights.append((k, int(rows[0]), int(rows[-1]) + 1, wk))
    img = start if start is not None else rng.standard_normal(theta.shape).astype(np.float32) * 0.5
    pad = bank[0].shape[0] // 2
    for _ in range(iterations):
        out = np.zeros_like(img)
        for k, r0, r1, wk in weights:
            a0, a1 = max(0, r0 - pad), min(img.shape[0], r1 + pad)
            resp = cv2.filter2D(img[a0:a1], cv2.CV_32F, bank[k], borderType=cv2.BORDER_REFLECT)
            out[r0:r1] += wk[r0:r1] * resp[r0 - a0:r1 - a0]
        # normalise and saturate: the non-linearity makes ridges binary-ish and fixes minutiae
        img = np.clip(out / (out.std() + 1e-6) * 1.5, -1.0, 1.0)
    return img


def _silhouette(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = w / 2 + rng.uniform(-6, 6), h * 0.52
    ax, ay = w * rng.uniform(0.42, 0.47), h * rng.uniform(0.50, 0.56)
    r = ((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2
    return np.clip((1.0 - r) * 8.0, 0.0, 1.0).astype(np.float32)


class FingerprintGenerator:
    """Seeded source of synthetic fingerprints; masters are cached per instance."""

    def __init__(self, seed: int = 0, *, cache_size: int = 32) -> None:
        self.seed = seed
        self._master = lru_cache(maxsize=cache_size)(self._make_master)

    def master(self, finger_id: int) -> MasterPrint:
        return self._master(finger_id)

    def _make_master(self, finger_id: int) -> MasterPrint:
        rng = _rng(self.seed, finger_id, 0xF1)
        pattern, theta = _pattern_field(MASTER_SHAPE, rng)
        # a slight random twist of the whole field, as fingers are not all held alike
        theta = np.mod(theta + rng.uniform(-0.12, 0.12), np.pi).astype(np.float32)
        period = float(rng.uniform(8.5, 10.5))  # ~0.45-0.5 mm ridge period at 500 ppi
        # grow at half resolution (4x fewer pixels, 2x smaller kernels), then one pass at full
        # resolution to redraw the upscaled ridges cleanly: ~4x faster than growing at full size
        half = (MASTER_SHAPE[1] // 2, MASTER_SHAPE[0] // 2)
        theta_half = orientation_half(theta, half)
        coarse = grow_ridges(theta_half, period / 2, rng)
        seed_img = cv2.resize(coarse, (MASTER_SHAPE[1], MASTER_SHAPE[0]), interpolation=cv2.INTER_CUBIC)
        ridges = grow_ridges(theta, period, rng, iterations=1, start=seed_img)
        return MasterPrint(ridges=ridges, silhouette=_silhouette(MASTER_SHAPE, rng),
                           pattern=pattern, ridge_period_px=period)

    def impression(self, finger_id: int, impression: int, size: tuple[int, int] = (288, 256), *,
                   quality: float = 1.0) -> np.ndarray:
        """One touch of finger ``finger_id`` on a 500 ppi sensor of ``size`` (height, width).

        ``quality`` in (0, 1]: 1 is a good touch; lower values add noise, blur, smudge and
        reduce contact (for tests of quality checks).
        """
        m = self.master(finger_id)
        rng = _rng(self.seed, finger_id, impression, 0x1A)
        mh, mw = MASTER_SHAPE
        h, w = size
        # Elastic distortion: a smooth random displacement field (skin stretching under pressure).
        amp = rng.uniform(2.0, 4.0)
        coarse = rng.standard_normal((2, 5, 5)).astype(np.float32) * amp
        dx = cv2.resize(coarse[0], (w, h), interpolation=cv2.INTER_CUBIC)
        dy = cv2.resize(coarse[1], (w, h), interpolation=cv2.INTER_CUBIC)
        # Rigid placement: rotation and translation of the finger on the platen.
        angle = np.deg2rad(rng.uniform(-10, 10))
        tx, ty = rng.uniform(-14, 14), rng.uniform(-14, 14)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        u, v = xx - w / 2 - tx, yy - h / 2 - ty
        ca, sa = np.cos(angle), np.sin(angle)
        map_x = (ca * u - sa * v + mw / 2 + dx).astype(np.float32)
        map_y = (sa * u + ca * v + mh / 2 + dy).astype(np.float32)
        ridges = cv2.remap(m.ridges, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=-1.0)
        sil = cv2.remap(m.silhouette, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
        # Partial contact: the finger presses harder on one side; a soft gradient cuts contact.
        contact_dir = rng.uniform(0, 2 * np.pi)
        reach = rng.uniform(0.3, 1.5) * quality + 0.2
        proj = ((xx - w / 2) * np.cos(contact_dir) + (yy - h / 2) * np.sin(contact_dir)) / (0.5 * max(h, w))
        contact = np.clip((reach - proj) * 3.0, 0.0, 1.0) * sil
        # Pressure changes ridge width: shift the threshold of the ridge profile.
        pressure = rng.uniform(-0.25, 0.25)
        ink = np.clip((ridges + pressure) * 1.4, -1.0, 1.0)
        ink = (ink + 1.0) / 2.0 * contact  # 0 = no ink .. 1 = full ridge
        img = 245.0 - ink * rng.uniform(170, 200)
        # Sensor noise, blur and (for low quality) smudges.
        blur = 0.7 + (1.0 - quality) * 2.2
        img = cv2.GaussianBlur(img.astype(np.float32), (0, 0), blur)
        noise = rng.normal(0, 6.0 + (1.0 - quality) * 30.0, img.shape).astype(np.float32)
        img = img + noise
        if quality < 1.0:
            n_blots = int((1.0 - quality) * 12)
            for _ in range(n_blots):
                c = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
                r = int(rng.uniform(8, 30))
                blot = np.zeros_like(img)
                cv2.circle(blot, c, r, float(rng.uniform(60, 140)), -1)
                img = img - cv2.GaussianBlur(blot, (0, 0), 4) * (contact > 0.1)
        return np.clip(img, 0, 255).astype(np.uint8)


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "fingerprints")
    out.mkdir(parents=True, exist_ok=True)
    gen = FingerprintGenerator(seed=int(argv[1]) if len(argv) > 1 else 0)
    for finger in range(1, 11):
        for imp in range(3):
            cv2.imwrite(str(out / f"finger{finger:02d}_{imp}.png"), gen.impression(finger, imp))
    print(f"wrote 30 impressions to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
