"""The sync worker as a thread inside another program (the TUI): progress arrives through the
callback, network state is readable at any time, stop() ends it promptly."""

from __future__ import annotations

import queue
import time

from kiosk.store import RecordState
from kiosk.sync.synthetic import enroll_synthetic
from kiosk.sync.worker import SyncProgress


def test_worker_thread_reports_progress_and_stops(make_station) -> None:  # type: ignore[no-untyped-def]
    updates: queue.Queue[SyncProgress] = queue.Queue()
    st = make_station(on_progress=updates.put)
    ids = enroll_synthetic(st.store, 3, district="320101", seed=8)
    thread = st.worker.start_thread()
    deadline = time.monotonic() + 60  # generous: the machine may be loaded; it ends as soon as all are approved
    while time.monotonic() < deadline and any(st.store.get(i).state is not RecordState.APPROVED for i in ids):
        time.sleep(0.05)
    assert all(st.store.get(i).state is RecordState.APPROVED for i in ids)
    seen = []
    while not updates.empty():
        seen.append(updates.get())
    assert any(p.phase == "upload" and p.total == 3 and p.done == 3 for p in seen)
    assert any(p.decisions >= 3 for p in seen)
    assert st.worker.network().state == "online"
    t = time.monotonic()
    st.worker.stop()
    assert not thread.is_alive() and time.monotonic() - t < 10
