"""Property: whatever signed decisions follow, in whatever order, once the central's
``deleted`` decision is applied the record stays deleted, holds no usable permit and the print
gate refuses it; and a decision that is not applied never moves it (hypothesis)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk import permits as station_permits
from kiosk.central.answers import sign_answer
from kiosk.errors import KioskError
from kiosk.printer.gate import PrintGate
from kiosk.store import RecordState as S
from tests.central.conftest import enroll
from tests.conftest import resident

_serial = itertools.count(200)

KINDS = ("approved", "rejected", "duplicate", "deleted")
DUP = {"station_id": "ST-X", "region": "320101", "record_id": "00000000-0000-4000-8000-000000000001"}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=5),
       gaps=st.lists(st.integers(1, 50), min_size=5, max_size=5))
def test_deleted_is_final_whatever_decisions_follow(make_station, central, kinds: list[str], gaps: list[int]) -> None:  # type: ignore[no-untyped-def]
    # a station per example: the invented seqs move its decision cursor past the central's own
    station = make_station(f"ST-P{next(_serial)}")
    store = station.store
    rid = enroll(store, resident(next(_serial)))
    station.worker.run_once()
    assert store.get(rid).state is S.APPROVED
    submission = store.conn.execute("SELECT submission FROM sync_packets WHERE record_id=?", (rid,)).fetchone()[0]
    seq = station.worker.cursor()
    deleted = False
    for kind, gap in zip(kinds, gaps):
        seq += gap
        body = {"seq": seq, "station_id": station.id, "record_id": rid, "submission": submission, "decision": kind,
                "decided_at": dt.datetime.now(dt.timezone.utc).isoformat(), "permit": None, "reason": None,
                "duplicate_of": DUP if kind == "duplicate" else None}
        before = store.get(rid).state
        outcome = station.worker.apply_decision(sign_answer(central.registry.keys.signing, "decision", body))
        after = store.get(rid).state
        if kind == "deleted" and before is not S.DELETED:
            assert outcome == "applied" and after is S.DELETED
            deleted = True
        elif outcome != "applied":
            assert after is before  # a decision not applied never moves the record
        if deleted:
            assert after is S.DELETED
    if deleted:
        assert all(p.status != "received" for p in station_permits.permits_for(store, rid))
        gate = PrintGate(store, central_key=central.registry.keys.signing_public, station_id=station.id)
        with pytest.raises(KioskError):
            gate.prepare(rid)
    assert store.verify_audit() is None
