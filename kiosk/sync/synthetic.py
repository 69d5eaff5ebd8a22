"""Synthetic residents for demos and load tests: valid NIKs, realistic samples
(kiosk.sync.synthetic_samples), and on request a share of repeat residents.

Every record satisfies the station's capture policy (face, the required fingers, signature)
and goes draft -> captured -> queued through the store like an enrolled one.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

from kiosk.identity import MARITAL, RELIGIONS, Identity
from kiosk.nik import make_nik
from kiosk.store import RecordState, RecordStore
from kiosk.store.queue import DuplicateNik
from kiosk.sync.synthetic_samples import face_jpeg, iris_png, person_number, signature_png, synthetic_finger

FIRST = ("BUDI", "SITI", "AGUS", "DEWI", "RUDI", "RINA", "jOKO".upper(), "NUR", "ADI", "SRI", "EKO", "WATI")
LAST = ("SANTOSO", "RAHAYU", "WIJAYA", "LESTARI", "HIDAYAT", "PURNAMA", "SETIAWAN", "KURNIAWAN")
VILLAGES = ("PAKANSARI", "TENGAH", "CIRIMEKAR", "SUKAHATI", "NANGGEWER")
JOBS = ("PETANI", "PELAJAR/MAHASISWA", "WIRASWASTA", "KARYAWAN SWASTA", "MENGURUS RUMAH TANGGA")


def synthetic_identity(rng: random.Random, district: str, serial: int) -> Identity:
    sex = rng.choice("MF")
    born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 55))
    nik = make_nik(district, born, sex, serial)  # type: ignore[arg-type]
    return Identity(nik=nik, full_name=f"{rng.choice(FIRST)} {rng.choice(LAST)}", birth_place="BOGOR",
                    birth_date=born, sex=sex, blood_type=rng.choice(("A", "B", "AB", "O", "-")),  # type: ignore[arg-type]
                    address=f"JL. MERDEKA NO. {rng.randrange(1, 200)}", rt=f"{rng.randrange(1, 20):03d}",
                    rw=f"{rng.randrange(1, 12):03d}", village=rng.choice(VILLAGES), religion=rng.choice(RELIGIONS),
                    marital_status=rng.choice(MARITAL), occupation=rng.choice(JOBS)).with_region_names()


@dataclass(frozen=True)
class Repeat:
    """A record of a resident who was recorded before: ``kind`` is "other_nik" (the same
    fingers under a new NIK) or "same_nik" (the same resident and NIK again)."""

    record_id: str
    kind: str
    of_seed: int
    of_index: int


@dataclass
class SyntheticRun:
    created: list[str] = field(default_factory=list)
    repeats: list[Repeat] = field(default_factory=list)


def person_identity(seed: int, index: int, district: str) -> Identity:
    """The identity of synthetic person ``index`` of ``seed`` (the same at every station)."""
    return synthetic_identity(random.Random(f"{seed}/{index}"), district, index + 1)


def _put_irises(store: RecordStore, record_id: str, person: int, actor: str) -> None:
    """The eyes the policy requires (none but on a station with an iris camera)."""
    for eye in store.policy.required_irises:
        store.put_sample(record_id, kind="iris", position=eye, data=iris_png(person, eye), format="png",
                         quality=80.0, metadata={"synthetic": True}, actor=actor)


def _put_samples(store: RecordStore, record_id: str, person: int, impression: int, actor: str) -> None:
    store.put_sample(record_id, kind="face", data=face_jpeg(person), format="image/jpeg", quality=0.9,
                     metadata={"synthetic": True, "width": 480, "height": 640}, actor=actor)
    for pos in store.policy.required_fingers:
        f = synthetic_finger(person, pos, impression)
        meta = {"report": f.report, "ppi": 500, "standard": "ISO/IEC 19794-4", "synthetic": True}
        store.put_sample(record_id, kind="finger", data=f.wsq, format="wsq", position=pos, quality=float(f.nfiq2),
                         metadata=meta, actor=actor)
        store.put_sample(record_id, kind="finger_template", data=f.template, format="iso19794-2:2005",
                         position=pos, quality=float(f.nfiq2), metadata={"standard": "ISO/IEC 19794-2:2005"},
                         actor=actor)
    _put_irises(store, record_id, person, actor)
    store.put_sample(record_id, kind="signature", data=signature_png(person), format="image/png",
                     metadata={"synthetic": True}, actor=actor)


def ring_finger_png(person: int, position: int, size: int = 64) -> bytes:
    """A small grey ridge pattern (concentric, slightly warped), seeded per person and finger:
    no minutiae, so the central's ABIS has nothing to match (see ``light`` below)."""
    rng = random.Random(f"ring/{person}/{position}")
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    cx, cy = size / 2 + rng.uniform(-6, 6), size / 2 + rng.uniform(-6, 6)
    r = np.sqrt((x - cx) ** 2 * rng.uniform(0.6, 1.0) + (y - cy) ** 2)
    ridges = 127 + 120 * np.sin(r / rng.uniform(1.6, 2.4) + x * rng.uniform(-0.05, 0.05))
    ok, buf = cv2.imencode(".png", ridges.clip(0, 255).astype(np.uint8))
    assert ok
    return buf.tobytes()


def _put_light_samples(store: RecordStore, record_id: str, person: int, actor: str) -> None:
    """Complete but small samples: the face and signature as in a real record, fingers as ring
    pictures without templates. For load and fault tests of the queue and the link, where
    hundreds of records are made and what is measured is not the biometrics: a realistic finger
    costs about 0.25 s to generate and minutiae-check, ten per record."""
    store.put_sample(record_id, kind="face", data=face_jpeg(person), format="image/jpeg", quality=0.9,
                     metadata={"synthetic": True, "width": 480, "height": 640}, actor=actor)
    for pos in store.policy.required_fingers:
        store.put_sample(record_id, kind="finger", position=pos, data=ring_finger_png(person, pos), format="image/png",
                         quality=0.8, metadata={"synthetic": True, "dpi": 500}, actor=actor)
    _put_irises(store, record_id, person, actor)
    store.put_sample(record_id, kind="signature", data=signature_png(person), format="image/png",
                     metadata={"synthetic": True}, actor=actor)


def enroll_synthetic(store: RecordStore, count: int, *, district: str, seed: int = 0, actor: str = "simulate",
                     first_serial: int | None = None, light: bool = False,
                     on_record: Callable[[int, str], None] | None = None) -> list[str]:
    """:func:`enroll_residents` without repeats; returns the new record ids."""
    return enroll_residents(store, count, district=district, seed=seed, actor=actor, first_serial=first_serial,
                            light=light, on_record=on_record).created


def enroll_residents(store: RecordStore, count: int, *, district: str, seed: int = 0, actor: str = "simulate",
                     first_serial: int | None = None, repeat_share: float = 0.0, repeat_seed: int | None = None,
                     repeat_pool: int | None = None, light: bool = False,
                     on_record: Callable[[int, str], None] | None = None) -> SyntheticRun:
    """Create ``count`` complete records and queue them.

    Record ``i`` is synthetic person ``i`` of ``seed`` (identity and fingers are functions of
    the two numbers, so two stations agree on who person 3 of seed 0 is). Indices continue
    after the records already at the station, so running it again adds new residents.

    ``repeat_share`` of the records are residents recorded before: persons of
    ``repeat_seed`` (default: this seed, i.e. earlier residents of this station), recorded
    again with another impression of the same fingers, either under a new NIK ("other_nik")
    or, when they come from another seed (another station's residents), under the same NIK
    half of the time ("same_nik"). A repeat is drawn from the persons before this record's
    index, or from the first ``repeat_pool`` persons of ``repeat_seed`` when given (the ones
    the other station is known to have recorded). ``light`` makes small records whose fingers
    carry no minutiae (load and fault tests, see :func:`_put_light_samples`)."""
    if not 0.0 <= repeat_share <= 1.0:
        raise ValueError("repeat_share must be between 0 and 1")
    source = seed if repeat_seed is None else repeat_seed
    pick = random.Random(f"repeats/{seed}/{source}")
    index = (first_serial - 1) if first_serial is not None else len(store.list())
    run = SyntheticRun()
    while len(run.created) < count:
        if index >= 9999:
            raise ValueError("a district has at most 9999 synthetic serials per birth date")
        identity, person, impression, repeat = person_identity(seed, index, district), person_number(seed, index), 0, None
        pool = index if repeat_pool is None else min(index, repeat_pool) if source == seed else repeat_pool
        if pool > 0 and pick.random() < repeat_share:
            j = pick.randrange(pool)
            person, impression = person_number(source, j), 1
            kind = "same_nik" if source != seed and pick.random() < 0.5 else "other_nik"
            if kind == "same_nik":
                identity = person_identity(source, j, district)
            repeat = (kind, source, j)
        index += 1
        try:
            rec = store.create_draft(identity, actor=actor)
        except DuplicateNik:
            continue
        if light:
            _put_light_samples(store, rec.id, person, actor)
        else:
            _put_samples(store, rec.id, person, impression, actor)
        store.transition(rec.id, RecordState.CAPTURED, actor=actor)
        store.transition(rec.id, RecordState.QUEUED, actor=actor)
        run.created.append(rec.id)
        if repeat is not None:
            run.repeats.append(Repeat(rec.id, *repeat))
        if on_record:
            on_record(len(run.created), rec.id)
    return run
