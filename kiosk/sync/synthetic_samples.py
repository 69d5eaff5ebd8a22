"""Realistic samples for synthetic residents: what a real enrollment stores, at real sizes.

* Fingers: the SFinGe-style generator of the device mocks (device_mocks/fingerprints.py),
  one impression per recording of a synthetic *person* (the same person gives the same
  fingers at every station, another impression each time), 400 x 360 at 500 ppi, stored like a capture: WSQ image + ISO/IEC 19794-2 template
  (NIST mindtct) + NFIQ 2 score (kiosk.capture.finger). About 2 s of CPU per ten-print, so
  each finger is cached on disk (``$KIOSK_SYNTHETIC_CACHE``, default
  ``~/.cache/kiosk/synthetic-fingers.sqlite``), keyed by generator seed, finger and impression.
* Face: an ISO/IEC 19794-5 token-sized portrait (480 x 640, JPEG) from device_mocks.faces,
  placed a little differently per person.
* Signature: a pen-like stroke picture at card resolution (PNG).
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

#: one synthetic population for every station: the same person has the same fingers everywhere
FINGER_SEED = 1414
#: persons of different ``simulate --seed`` values never share a number
PERSONS_PER_SEED = 1_000_000
#: (height, width) of a finger image: 20 x 18 mm at 500 ppi, a FAP 20-class single-finger sensor
IMAGE_SHAPE = (400, 360)
_lock = threading.Lock()


def person_number(seed: int, index: int) -> int:
    return seed * PERSONS_PER_SEED + index + 1


def cache_path() -> Path:
    given = os.environ.get("KIOSK_SYNTHETIC_CACHE")
    return Path(given) if given else Path.home() / ".cache" / "kiosk" / "synthetic-fingers.sqlite"


@dataclass(frozen=True)
class SyntheticFinger:
    position: int
    wsq: bytes
    template: bytes
    nfiq2: int
    report: dict[str, object]


def _cache() -> sqlite3.Connection:
    path = cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=60.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS fingers (seed INTEGER, finger INTEGER, impression INTEGER,"
                 " wsq BLOB, template BLOB, nfiq2 INTEGER, report TEXT, PRIMARY KEY (seed, finger, impression))")
    return conn


def synthetic_finger(person: int, position: int, impression: int) -> SyntheticFinger:
    """One captured finger of a synthetic person, from the disk cache or made now."""
    from device_mocks.fingerprints import finger_id

    fid = finger_id(person, position)
    with _lock:
        conn = _cache()
        try:
            row = conn.execute("SELECT wsq, template, nfiq2, report FROM fingers WHERE seed=? AND finger=? AND"
                               " impression=?", (FINGER_SEED, fid, impression)).fetchone()
        finally:
            conn.close()
    if row is not None:
        return SyntheticFinger(position, bytes(row[0]), bytes(row[1]), int(row[2]), json.loads(row[3]))
    finger = _make_finger(fid, position, impression)
    with _lock:
        conn = _cache()
        try:
            with conn:
                conn.execute("INSERT OR REPLACE INTO fingers VALUES (?,?,?,?,?,?,?)",
                             (FINGER_SEED, fid, impression, finger.wsq, finger.template, finger.nfiq2,
                              json.dumps(finger.report)))
        finally:
            conn.close()
    return finger


def _make_finger(fid: int, position: int, impression: int) -> SyntheticFinger:
    from device_mocks.fingerprints import FingerprintGenerator
    from kiosk.capture.finger import FingerprintEngine, finger_sample

    image = FingerprintGenerator(seed=FINGER_SEED, cache_size=1).impression(fid, impression, size=IMAGE_SHAPE)
    sample = finger_sample(FingerprintEngine().assess(image, position))
    return SyntheticFinger(position, sample.image, sample.template, sample.nfiq2, sample.report.to_dict())


def face_jpeg(person: int) -> bytes:
    """A 480 x 640 token portrait (ICAO proportions), JPEG quality 95."""
    from device_mocks import faces

    rng = random.Random(person)
    img = faces.portrait(shape=(640, 480), scale=rng.uniform(2.3, 2.6), roll_deg=rng.uniform(-3, 3),
                         offset_x=rng.uniform(-12, 12))
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    return buf.tobytes()


def iris_png(person: int, eye: int, size: tuple[int, int] = (160, 120)) -> bytes:
    """One eye of a synthetic person (1 right, 2 left), a small grey PNG: a station with an iris
    camera requires the eyes its policy names (``[policy] required_irises``)."""
    from device_mocks.irises import synthetic_iris

    ok, buf = cv2.imencode(".png", np.ascontiguousarray(synthetic_iris(person, eye, *size)))
    assert ok
    return buf.tobytes()


def signature_png(person: int, size: tuple[int, int] = (600, 200)) -> bytes:
    """A signature-like pen trace: a few smooth strokes, antialiased, on white."""
    rng = np.random.default_rng(person)
    w, h = size
    img = np.full((h, w), 255, np.uint8)
    x = 30.0
    for _ in range(int(rng.integers(2, 4))):
        t = np.linspace(0, 1, 120)
        span = rng.uniform(120, 220)
        xs = x + t * span
        ys = h / 2 + rng.uniform(20, 55) * np.sin(2 * np.pi * (rng.uniform(1.5, 4) * t + rng.uniform(0, 1)))
        pts = np.stack([xs, ys], axis=1).astype(np.int32)
        cv2.polylines(img, [pts], False, 20, int(rng.integers(2, 4)), lineType=cv2.LINE_AA)
        x += span + rng.uniform(10, 40)
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()
