"""Bad network: 500 records through a central that fails 30% of requests in every way it can
(503, hang past the client's timeout, reset mid-body, reset after doing the work), with added
latency and a bandwidth cap, all arrive exactly once and all get their decision."""

from __future__ import annotations

import time

import pytest

from kiosk.sync.synthetic import enroll_synthetic
from kiosk.sync.worker import SyncSettings, permits

COUNT = 500


@pytest.mark.slow
def test_500_records_through_30_percent_faults_arrive_exactly_once(make_station, central) -> None:  # type: ignore[no-untyped-def]
    settings = SyncSettings(timeout_s=0.6, poll_interval_s=0.05, chunk_size=8192, backoff_base_s=0.01,
                            backoff_cap_s=0.1, parallel=8, attempts_per_pass=20, offline_after=8)
    st = make_station(settings=settings)
    st.store.conn.execute("PRAGMA synchronous=OFF")  # setup only: what is under test is the sync
    ids = enroll_synthetic(st.store, COUNT, district="320101", seed=11, light=True)
    st.store.conn.execute("PRAGMA synchronous=FULL")
    central.faults.set(rate=0.3, hang_s=0.7, latency_s=0.002, bandwidth_bps=50_000_000, seed=5)

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        st.worker.run_once()
        counts = st.store.counts()
        if counts["queued"] == 0 and counts["submitted"] == 0:
            break
    injected = dict(central.faults.injected)
    central.faults.set(rate=0.0)

    assert all(n > 20 for n in injected.values()), injected  # every kind of fault really happened
    assert st.store.counts()["approved"] == COUNT
    reg = central.registry
    with reg.lock:
        per_record = reg.conn.execute("SELECT record_id, COUNT(*) FROM decisions GROUP BY record_id").fetchall()
        uploads = reg.conn.execute("SELECT COUNT(*) FROM uploads WHERE complete=1").fetchone()[0]
        leftovers = reg.conn.execute("SELECT COUNT(*) FROM upload_chunks").fetchone()[0]
    assert sorted(r[0] for r in per_record) == sorted(ids)
    assert all(n == 1 for _, n in per_record)
    assert reg.counts()["records"] == COUNT and uploads == COUNT and leftovers == 0
    for rid in ids:
        moves = [(e.from_state, e.to_state) for e in st.store.audit(rid) if e.action == "transition"]
        assert moves[-2:] == [("queued", "submitted"), ("submitted", "approved")]
        assert len(permits(st.store, rid)) == 1
