"""The central's ABIS: OSIA-shaped calls, a durable incremental index, real 1:N matching on
synthetic fingers (device_mocks.fingerprints through NIST mindtct), and the registry's
biometric outcomes (unique, adjudication, deletion of the earlier record)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kiosk.central.abis.dedup import Verdict
from kiosk.central.abis.features import DIM, finger_vector
from kiosk.central.abis.index import FingerIndex
from kiosk.central.abis.service import IdentifyOptions, LocalAbis, TaskStatus
from kiosk.store import RecordState as S
from kiosk.sync.synthetic import _put_samples
from kiosk.sync.synthetic_samples import synthetic_finger
from tests.central.conftest import enroll
from tests.conftest import resident, run_kiosk

FINGERS = (1, 6)
BASE = 8_100_000


def ten_print(person: int, impression: int = 0) -> dict[int, bytes]:
    return {p: synthetic_finger(BASE + person, p, impression).template for p in FINGERS}


def test_finger_vector_does_not_change_when_the_finger_moves_or_turns() -> None:
    rng = np.random.default_rng(3)
    pts = np.column_stack([rng.uniform(0, 250, 50), rng.uniform(0, 280, 50), rng.uniform(0, 360, 50)])
    a = np.radians(25.0)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    moved = pts.copy()
    moved[:, :2] = pts[:, :2] @ rot.T + [40.0, -15.0]
    moved[:, 2] = np.mod(pts[:, 2] - 25.0, 360.0)  # ISO angles turn against the image's y-down turn
    v, w = finger_vector(pts), finger_vector(moved)
    assert v.shape == (DIM,) and abs(float(np.linalg.norm(v)) - 1.0) < 1e-5
    assert float(v @ w) > 0.99
    other = finger_vector(np.column_stack([rng.uniform(0, 250, 50), rng.uniform(0, 280, 50),
                                           rng.uniform(0, 360, 50)]))
    assert float(v @ other) < float(v @ w)


def test_identify_is_pending_then_names_the_same_fingers_and_calls_back(tmp_path: Path) -> None:
    abis = LocalAbis(tmp_path / "abis")
    for person in range(12):
        abis.insert(f"subject-{person}", "1", ten_print(person))
    heard: list[TaskStatus] = []
    status = abis.identify("t-1", ten_print(5, impression=1), IdentifyOptions(max_candidates=3), callback=heard.append)
    assert status.status == "PENDING" and not status.done
    assert abis.run_pending() == 1
    result = abis.result("t-1")
    assert result is not None and result.status == "SUCCESS"
    assert [c.subject_id for c in result.candidates] == ["subject-5"]
    assert result.candidates[0].score >= IdentifyOptions().threshold
    assert set(result.candidates[0].fingers) <= set(FINGERS)
    assert heard == [result]
    # a resident who is not in the gallery has no candidate above the threshold
    abis.identify("t-2", ten_print(40), IdentifyOptions())
    abis.run_pending()
    assert abis.result("t-2").candidates == ()  # type: ignore[union-attr]
    abis.close()


def test_the_index_survives_a_restart_and_grows_without_a_rebuild(tmp_path: Path) -> None:
    index = FingerIndex(tmp_path / "abis")
    assert index.insert_many([(f"s{p}", "1", ten_print(p)) for p in range(6)]) == 6
    assert index.insert_many([("s2", "1", ten_print(2))]) == 0  # idempotent
    index.close()
    again = FingerIndex(tmp_path / "abis")
    assert len(again) == 6
    assert again.insert_many([("s6", "1", ten_print(6))]) == 1
    assert [c.subject_id for c in again.search(ten_print(6, 1), threshold=40)] == ["s6"]
    assert [c.subject_id for c in again.search(ten_print(3, 1), threshold=40)] == ["s3"]
    assert again.delete("s3")
    assert again.search(ten_print(3, 1), threshold=40) == []
    again.close()
    third = FingerIndex(tmp_path / "abis")
    assert len(third) == 6 and third.search(ten_print(3, 1), threshold=40) == []
    third.close()


def test_identify_with_a_broken_template_fails_only_that_request(tmp_path: Path) -> None:
    abis = LocalAbis(tmp_path / "abis")
    abis.insert("s1", "1", ten_print(1))
    abis.identify("bad", {1: b"not a template"}, IdentifyOptions())
    abis.identify("good", ten_print(1, 1), IdentifyOptions())
    assert abis.run_pending() == 2
    assert abis.result("bad").status == "ERROR"  # type: ignore[union-attr]
    assert [c.subject_id for c in abis.result("good").candidates] == ["s1"]  # type: ignore[union-attr]
    abis.close()


def _enroll_with_fingers_of(store, identity, person: int) -> str:  # type: ignore[no-untyped-def]
    rec = store.create_draft(identity, actor="test")
    _put_samples(store, rec.id, person, 1, "test")
    store.transition(rec.id, S.CAPTURED, actor="test")
    store.transition(rec.id, S.QUEUED, actor="test")
    return rec.id


def _person_of(identity) -> int:  # type: ignore[no-untyped-def]
    return 5_000_000_000 + int(identity.nik) % 1_000_000_000  # as tests/central/conftest.enroll


def test_same_fingers_under_another_nik_wait_for_adjudication_then_the_earlier_record_is_deleted(
        make_station, central, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, b = make_station("ST-A", region="320101"), make_station("ST-B", region="320102")
    first_resident = resident(41)
    first = enroll(a.store, first_resident)
    other = enroll(a.store, resident(43))
    a.worker.run_once()
    assert a.store.get(first).state is S.APPROVED and a.store.get(other).state is S.APPROVED

    second = _enroll_with_fingers_of(b.store, resident(42, full_name="NAMA LAIN"), _person_of(first_resident))
    b.worker.run_once()
    b.worker.run_once()
    # held at the central until an officer adjudicates; the station is told it is a duplicate
    assert b.store.get(second).state is S.DUPLICATE
    cases = central.registry.adjudications()
    assert len(cases) == 1
    case = cases[0]
    assert (case["record_id"], case["earlier_record"], case["earlier_station"]) == (second, first, "ST-A")

    # the CLI sees the same case (the central's data folder, as `kiosk central --data`)
    listed = run_kiosk("central", "adjudication", "list", "--data", str(tmp_path / "central"), "--json")
    assert listed.returncode == 0, listed.stderr
    assert [c["case_id"] for c in json.loads(listed.stdout)] == [case["case_id"]]

    central.registry.resolve_adjudication(case["case_id"][:8], Verdict.DELETE_EARLIER, actor="officer",
                                          note="recorded twice")
    b.worker.run_once()
    assert b.store.get(second).state is S.APPROVED
    # the earlier station hears of the deletion through its ordinary decision feed
    decisions, _, _ = central.registry.decisions("ST-A", 0)
    deleted = [d for d in decisions if d["decision"] == "deleted"]
    assert [d["record_id"] for d in deleted] == [first]
    assert central.registry.adjudications() == []
    holders = {r[0] for r in central.registry.conn.execute("SELECT record_id FROM persons")}
    assert holders == {second, other}


def test_an_adjudicated_same_person_is_rejected_and_distinct_people_are_approved(make_station, central) -> None:  # type: ignore[no-untyped-def]
    a = make_station("ST-A")
    r1, r2 = resident(51), resident(52)
    first = enroll(a.store, r1)
    a.worker.run_once()
    twin = _enroll_with_fingers_of(a.store, resident(53), _person_of(r1))
    lookalike = _enroll_with_fingers_of(a.store, resident(54), _person_of(r1))
    a.worker.run_once()
    cases = {c["record_id"]: c["case_id"] for c in central.registry.adjudications()}
    assert set(cases) == {twin, lookalike}
    central.registry.resolve_adjudication(cases[twin], Verdict.SAME_PERSON, actor="officer")
    central.registry.resolve_adjudication(cases[lookalike], Verdict.DISTINCT, actor="officer")
    a.worker.run_once()
    assert a.store.get(twin).state is S.REJECTED
    assert a.store.get(lookalike).state is S.APPROVED
    assert a.store.get(first).state is S.APPROVED
    unique = enroll(a.store, r2)
    a.worker.run_once()
    assert a.store.get(unique).state is S.APPROVED


def test_a_finger_image_without_minutiae_is_left_out_not_a_crash_of_the_decide_loop() -> None:
    """A ring picture (no minutiae) gave mindtct a template the index refused (abis.bad_template),
    which stopped every later decision; now the finger is simply not searchable."""
    import base64

    from kiosk.central.abis.dedup import record_fingers
    from kiosk.sync.synthetic import ring_finger_png

    png = ring_finger_png(1, 2)
    sample = {"kind": "finger", "position": 2, "format": "image/png", "data": base64.b64encode(png).decode()}
    assert record_fingers({"samples": [sample]}) == {}
