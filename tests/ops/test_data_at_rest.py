"""Data protection at rest: after enrolling residents, the raw database file, its WAL and the
log files hold no NIK, no name and no image header in clear."""

from __future__ import annotations

import logging
import random
from pathlib import Path

from kiosk.config import PolicyConfig
from kiosk.ops.logs import attach_station_log, configure_console, detach_station_logs
from kiosk.store import RecordState, RecordStore
from tests.conftest import random_resident

# real magic numbers (long enough that random ciphertext cannot contain them by chance)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
JP2 = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
WSQ = b"\xff\xa0\xff\xa8\x00\x10NIST_COM"
MAGICS = {"jpeg": JPEG, "jp2": JP2, "png": PNG, "wsq": WSQ}

POLICY = PolicyConfig(required_fingers=(1, 2), require_face=True, require_signature=True)


def fake_image(magic: bytes, rng: random.Random, tag: str) -> bytes:
    # the identity inside the sample too (EXIF-like comment), so a clear sample would show it
    return magic + tag.encode() + rng.randbytes(600)


def test_no_nik_name_or_image_header_in_database_wal_or_logs(tmp_path: Path) -> None:
    rng = random.Random(8)
    data = tmp_path / "station"
    configure_console(False)
    attach_station_log(data)
    log = logging.getLogger("kiosk.enroll")
    store = RecordStore(data, policy=POLICY)
    residents = [random_resident(rng, serial) for serial in range(1, 26)]
    try:
        for person in residents:
            rec = store.create_draft(person, actor="op1")
            tag = f"{person.nik} {person.full_name}"
            store.put_sample(rec.id, kind="face", data=fake_image(JPEG, rng, tag), format="image/jpeg", actor="op1")
            store.put_sample(rec.id, kind="face_jp2", data=fake_image(JP2, rng, tag), format="image/jp2", actor="op1")
            for pos in (1, 2):
                store.put_sample(rec.id, kind="finger", position=pos, data=fake_image(WSQ, rng, tag), format="wsq",
                                 actor="op1")
            store.put_sample(rec.id, kind="signature", data=fake_image(PNG, rng, tag), format="image/png", actor="op1")
            store.transition(rec.id, RecordState.CAPTURED, actor="op1")
            store.transition(rec.id, RecordState.QUEUED, actor="op1")
            # what careless code might log: the filter must mask it
            log.info("queued %s for %s", rec.id, person.nik, extra={"nik": person.nik, "full_name": person.full_name})
        # the duplicate check still works without the NIK in clear
        assert store.holder_of(residents[3].nik) is not None
        # read while the connection is open: the WAL still holds the recent pages
        files = [data / "station.db", data / "station.db-wal", *sorted((data / "logs").glob("kiosk.log*"))]
        assert (data / "station.db-wal").stat().st_size > 0
        blobs = {f.name: f.read_bytes() for f in files}
    finally:
        store.close()
        detach_station_logs()
    for name, blob in blobs.items():
        for person in residents:
            assert person.nik.encode() not in blob, f"NIK in clear in {name}"
            assert person.full_name.encode() not in blob, f"name in clear in {name}"
            assert person.address.encode() not in blob and person.birth_place.encode() not in blob, name
        for kind, magic in MAGICS.items():
            assert magic not in blob, f"{kind} header in clear in {name}"
    assert b"queued" in blobs["kiosk.log"]  # the log was written, just without PII


def test_samples_and_identity_read_back_through_the_vault(tmp_path: Path) -> None:
    rng = random.Random(3)
    store = RecordStore(tmp_path / "station", policy=POLICY)
    person = random_resident(rng, 7)
    rec = store.create_draft(person, actor="op1")
    image = fake_image(PNG, rng, "x")
    store.put_sample(rec.id, kind="signature", data=image, format="image/png", actor="op1")
    assert store.sample_data(rec.id, "signature") == image and store.identity(rec.id) == person
    store.close()
