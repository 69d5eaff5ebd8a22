"""A queued record's sealed packet is a file in the outbox folder named by its row (record,
submission, SHA-256), not a blob in the station database; a file lost or damaged (a power cut)
is sealed again; a confirmed packet's file goes; files no row needs are swept; and rows sealed
before packets were files still send their stored bytes."""

from __future__ import annotations

import hashlib
from pathlib import Path

from kiosk.central.packet import build_content, seal
from kiosk.store import RecordState
from kiosk.sync.packets import OUTBOX_DIR, packet_file, sweep_packet_files
from kiosk.sync.schema import ensure_schema
from tests.central.conftest import enroll
from tests.conftest import resident

S = RecordState


def _row(store, rid: str):  # type: ignore[no-untyped-def]
    return store.conn.execute("SELECT * FROM sync_packets WHERE record_id=?", (rid,)).fetchone()


def _central_packet(central, rid: str) -> bytes:  # type: ignore[no-untyped-def]
    with central.registry.lock:
        return bytes(central.registry.conn.execute("SELECT packet FROM records WHERE record_id=?",
                                                   (rid,)).fetchone()[0])


def test_a_sealed_packet_is_a_file_named_by_its_row_not_a_database_blob(make_station) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    rid = enroll(st.store, resident(301))
    stored, fresh = st.worker.outbox.ensure_packet(rid)
    row = _row(st.store, rid)
    assert fresh and row["packet"] is None
    path = packet_file(st.store, rid, 1, row["sha256"])
    assert path.read_bytes() == stored.packet
    assert (row["length"], row["sha256"]) == (len(stored.packet), hashlib.sha256(stored.packet).hexdigest())
    again, fresh_again = st.worker.outbox.ensure_packet(rid)  # read back, not sealed again
    assert not fresh_again and again.packet == stored.packet


def test_a_confirmed_packet_leaves_no_file_and_the_central_holds_the_same_bytes(make_station, central) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    rid = enroll(st.store, resident(302))
    stored, _ = st.worker.outbox.ensure_packet(rid)
    path = packet_file(st.store, rid, 1, stored.sha256)
    assert st.worker.run_once()["confirmed"] == 1
    assert st.store.get(rid).state is not S.QUEUED  # submitted, or decided already
    assert not path.exists()
    assert _central_packet(central, rid) == stored.packet


def test_a_lost_or_damaged_packet_file_is_sealed_again_and_still_arrives(make_station, central) -> None:  # type: ignore[no-untyped-def]
    """After a power cut the row may name a file that is gone or holds other bytes: sending
    those would fail the central's checksum forever; the record is sealed again instead."""
    st = make_station()
    lost, damaged = enroll(st.store, resident(303)), enroll(st.store, resident(304))
    first = {rid: st.worker.outbox.ensure_packet(rid)[0] for rid in (lost, damaged)}
    packet_file(st.store, lost, 1, first[lost].sha256).unlink()
    broken = bytearray(first[damaged].packet)
    broken[100] ^= 1
    packet_file(st.store, damaged, 1, first[damaged].sha256).write_bytes(bytes(broken))
    for rid in (lost, damaged):
        again, fresh = st.worker.outbox.ensure_packet(rid)
        assert fresh and again.sha256 != first[rid].sha256
        assert _row(st.store, rid)["sha256"] == again.sha256
    assert st.worker.run_once()["confirmed"] == 2
    assert central.registry.counts()["records"] == 2


def test_files_no_row_needs_are_swept_and_the_others_kept(make_station) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    keep, confirmed = enroll(st.store, resident(305)), enroll(st.store, resident(306))
    kept = st.worker.outbox.ensure_packet(keep)[0]
    done = st.worker.outbox.ensure_packet(confirmed)[0]
    folder = st.store.data_dir / OUTBOX_DIR
    leftover = folder / f"{confirmed}.1.{done.sha256}.pkt.copy"
    st.worker.outbox.confirm(confirmed, 1)
    # what a kill between the commit and the unlink leaves, and a sealer killed before its row
    packet_file(st.store, confirmed, 1, done.sha256).write_bytes(done.packet)
    orphan = packet_file(st.store, keep, 1, "0" * 64)
    orphan.write_bytes(b"sealed, never named")
    leftover.write_bytes(b"not a packet file")
    assert sweep_packet_files(st.store) == 2
    assert sorted(p.name for p in folder.iterdir()) == sorted([packet_file(st.store, keep, 1, kept.sha256).name,
                                                               leftover.name])


def test_a_packet_stored_in_the_database_before_files_is_still_sent_as_it_is(make_station, central) -> None:  # type: ignore[no-untyped-def]
    """A station upgraded with packets queued: their rows hold the bytes; those bytes are sent
    (the central may hold part of them already), not a new seal."""
    st = make_station()
    rid = enroll(st.store, resident(307))
    ensure_schema(st.store)
    old = seal(build_content(st.store, rid, st.id), record_id=rid, station_id=st.id, submission=1,
               station_key=st.keys.signing, central_key=st.worker.sealing_key, version=2)
    with st.store.transaction() as conn:
        conn.execute("INSERT INTO sync_packets(record_id, submission, packet, sha256, length, attempts, created_at)"
                     " VALUES (?,1,?,?,?,1,'2026-12-01T00:00:00+00:00')",
                     (rid, old, hashlib.sha256(old).hexdigest(), len(old)))
    stored, fresh = st.worker.outbox.ensure_packet(rid)
    assert not fresh and stored.packet == old
    assert st.worker.run_once()["confirmed"] == 1
    assert _central_packet(central, rid) == old
    assert _row(st.store, rid)["packet"] is None  # dropped with the confirmation
    assert not list(Path(st.store.data_dir / OUTBOX_DIR).glob("*.pkt"))
