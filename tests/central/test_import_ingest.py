"""The central's ingest of whole packets (offline import) meets the upload path: one copy,
one decision, whatever arrives first, however often, and in whichever order."""

from __future__ import annotations

import hashlib

import pytest

from kiosk.central.packet import PacketError, build_content, seal
from kiosk.store import RecordState
from kiosk.sync.worker import stored_packet
from tests.central.conftest import enroll
from tests.conftest import resident

S = RecordState


def packet_of(st, rid: str, submission: int | None = None) -> bytes:  # type: ignore[no-untyped-def]
    if submission is None:
        row, _ = stored_packet(st.store, rid, station_id=st.id, station_key=st.keys.signing,
                               sealing_key=st.worker.sealing_key)
        return bytes(row.packet)
    return seal(build_content(st.store, rid, st.id), record_id=rid, station_id=st.id, submission=submission,
                station_key=st.keys.signing, central_key=st.worker.sealing_key)


def test_import_after_a_partial_upload_completes_it_and_the_station_confirms(make_station, central) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    rid = enroll(st.store, resident(3))
    blob = packet_of(st, rid)
    answer = st.client.create_upload(rid, 1, len(blob), hashlib.sha256(blob).hexdigest())
    st.client.send_chunk(answer.url, 0, blob[:1000])  # the link broke here
    assert central.registry.ingest_packet(blob) == rid  # the stick arrives
    reg = central.registry
    assert reg.conn.execute("SELECT COUNT(*) FROM upload_chunks").fetchone()[0] == 0
    st.worker.run_once()  # resumes: "already complete", then the decision
    assert st.store.get(rid).state is S.APPROVED
    assert reg.counts()["records"] == 1 and reg.counts()["decisions"] == {"approved": 1}


def test_a_stale_submission_imported_late_changes_nothing(make_station, central) -> None:  # type: ignore[no-untyped-def]
    a, b = make_station("ST-A"), make_station("ST-B", region="320102")
    enroll(a.store, resident(7))
    a.worker.run_once()
    rid = enroll(b.store, resident(7))
    first = packet_of(b, rid)
    central.registry.ingest_packet(first)
    central.registry.decide_due()
    assert central.registry.counts()["decisions"]["duplicate"] == 1
    second = packet_of(b, rid, submission=2)
    central.registry.ingest_packet(second)  # resubmitted after a deletion
    central.registry.ingest_packet(first)  # an old stick turns up
    row = central.registry.conn.execute("SELECT submission, packet FROM records WHERE record_id=?", (rid,)).fetchone()
    assert row[0] == 2 and bytes(row[1]) == second
    subs = central.registry.conn.execute("SELECT submission FROM uploads WHERE record_id=? ORDER BY submission",
                                         (rid,)).fetchall()
    assert [r[0] for r in subs] == [1, 2]


def test_a_new_submission_without_a_duplicate_decision_is_refused(make_station, central) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    rid = enroll(st.store, resident(8))
    st.worker.run_once()
    assert st.store.get(rid).state is S.APPROVED
    with pytest.raises(PacketError) as err:
        central.registry.ingest_packet(packet_of(st, rid, submission=2))
    assert err.value.code == "upload.already_decided"


def test_a_record_of_another_station_is_refused(make_station, central) -> None:  # type: ignore[no-untyped-def]
    a, b = make_station("ST-A"), make_station("ST-B", region="320102")
    rid = enroll(a.store, resident(9))
    a.worker.run_once()
    forged = seal(build_content(a.store, rid, "ST-B"), record_id=rid, station_id="ST-B", submission=1,
                  station_key=b.keys.signing, central_key=b.worker.sealing_key)
    with pytest.raises(PacketError) as err:
        central.registry.ingest_packet(forged)
    assert err.value.code == "packet.conflict"
    assert central.registry.counts()["records"] == 1
