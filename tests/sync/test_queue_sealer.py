"""Sealing at queue time (kiosk.sync.sealer): a record's packet is sealed when the record is
queued, so the pass only uploads it; a packet no upload has begun with is created without
asking the central first (HEAD), and the bytes the pass sends are the ones sealed then."""

from __future__ import annotations

import hashlib
import threading

from kiosk.central.tus import create_with_upload, Creation
from kiosk.sync import packets
from kiosk.sync.sealer import QueueSealer
from tests.central.conftest import enroll
from tests.conftest import resident


def _heads(st, monkeypatch) -> list[str]:  # type: ignore[no-untyped-def]
    asked: list[str] = []
    real_head = st.client.upload_offset
    monkeypatch.setattr(st.client, "upload_offset", lambda url: asked.append(url) or real_head(url))
    return asked


def test_the_sealer_seals_a_record_when_woken_and_the_pass_sends_those_bytes(make_station, central,
                                                                             monkeypatch) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    sealer = QueueSealer(st.worker.outbox, interval_s=3600).start()  # only wake() makes it seal
    try:
        rid = enroll(st.store, resident(131))
        sealed = threading.Event()
        real = packets.build_content
        monkeypatch.setattr(packets, "build_content", lambda *a: (sealed.set(), real(*a))[1])
        sealer.wake()
        assert sealed.wait(30)
        while st.worker.outbox.packet_row(rid) is None:  # committed just after sealing
            assert not sealer._stop.wait(0.01)
    finally:
        sealer.stop()
    row = st.worker.outbox.packet_row(rid)
    assert row["upload_begun_at"] is None  # no upload has begun with it
    monkeypatch.setattr(packets, "build_content", lambda *a: (_ for _ in ()).throw(AssertionError("sealed twice")))
    asked = _heads(st, monkeypatch)
    assert st.worker.run_once()["confirmed"] == 1
    assert asked == []  # never sent: created at once, no HEAD first
    stored = central.registry.packet(rid)
    assert hashlib.sha256(stored).hexdigest() == row["sha256"]  # the bytes sealed at queue time


def test_a_claimed_packet_is_asked_about_in_the_next_pass(make_station, central, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A pass claims the packets it sends: if it stopped after part of one went out, the next
    pass asks the central where the upload stands instead of taking it as never sent."""
    st = make_station()
    rid = enroll(st.store, resident(132))
    assert st.worker.seal_queued() == 1
    st.worker.outbox.claim_never_sent([rid])  # a pass took it ...
    row = st.worker.outbox.packet_row(rid)
    assert row["upload_begun_at"] is not None
    # ... and its first bytes reached the central before that pass was killed
    create_with_upload(central.registry, "ST-01", Creation(rid, row["submission"], row["length"], row["sha256"]),
                       packets.stored_packet(st.store, rid, station_id="ST-01", station_key=st.keys.signing,
                                             sealing_key=central.registry.keys.sealing_public)[0].packet[:1000])
    st.worker.outbox._never_sent.clear()  # a new process: nothing in memory
    asked = _heads(st, monkeypatch)
    assert st.worker.run_once()["confirmed"] == 1
    assert len(asked) == 1  # asked first, then resumed from the central's offset


def test_a_record_held_at_the_station_is_not_sealed(make_station) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    rid = enroll(st.store, resident(133))
    st.worker.outbox.pre_upload = lambda record_id: False
    assert st.worker.seal_queued() == 0
    assert st.worker.outbox.packet_row(rid) is None


def test_a_pass_reads_each_packet_sealed_at_queue_time_once(make_station, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The pass's sealer ahead of the uploads leaves packets sealed at queue time alone: it
    read each one back from its file (and hashed it) for nothing, the upload reading it again."""
    st = make_station()
    for n in (134, 135, 136):
        enroll(st.store, resident(n))
    assert st.worker.seal_queued() == 3
    reads: list[str] = []
    real = packets._kept_packet
    monkeypatch.setattr(packets, "_kept_packet", lambda store, row: reads.append(row["record_id"]) or real(store, row))
    assert st.worker.run_once()["confirmed"] == 3
    assert sorted(reads) == sorted(set(reads)) and len(reads) == 3
