"""The sealer ahead of the uploads and the uploads share no lock across records: an upload whose
packet was sealed ahead goes while the sealer seals the next record (one lock for all sealing
made every upload wait for the sealer's current record), and takes the sealed bytes from memory."""

from __future__ import annotations

import threading

from kiosk.sync import outbox as outbox_module
from kiosk.sync import packets
from tests.central.conftest import enroll
from tests.conftest import resident


def test_an_upload_does_not_wait_for_the_sealer_sealing_another_record(make_station, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    a, b = enroll(st.store, resident(121)), enroll(st.store, resident(122))
    outbox = st.worker.outbox
    outbox.ensure_packet(a, ahead=True)
    hold, sealing_b = threading.Event(), threading.Event()
    real = packets.build_content

    def slow_for_b(store, record_id, station_id):  # type: ignore[no-untyped-def]
        if record_id == b:
            sealing_b.set()
            assert hold.wait(60)
        return real(store, record_id, station_id)

    monkeypatch.setattr(packets, "build_content", slow_for_b)

    def in_thread(fn):  # type: ignore[no-untyped-def]
        def run() -> None:
            try:
                fn()
            finally:
                st.store.close()  # this thread's connection
        return threading.Thread(target=run)

    sealer = in_thread(lambda: outbox.ensure_packet(b, ahead=True))
    sealer.start()
    assert sealing_b.wait(30)  # the sealer is inside record b's sealing, and stays there
    outcome: list[str] = []
    upload = in_thread(lambda: outcome.append(outbox.upload(a)))
    upload.start()
    upload.join(30)
    finished_while_b_was_sealed = not upload.is_alive()
    hold.set()
    sealer.join(30)
    upload.join(30)
    assert finished_while_b_was_sealed and outcome == ["confirmed"]


def test_a_packet_sealed_ahead_is_sent_from_memory_without_asking_the_central(make_station, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    st = make_station()
    rid = enroll(st.store, resident(123))
    outbox = st.worker.outbox
    row, fresh = outbox.ensure_packet(rid, ahead=True)
    assert fresh
    reads: list[str] = []
    monkeypatch.setattr(outbox_module, "stored_packet", lambda *a, **k: reads.append("db") or (None, False))
    asked: list[str] = []
    real_head = st.client.upload_offset
    monkeypatch.setattr(st.client, "upload_offset", lambda url: asked.append(url) or real_head(url))
    assert outbox.upload(rid) == "confirmed"
    assert reads == [] and asked == []  # neither read back from the database nor a HEAD first
