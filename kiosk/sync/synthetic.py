"""Synthetic residents for demos and load tests: valid NIKs, small generated samples.

Every record satisfies the station's capture policy (face, the required fingers, signature)
and goes draft -> captured -> queued through the store like an enrolled one.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Callable

import cv2
import numpy as np

from kiosk.identity import MARITAL, RELIGIONS, Identity
from kiosk.nik import make_nik
from kiosk.store import RecordState, RecordStore
from kiosk.store.queue import DuplicateNik

FIRST = ("BUDI", "SITI", "AGUS", "DEWI", "RUDI", "RINA", "jOKO".upper(), "NUR", "ADI", "SRI", "EKO", "WATI")
LAST = ("SANTOSO", "RAHAYU", "WIJAYA", "LESTARI", "HIDAYAT", "PURNAMA", "SETIAWAN", "KURNIAWAN")
VILLAGES = ("PAKANSARI", "TENGAH", "CIRIMEKAR", "SUKAHATI", "NANGGEWER")
JOBS = ("PETANI", "PELAJAR/MAHASISWA", "WIRASWASTA", "KARYAWAN SWASTA", "MENGURUS RUMAH TANGGA")


def face_jpeg(rng: random.Random, size: tuple[int, int] = (60, 80)) -> bytes:
    """A small face-like picture: an ellipse with eyes and mouth on a plain background."""
    w, h = size
    img = np.full((h, w, 3), rng.randrange(180, 230), np.uint8)
    skin = (rng.randrange(90, 160), rng.randrange(120, 180), rng.randrange(160, 220))
    cv2.ellipse(img, (w // 2, h // 2), (w // 3, int(h / 2.6)), 0, 0, 360, skin, -1)
    for dx in (-w // 8, w // 8):
        cv2.circle(img, (w // 2 + dx, h // 2 - h // 10), max(1, w // 20), (40, 40, 40), -1)
    cv2.ellipse(img, (w // 2, h // 2 + h // 6), (w // 8, h // 24), 0, 0, 180, (60, 60, 150), 1)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return buf.tobytes()


def finger_png(rng: random.Random, size: int = 64) -> bytes:
    """A grey ridge pattern (concentric, slightly warped), seeded per finger."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    cx, cy = size / 2 + rng.uniform(-6, 6), size / 2 + rng.uniform(-6, 6)
    r = np.sqrt((x - cx) ** 2 * rng.uniform(0.6, 1.0) + (y - cy) ** 2)
    ridges = 127 + 120 * np.sin(r / rng.uniform(1.6, 2.4) + x * rng.uniform(-0.05, 0.05))
    ok, buf = cv2.imencode(".png", ridges.clip(0, 255).astype(np.uint8))
    assert ok
    return buf.tobytes()


def signature_png(rng: random.Random, size: tuple[int, int] = (120, 40)) -> bytes:
    w, h = size
    img = np.full((h, w), 255, np.uint8)
    pts = np.array([[int(i * w / 8), rng.randrange(5, h - 5)] for i in range(1, 8)], np.int32)
    cv2.polylines(img, [pts], False, 0, 1)
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()


def synthetic_identity(rng: random.Random, district: str, serial: int) -> Identity:
    sex = rng.choice("MF")
    born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 55))
    nik = make_nik(district, born, sex, serial)  # type: ignore[arg-type]
    return Identity(nik=nik, full_name=f"{rng.choice(FIRST)} {rng.choice(LAST)}", birth_place="BOGOR",
                    birth_date=born, sex=sex, blood_type=rng.choice(("A", "B", "AB", "O", "-")),  # type: ignore[arg-type]
                    address=f"JL. MERDEKA NO. {rng.randrange(1, 200)}", rt=f"{rng.randrange(1, 20):03d}",
                    rw=f"{rng.randrange(1, 12):03d}", village=rng.choice(VILLAGES), religion=rng.choice(RELIGIONS),
                    marital_status=rng.choice(MARITAL), occupation=rng.choice(JOBS)).with_region_names()


def enroll_synthetic(store: RecordStore, count: int, *, district: str, seed: int = 0, actor: str = "simulate",
                     first_serial: int | None = None,
                     on_record: Callable[[int, str], None] | None = None) -> list[str]:
    """Create ``count`` complete records and queue them; returns their ids.

    Serials continue after the records already at the station, so running it again adds
    new residents instead of colliding with the earlier ones."""
    rng = random.Random(seed)
    serial = first_serial if first_serial is not None else len(store.list()) + 1
    ids: list[str] = []
    while len(ids) < count:
        if serial > 9999:
            raise ValueError("a district has at most 9999 synthetic serials per birth date")
        identity = synthetic_identity(rng, district, serial)
        serial += 1
        try:
            rec = store.create_draft(identity, actor=actor)
        except DuplicateNik:
            continue
        store.put_sample(rec.id, kind="face", data=face_jpeg(rng), format="image/jpeg", quality=0.9,
                         metadata={"synthetic": True, "width": 60, "height": 80}, actor=actor)
        for pos in store.policy.required_fingers:
            store.put_sample(rec.id, kind="finger", position=pos, data=finger_png(rng), format="image/png",
                             quality=round(rng.uniform(0.6, 0.95), 2), metadata={"synthetic": True, "dpi": 500},
                             actor=actor)
        store.put_sample(rec.id, kind="signature", data=signature_png(rng), format="image/png",
                         metadata={"synthetic": True}, actor=actor)
        store.transition(rec.id, RecordState.CAPTURED, actor=actor)
        store.transition(rec.id, RecordState.QUEUED, actor=actor)
        ids.append(rec.id)
        if on_record:
            on_record(len(ids), rec.id)
    return ids
