"""A deletion filed at the NIK step, before the central has seen the new record (issue 14 §2):
the request waits, is sent once the central calls the record a duplicate, and the new record
goes through; a record the central approves instead closes the waiting request (audited)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.store import RecordState
from kiosk.sync.status import deletion_status
from kiosk.sync.worker import request_deletion
from tests.central.conftest import enroll
from tests.conftest import resident

S = RecordState


def test_a_deletion_filed_before_upload_waits_then_lets_the_new_record_through(make_station, central) -> None:  # type: ignore[no-untyped-def]
    a, b = make_station("ST-A", region="320101"), make_station("ST-B", region="320102")
    first = enroll(a.store, resident(21))
    a.worker.run_once()
    assert a.store.get(first).state is S.APPROVED
    second = enroll(b.store, resident(21))  # the NIK step saw ST-A's record; the operator files at once
    assert request_deletion(b.store, second, reason="moved", actor="op1") == "waiting"
    assert request_deletion(b.store, second, reason="moved", actor="op1") == "waiting"  # one request
    for _ in range(4):  # upload and decision, then the request goes out, then the answer
        b.worker.run_once()
        if b.store.get(second).state is S.APPROVED:
            break
    assert b.store.get(second).state is S.APPROVED
    row = deletion_status(b.store, second)
    assert row is not None and row["status"] == "done" and row["request_id"]
    assert len([e for e in b.store.audit(second) if e.action == "deletion_request"]) == 1
    persons = central.registry.conn.execute("SELECT record_id FROM persons").fetchall()
    assert [r[0] for r in persons] == [second]


def test_a_waiting_deletion_is_closed_when_the_central_approves_the_record(make_station) -> None:  # type: ignore[no-untyped-def]
    st = make_station("ST-A")
    rid = enroll(st.store, resident(22))
    assert request_deletion(st.store, rid, reason="moved", actor="op1") == "waiting"
    st.worker.run_once()
    st.worker.run_once()
    assert st.store.get(rid).state is S.APPROVED
    row = deletion_status(st.store, rid)
    assert row is not None and (row["status"], row["error"]) == ("closed", "sync.not_duplicate")
    assert any(e.action == "deletion_closed" for e in st.store.audit(rid))


def test_no_deletion_for_a_record_already_decided(make_station) -> None:  # type: ignore[no-untyped-def]
    st = make_station("ST-A")
    rid = enroll(st.store, resident(23))
    st.worker.run_once()
    assert st.store.get(rid).state is S.APPROVED
    with pytest.raises(Exception) as err:
        request_deletion(st.store, rid, reason="x", actor="op")
    assert getattr(err.value, "code", "") == "sync.not_duplicate"


def test_the_nik_steps_service_reads_a_real_signed_answer(make_station) -> None:  # type: ignore[no-untyped-def]
    """The UI's glue (kiosk.tui.dedup_services) over a real sync worker and central: where and
    when in words; no sync worker at all is an offline answer, never an error."""
    from kiosk.dedup.nik_lookup import LookupState
    from kiosk.tui.dedup_services import ask_central_about_nik, earlier_words

    a, b = make_station("ST-A", region="320101"), make_station("ST-B", region="320102")
    person = resident(24)
    enroll(a.store, person)
    a.worker.run_once()

    class Sync:  # what the app holds: kiosk.tui.services.StationSync
        worker = b.worker

    found = ask_central_about_nik(Sync(), person.nik)
    assert found.state is LookupState.RECORDED
    words = earlier_words(found.records[-1], "id")
    assert (words["station"], words["district"], words["regency"]) == ("ST-A", "Cibinong", "Kab. Bogor")
    assert words["date"].split()[1] in ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
                                        "September", "Oktober", "November", "Desember")
    assert ask_central_about_nik(None, person.nik).state is LookupState.OFFLINE


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(filed_at=st.integers(min_value=0, max_value=3), outcome=st.sampled_from([S.APPROVED, S.REJECTED, S.DUPLICATE]),
       passes=st.integers(min_value=1, max_value=3))
def test_a_waiting_request_ends_to_send_only_for_a_duplicate(filed_at: int, outcome: RecordState, passes: int) -> None:
    """Whenever the request is filed before the decision and however many passes look at it: it
    waits while the record is undecided, goes out only for a duplicate, is closed otherwise, and
    is one request with one audit row."""
    import tempfile
    from pathlib import Path

    from kiosk.config import PolicyConfig
    from kiosk.store import RecordStore
    from kiosk.sync.requests import _promote_waiting

    path = [S.CAPTURED, S.QUEUED, S.SUBMITTED, outcome]
    with tempfile.TemporaryDirectory() as folder:
        store = RecordStore(Path(folder), policy=PolicyConfig(required_fingers=(), require_face=False,
                                                              require_signature=False))
        try:
            rid = store.create_draft(resident(30), actor="op").id
            for i, state in enumerate(path):
                if i == filed_at:
                    assert request_deletion(store, rid, reason="moved", actor="op") == "waiting"
                for _ in range(passes):
                    _promote_waiting(store, rid)
                store.transition(rid, state, actor="op")
                if state is not outcome:  # still undecided: filed means waiting, else nothing yet
                    row = deletion_status(store, rid)
                    assert (row["status"] if row else None) == ("waiting" if i >= filed_at else None)
            for _ in range(passes):
                _promote_waiting(store, rid)
            row = deletion_status(store, rid)
            assert row is not None and row["status"] == ("to_send" if outcome is S.DUPLICATE else "closed")
            assert len([e for e in store.audit(rid) if e.action == "deletion_request"]) == 1
            assert len([e for e in store.audit(rid) if e.action == "deletion_closed"]) == (outcome is not S.DUPLICATE)
        finally:
            store.close()


def test_a_station_the_central_does_not_know_gets_a_refused_answer_in_words(make_station) -> None:  # type: ignore[no-untyped-def]
    """Refused is said as refused (not as an unverifiable answer), and the operator goes on."""
    from kiosk.dedup.nik_lookup import LookupState
    from kiosk.i18n import translate
    from kiosk.tui.dedup_services import ask_central_about_nik

    stranger = make_station("ST-X", register=False)

    class Sync:
        worker = stranger.worker

    got = ask_central_about_nik(Sync(), resident(25).nik)
    assert got.state is LookupState.REFUSED and not got.known
    code, params = got.message()
    assert "menolak" in translate(code, "id", **params) and "refused" in translate(code, "en", **params)
