"""Synthetic near-infrared iris images for the SBI iris mock and tests.

A procedural eye, seeded: a dark pupil, an iris annulus whose texture is the sum of radial
fibres (crypts and furrows as random angular harmonics that vary with the radius, the way
Daugman's model describes iris stroma), a collarette ring, a darker limbus, a grey sclera and
skin around, upper and lower eyelids cutting the annulus, a specular highlight in the pupil,
and sensor noise. The size follows ISO/IEC 29794-6 / 19794-6 guidance for a cropped image:
640 x 480 with an iris of about 240 px diameter (at least 150 px is the standard's floor).

Everything is seeded: the same (seed, eye) always gives the same pixels; the two eyes of one
seed differ (they are different irises, as in a person).

    img = synthetic_iris(seed=3, eye=1)   # uint8 480 x 640, grey
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

WIDTH, HEIGHT = 640, 480
IRIS_RADIUS = 120


@lru_cache(maxsize=64)
def _synthetic_iris(seed: int, eye: int, width: int, height: int) -> np.ndarray:
    rng = np.random.default_rng([seed, eye, 19794])
    scale = min(width / WIDTH, height / HEIGHT)
    cx = width / 2 + rng.uniform(-8, 8) * scale
    cy = height / 2 + rng.uniform(-6, 6) * scale
    r_iris = IRIS_RADIUS * scale * rng.uniform(0.95, 1.05)
    r_pupil = r_iris * rng.uniform(0.32, 0.45)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    dx, dy = xx - cx, yy - cy
    r = np.hypot(dx, dy)
    theta = np.arctan2(dy, dx)
    rho = np.clip((r - r_pupil) / max(r_iris - r_pupil, 1.0), 0.0, 1.0)  # 0 at pupil, 1 at limbus

    # stroma: radial fibres whose phase drifts with the radius, plus a few crypts
    texture = np.zeros_like(r)
    for _ in range(24):
        k = rng.integers(6, 90)
        phase = rng.uniform(0, 2 * np.pi)
        drift = rng.uniform(-3, 3)
        texture += rng.uniform(0.3, 1.0) * np.cos(k * theta + phase + drift * rho)
    texture /= np.abs(texture).max() + 1e-9
    for _ in range(10):
        a = rng.uniform(0, 2 * np.pi)
        rr = rng.uniform(0.25, 0.85)
        px, py = cx + np.cos(a) * (r_pupil + rr * (r_iris - r_pupil)), cy + np.sin(a) * (
            r_pupil + rr * (r_iris - r_pupil))
        size = rng.uniform(4, 10) * scale
        texture -= 0.9 * np.exp(-((xx - px) ** 2 + (yy - py) ** 2) / (2 * size ** 2))
    collarette = np.exp(-((rho - rng.uniform(0.3, 0.4)) ** 2) / 0.002)
    base = 120 + rng.uniform(-15, 15)
    iris = base + 38 * texture + 25 * collarette - 30 * rho ** 4

    img = np.full_like(r, 185.0)  # skin
    sclera = r < r_iris * 2.1
    img[sclera] = 205.0
    img = np.where(r < r_iris, iris, img)
    img = np.where(r < r_iris + 3 * scale, np.minimum(img, 70 + 40 * rho), img)  # limbus
    img = np.where(r < r_pupil, 18.0, img)
    # eyelids: parabolas above and below the pupil centre
    upper = cy - r_iris * rng.uniform(0.75, 0.95) + (dx / (r_iris * 2.2)) ** 2 * r_iris
    lower = cy + r_iris * rng.uniform(0.85, 1.05) - (dx / (r_iris * 2.4)) ** 2 * r_iris
    lids = (yy < upper) | (yy > lower)
    img = np.where(lids, 160.0 + 10 * np.sin(yy / (7 * scale)), img)
    # specular highlight of the illuminator, inside the pupil
    hx, hy = cx + r_pupil * 0.3, cy - r_pupil * 0.3
    img = np.where(np.hypot(xx - hx, yy - hy) < max(3.0, 6 * scale), 250.0, img)
    img += rng.normal(0, 3.0, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def synthetic_iris(seed: int, eye: int, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """A grey synthetic iris image (person ``seed``, ``eye`` 1 right / 2 left); read-only array."""
    out = _synthetic_iris(seed, eye, width, height)
    out.flags.writeable = False
    return out
