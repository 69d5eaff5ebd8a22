"""The station's own fingerprint check before upload (issue 14 §2): the same fingers under
another NIK among this station's recent records stop a record (``held``) for a supervisor,
who decides "same person" (cancelled) or "different people" (sent), with an audit row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.dedup.journey import steps
from kiosk.dedup.local_hold import (LocalVerdict, NotHeld, PreUploadCheck, decide_local_match, held_matches,
                                    local_match, match_view)
from kiosk.i18n import translate
from kiosk.store import RecordState as S
from kiosk.store import RecordStore
from kiosk.sync.synthetic import _put_samples
from tests.conftest import resident

#: synthetic people of the realistic finger generator (cached in ~/.cache/kiosk per seed)
PERSON = 8_300_000


def record(store: RecordStore, serial: int, person: int, impression: int = 0) -> str:
    rec = store.create_draft(resident(serial), actor="op")
    _put_samples(store, rec.id, PERSON + person, impression, "op")
    store.transition(rec.id, S.CAPTURED, actor="op")
    store.transition(rec.id, S.QUEUED, actor="op")
    return rec.id


@pytest.fixture
def station(make_station, tmp_path: Path):  # type: ignore[no-untyped-def]
    st = make_station("ST-L")
    check = PreUploadCheck(st.store, tmp_path / "ST-L", window_days=90)
    st.worker.outbox.pre_upload = check
    yield st
    check.close()


def uploaded(central, record_id: str) -> bool:  # type: ignore[no-untyped-def]
    return central.registry.conn.execute("SELECT 1 FROM uploads WHERE record_id=?", (record_id,)).fetchone() is not None


def test_the_same_fingers_under_another_nik_are_held_before_upload(station, central) -> None:  # type: ignore[no-untyped-def]
    first = record(station.store, 1, person=1)
    station.worker.run_once()
    assert station.store.get(first).state is S.APPROVED
    again = record(station.store, 2, person=1, impression=1)
    other = record(station.store, 3, person=2)
    report = station.worker.run_once()
    assert report["held"] == 1
    assert station.store.get(again).state is S.HELD and not uploaded(central, again)
    assert station.store.get(other).state is S.APPROVED  # the rest goes on
    held = local_match(station.store, again)
    assert held is not None and held.matched_record == first and held.score >= 150
    assert set(held.fingers) <= {1, 6} and held.fingers
    move = [e for e in station.store.audit(again) if e.to_state == "held"]
    assert len(move) == 1 and move[0].params["matched_record"] == first
    assert [h.record_id for h in held_matches(station.store)] == [again]
    code, params = steps(station.store, [station.store.get(again)])[again]
    assert code == "dedup_flow.step.held" and params["record"] == first[:8]
    view = match_view(station.store, held)
    assert view["earlier"]["record_id"] == first and "*" in view["new"]["nik"]
    station.worker.run_once()  # held means held: no upload on later passes either
    assert station.store.get(again).state is S.HELD and not uploaded(central, again)


def test_different_people_release_the_record_to_upload_with_who_decided(station, central) -> None:  # type: ignore[no-untyped-def]
    first = record(station.store, 11, person=11)
    again = record(station.store, 12, person=11, impression=1)
    station.worker.run_once()
    assert station.store.get(again).state is S.HELD and station.store.get(first).state is S.APPROVED
    state = decide_local_match(station.store, again, LocalVerdict.DIFFERENT_PEOPLE, supervisor="sup1", note="twins")
    assert state is S.QUEUED
    decided = [e for e in station.store.audit(again) if e.from_state == "held"]
    assert len(decided) == 1 and decided[0].actor == "sup1" and decided[0].to_state == "queued"
    assert decided[0].params["local_match_decision"] == "different_people"
    row = station.store.conn.execute("SELECT decision, decided_by, note FROM local_matches WHERE record_id=?",
                                     (again,)).fetchone()
    assert tuple(row) == ("different_people", "sup1", "twins")
    station.worker.run_once()  # released: not stopped again, the central decides
    assert uploaded(central, again) and station.store.get(again).state is not S.HELD


def test_the_same_person_cancels_the_new_record_and_a_second_decision_is_refused(station) -> None:  # type: ignore[no-untyped-def]
    record(station.store, 21, person=21)
    again = record(station.store, 22, person=21, impression=1)
    station.worker.run_once()
    assert decide_local_match(station.store, again, "same_person", supervisor="sup1") is S.CANCELLED
    with pytest.raises(NotHeld):
        decide_local_match(station.store, again, "different_people", supervisor="sup2")
    assert station.store.get(again).state is S.CANCELLED
    assert [e.actor for e in station.store.audit(again) if e.from_state == "held"] == ["sup1"]


def test_a_record_never_held_cannot_be_released(station) -> None:  # type: ignore[no-untyped-def]
    alone = record(station.store, 31, person=31)
    with pytest.raises(NotHeld) as err:
        decide_local_match(station.store, alone, "different_people", supervisor="sup1")
    assert "{" not in translate(err.value.code, "id", **err.value.params)
    assert station.store.get(alone).state is S.QUEUED


def test_local_match_cli_lists_and_decides_with_the_supervisor_password(tmp_path: Path) -> None:
    from kiosk.accounts import AccountStore
    from kiosk.config import load_config
    from tests.conftest import SIMULATED_SYNC_CONFIG, run_kiosk

    cfg_path = tmp_path / "config.toml"
    cfg_path.write_text(SIMULATED_SYNC_CONFIG)
    cfg = load_config(cfg_path)
    accounts = AccountStore(cfg.accounts)
    accounts.add("sup1", "supervisor", "sup-secret-1")
    accounts.add("op1", "operator", "op-secret-1")
    store = RecordStore(cfg.station.data_dir, policy=cfg.policy)
    first = record(store, 41, person=41)
    again = record(store, 42, person=41, impression=1)
    check = PreUploadCheck(store, cfg.station.data_dir)
    assert check(first) is True and check(again) is False
    check.close()
    store.close()

    listed = run_kiosk("--config", str(cfg_path), "local-match", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [view] = json.loads(listed.stdout)
    assert (view["new"]["record_id"], view["earlier"]["record_id"]) == (again, first)

    refused = run_kiosk("--config", str(cfg_path), "local-match", "decide", again[:8], "different_people",
                        "--supervisor", "op1", input="op-secret-1\n")
    assert refused.returncode != 0 and "supervisor" in refused.stderr and "Traceback" not in refused.stderr
    done = run_kiosk("--config", str(cfg_path), "local-match", "decide", again[:8], "different_people",
                     "--supervisor", "sup1", "--json", input="sup-secret-1\n")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"record_id": again, "verdict": "different_people", "state": "queued",
                                       "decided_by": "sup1"}


def test_same_person_keeping_the_new_record_sends_it_so_the_central_can_name_the_earlier_one(
        station, central) -> None:  # type: ignore[no-untyped-def]
    first = record(station.store, 51, person=51)
    again = record(station.store, 52, person=51, impression=1)
    station.worker.run_once()
    assert station.store.get(again).state is S.HELD
    assert decide_local_match(station.store, again, LocalVerdict.SAME_PERSON_KEEP_NEW, supervisor="sup1") is S.QUEUED
    for _ in range(10):  # released for good: sent, and the central's ABIS names the earlier record
        station.worker.run_once()
        if station.store.get(again).state is S.DUPLICATE:
            break
    assert station.store.get(again).state is S.DUPLICATE
    [case] = central.registry.adjudications()
    assert (case["record_id"], case["earlier_record"]) == (again, first)
