"""Irises in the capture policy: on a station with an iris camera a record cannot reach the queue
without both eyes (or an eye's exception, confirmed by a supervisor where the policy says so); a
station without an iris camera is never held back by ``required_irises``."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.composition import load_station_config
from kiosk.config import PolicyConfig
from kiosk.store import RecordState, RecordStore
from kiosk.store.queue import IllegalTransition, IncompleteRecord
from tests.conftest import ROOT, resident
from tests.test_store_samples import fill

S = RecordState
IRIS_POLICY = PolicyConfig(required_fingers=(2, 7), required_irises=(1, 2), supervisor_iris_exceptions=("lost",))


@pytest.fixture
def iris_store(tmp_path: Path) -> RecordStore:
    s = RecordStore(tmp_path / "st", policy=IRIS_POLICY)
    yield s
    s.close()


def put_eye(store: RecordStore, rid: str, eye: int) -> None:
    store.put_sample(rid, kind="iris", position=eye, data=b"IIR\x00eye", format="iso19794-6", quality=80, actor="op")


def test_a_record_without_its_eyes_cannot_be_queued(iris_store: RecordStore) -> None:
    rid = iris_store.create_draft(resident(1), actor="op").id
    fill(iris_store, rid)
    put_eye(iris_store, rid, 1)
    assert iris_store.missing(rid) == ["iris:2"]
    with pytest.raises(IncompleteRecord) as info:
        iris_store.transition(rid, S.CAPTURED, actor="op")
    assert info.value.params["missing"] == "iris:2"
    put_eye(iris_store, rid, 2)
    iris_store.transition(rid, S.CAPTURED, actor="op")
    assert iris_store.transition(rid, S.QUEUED, actor="op").state is S.QUEUED


def test_an_eye_exception_stands_in_for_the_eye_and_a_permanent_one_needs_a_supervisor(
        iris_store: RecordStore) -> None:
    rid = iris_store.create_draft(resident(2), actor="op").id
    fill(iris_store, rid)
    put_eye(iris_store, rid, 1)
    iris_store.add_iris_exception(rid, 2, "bandaged", actor="op")
    assert iris_store.missing(rid) == []
    put_eye(iris_store, rid, 2)  # captured after all: the exception goes
    assert iris_store.iris_exceptions(rid) == []
    iris_store.add_iris_exception(rid, 2, "lost", actor="op")  # replaces the stored eye
    assert not [s for s in iris_store.samples(rid) if s.kind == "iris" and s.position == 2]
    assert iris_store.missing(rid) == ["iris_supervisor:2"]
    iris_store.add_iris_exception(rid, 2, "lost", actor="op", approved_by="sup")
    assert iris_store.missing(rid) == []
    actions = [(e.action, e.reason, e.params.get("eye")) for e in iris_store.audit(rid) if e.action == "iris_exception"]
    assert actions == [("iris_exception", "bandaged", 2), ("iris_exception", "lost", 2), ("iris_exception", "lost", 2)]
    iris_store.transition(rid, S.CAPTURED, actor="op")
    iris_store.transition(rid, S.QUEUED, actor="op")
    with pytest.raises(IllegalTransition):
        iris_store.add_iris_exception(rid, 1, "injured", actor="op")


def test_a_station_without_an_iris_camera_is_not_held_back_by_required_irises(tmp_path: Path) -> None:
    text = (ROOT / "config.toml").read_text()
    assert "required_irises = [1, 2]" in text  # the shipped policy asks for both eyes
    start = text.index("[devices.iris]")
    end = text.index("\n[", start + 1)
    without = tmp_path / "without.toml"
    without.write_text(text[:start] + text[end + 1:])
    assert load_station_config(ROOT / "config.toml").policy.required_irises == (1, 2)
    cfg = load_station_config(without)
    assert not any(d.name == "iris" for d in cfg.devices)
    assert cfg.policy.required_irises == ()
    store = RecordStore(tmp_path / "st", policy=cfg.policy)
    rid = store.create_draft(resident(3), actor="op").id
    assert not any(m.startswith("iris") for m in store.missing(rid))


def test_synthetic_residents_of_an_iris_station_carry_their_eyes(tmp_path: Path) -> None:
    """``kiosk sync simulate`` on the shipped (iris) station: the synthetic records meet the policy."""
    from kiosk.sync.synthetic import enroll_synthetic

    store = RecordStore(tmp_path / "sim", policy=PolicyConfig(required_fingers=(1,), required_irises=(1, 2)))
    for light in (True, False):
        ids = enroll_synthetic(store, 1, district="320101", seed=3, light=light, first_serial=10 + light)
        assert store.get(ids[0]).state is S.QUEUED
        eyes = {s.position: s for s in store.samples(ids[0]) if s.kind == "iris"}
        assert set(eyes) == {1, 2} and eyes[1].format == "png"
