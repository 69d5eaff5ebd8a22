"""A creation that carries the whole packet (the common case: one request per record) is one
transaction at the central, not three (create, take the chunk, complete), with the same
answers: the creation's own refusals first, a bad packet refused and logged, a retry whose
answer was lost told the upload is complete without storing anything twice."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest

from kiosk.central.keys import StationKeys
from kiosk.central.registry import CentralError
from kiosk.central.tus import Creation, create_with_upload
from tests.central.upload_rig import small_packet, upload_world


def _creation(record_id: str, blob: bytes) -> Creation:
    return Creation(record_id, 1, len(blob), hashlib.sha256(blob).hexdigest())


def test_a_whole_packet_creation_commits_once(tmp_path: Path) -> None:
    reg, keys = upload_world(tmp_path)
    rid = str(uuid.UUID(int=1))
    blob = small_packet(reg, keys, rid)
    before = reg._commits
    state, created = create_with_upload(reg, "ST-01", _creation(rid, blob), blob)
    assert created and state.complete and state.offset == len(blob)
    assert reg._commits - before == 1
    assert reg.packet(rid) == blob and reg.counts()["uploads_complete"] == 1
    with pytest.raises(CentralError) as again:  # the retry of a lost answer: nothing stored twice
        create_with_upload(reg, "ST-01", _creation(rid, blob), blob)
    assert again.value.code == "upload.already_complete"
    assert reg.counts()["records"] == 1
    reg.close()


def test_the_creation_refusal_comes_before_the_packet_check(tmp_path: Path) -> None:
    reg, keys = upload_world(tmp_path)
    other = StationKeys.init(tmp_path / "other")
    reg.register_station("ST-02", other.public, "320101")
    rid = str(uuid.UUID(int=2))
    blob = small_packet(reg, keys, rid)
    create_with_upload(reg, "ST-01", _creation(rid, blob), blob)
    with pytest.raises(CentralError) as refused:  # another station's upload of the same record
        create_with_upload(reg, "ST-02", Creation(rid, 1, len(blob), "0" * 64), blob)
    assert refused.value.code == "upload.forbidden"
    reg.close()


def test_a_tampered_whole_packet_is_refused_logged_and_leaves_no_upload(tmp_path: Path) -> None:
    reg, keys = upload_world(tmp_path)
    rid = str(uuid.UUID(int=3))
    blob = bytearray(small_packet(reg, keys, rid))
    blob[-70] ^= 1  # inside the ciphertext: the signature no longer holds
    with pytest.raises(CentralError) as refused:
        create_with_upload(reg, "ST-01", _creation(rid, bytes(blob)), bytes(blob))
    assert refused.value.status == 422
    assert reg.counts() == {"records": 0, "uploads_complete": 0, "decisions": {}, "refusals": 1}
    assert reg.conn.execute("SELECT COUNT(*) FROM uploads").fetchone()[0] == 0
    reg.close()


def test_bytes_that_are_not_the_declared_packet_restart_the_upload(tmp_path: Path) -> None:
    reg, keys = upload_world(tmp_path)
    rid = str(uuid.UUID(int=4))
    blob = small_packet(reg, keys, rid)
    with pytest.raises(CentralError) as refused:
        create_with_upload(reg, "ST-01", Creation(rid, 1, len(blob), "1" * 64), blob)
    assert refused.value.code == "upload.checksum"
    assert reg.upload_state("ST-01", rid, 1).offset == 0  # the upload is there, from zero
    reg.close()
