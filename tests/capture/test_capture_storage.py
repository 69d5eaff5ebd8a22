"""Checked samples land in the record store under the policy's kinds; the record is then
complete for a two-finger policy."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from device_mocks import faces
from device_mocks.fingerprints import FingerprintGenerator
from kiosk.capture.face_capture import AutoCapture, face_sample
from kiosk.capture.finger import FingerprintEngine, finger_sample
from kiosk.capture.finger_exceptions import check_exception
from kiosk.capture.iso19794_2 import decode_iso_19794_2
from kiosk.capture.signature import points_from_json, signature_sample
from kiosk.capture.storage import store_exception, store_face, store_finger, store_signature
from kiosk.capture.thresholds import FaceThresholds
from kiosk.config import PolicyConfig
from kiosk.devices.protocols import PenPoint
from kiosk.store import RecordStore
from tests.conftest import resident


@pytest.fixture
def two_finger_store(tmp_path: Path) -> RecordStore:
    s = RecordStore(tmp_path / "station", policy=PolicyConfig(required_fingers=(2, 7),
                                                              supervisor_exceptions=("amputated",)))
    yield s
    s.close()


def test_face_finger_exception_signature_complete_a_record(two_finger_store: RecordStore) -> None:
    store = two_finger_store
    rid = store.create_draft(resident(1), actor="op1").id
    auto = AutoCapture(FaceThresholds(auto_capture_frames=1))
    _, cap = auto.feed(faces.portrait())
    assert cap is not None
    store_face(store, rid, face_sample(cap), actor="op1")

    best = FingerprintEngine().assess(FingerprintGenerator(4).impression(12, 0), position=2)
    store_finger(store, rid, finger_sample(best), actor="op1")
    decision = check_exception(store.policy, 7, "amputated", operator="op1", supervisor="sup1")
    store_exception(store, rid, decision, actor="op1")

    stroke = [PenPoint(5 + t * 0.5, 10 + 5 * math.sin(t / 3), 0.7, True, t * 0.01) for t in range(80)]
    store_signature(store, rid, signature_sample(stroke), actor="op1")

    assert store.missing(rid) == []
    kinds = {(s.kind, s.position) for s in store.samples(rid)}
    assert kinds == {("face", 0), ("finger", 2), ("finger_template", 2), ("signature", 0), ("signature_points", 0)}
    assert decode_iso_19794_2(store.sample_data(rid, "finger_template", 2)).position == 2
    assert len(points_from_json(store.sample_data(rid, "signature_points"))) == 80
    assert store.sample_data(rid, "face")[:3] == b"\xff\xd8\xff"
