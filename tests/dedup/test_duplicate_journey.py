"""The duplicate resident's journey end to end (issue 14 §2): two stations (two data folders)
and one local central.

Station A records resident R. Station B records R again under another NIK (the same fingers,
another impression). The central's ABIS finds the same person and holds B's record for an
officer, telling B at once (``duplicate``, naming A's record). B's operator files the deletion
request with a reason; it waits for the officer. The officer approves the deletion of the
earlier record (the registry call ``kiosk central adjudication resolve CASE delete_earlier``
makes). A receives the signed ``deleted`` decision: its record leaves the queue and can never
print. B's record, held until the deletion was confirmed, is sent again, approved and printed
once. Each step shows in the queue's words.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from device_mocks.evolis import EvolisMock, usb_connection
from kiosk import permits as station_permits
from kiosk.central.abis.dedup import Verdict
from kiosk.dedup.journey import steps
from kiosk.dedup.local_hold import PreUploadCheck
from kiosk.errors import KioskError
from kiosk.i18n import translate
from kiosk.printer.evolis import EvolisPrinterDriver
from kiosk.printer.gate import PrintGate
from kiosk.store import RecordState as S
from kiosk.sync.requests import request_deletion
from kiosk.sync.synthetic import enroll_residents, enroll_synthetic

DISTRICT = "320101"
#: seed of station B whose one repeat of station A's first resident is "other_nik" (kiosk.sync.synthetic)
B_SEED = 1


def step_of(station, record_id: str) -> str:  # type: ignore[no-untyped-def]
    code, params = steps(station.store, [station.store.get(record_id)])[record_id]
    return translate(code, "en", **params)


def sync_until(station, done, passes: int = 30) -> None:  # type: ignore[no-untyped-def]
    """Sync passes until ``done()`` (a loaded machine may need several for a full-size record:
    a pass has a bounded number of chunk attempts), at most ``passes``."""
    for _ in range(passes):
        station.worker.run_once()
        if done():
            return
    raise AssertionError(f"not reached after {passes} sync passes of {station.id}")


@pytest.fixture
def printers(tmp_path: Path):  # type: ignore[no-untyped-def]
    out = {}
    for name in ("A", "B"):
        mock = EvolisMock(tmp_path / f"evolis-{name}", cards=10, ribbon_left=100)
        drv = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(timeout_s=0.5, print_timeout_s=2.0),
                                  connection=usb_connection(mock))
        drv.open()
        out[name] = (mock, drv)
    yield out
    for _, drv in out.values():
        drv.close()


def test_a_resident_recorded_twice_is_deleted_at_the_first_station_and_prints_once_at_the_second(
        make_station, central, printers, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a, b = make_station("ST-A", region=DISTRICT), make_station("ST-B", region=DISTRICT)
    checks = []
    for st in (a, b):  # each station's own fingerprint check runs before upload, as on a real station
        check = PreUploadCheck(st.store, tmp_path / st.id)
        st.worker.outbox.pre_upload = check
        checks.append(check)
    try:
        # station A records resident R (realistic generator fingers, 500 ppi WSQ and templates)
        [ra] = enroll_synthetic(a.store, 1, district=DISTRICT, seed=0)
        sync_until(a, lambda: a.store.get(ra).state is S.APPROVED)
        assert [p.status for p in station_permits.permits_for(a.store, ra)] == ["received"]

        # station B records R under another NIK
        run = enroll_residents(b.store, 1, district=DISTRICT, seed=B_SEED, repeat_share=1.0, repeat_seed=0,
                               repeat_pool=1)
        [rb] = run.created
        assert [r.kind for r in run.repeats] == ["other_nik"]
        assert b.store.identity(rb).nik != a.store.identity(ra).nik
        assert step_of(b, rb) == "waiting to be sent to the central"
        sync_until(b, lambda: b.store.get(rb).state not in (S.QUEUED, S.SUBMITTED))
        # the central's ABIS found the same fingers: held for its officer, and B is told where
        assert b.store.get(rb).state is S.DUPLICATE
        [case] = central.registry.adjudications()
        assert (case["record_id"], case["earlier_record"], case["earlier_station"]) == (rb, ra, "ST-A")
        assert step_of(b, rb) == (f"duplicate of record {ra[:8]} at station ST-A: file a deletion request "
                                  "for the earlier record")

        # B's operator files the deletion request with the reason; it waits for the officer
        request_deletion(b.store, rb, reason="resident moved from ST-A's district; one record only", actor="op-b")
        assert step_of(b, rb) == "duplicate: deletion request waiting to be sent"
        sync_until(b, lambda: step_of(b, rb) == "duplicate: waiting for the central to delete the earlier record")
        b.worker.run_once()  # asked again: still waiting for the officer
        assert step_of(b, rb) == "duplicate: waiting for the central to delete the earlier record"
        a.worker.run_once()
        assert a.store.get(ra).state is S.APPROVED  # nothing deleted before the officer decided
        row = central.registry.conn.execute("SELECT status, reason FROM deletions WHERE record_id=?", (rb,)).fetchone()
        assert tuple(row) == ("pending", "resident moved from ST-A's district; one record only")

        # the officer at the central approves the deletion of the earlier record
        central.registry.resolve_adjudication(case["case_id"][:8], Verdict.DELETE_EARLIER, actor="officer",
                                              note="approved: deletion request from ST-B")

        # A hears it through its signed decision feed: the record leaves the queue for good
        sync_until(a, lambda: a.store.get(ra).state is not S.APPROVED)
        assert a.store.get(ra).state is S.DELETED
        assert step_of(a, ra) == "deleted at the central: left the queue, never prints"
        assert [p.status for p in station_permits.permits_for(a.store, ra)] == ["void"]
        assert a.store.list(S.APPROVED) == []
        mock_a, drv_a = printers["A"]
        gate_a = PrintGate(a.store, central_key=central.registry.keys.signing_public, station_id="ST-A")
        with pytest.raises(KioskError):
            gate_a.print_record(ra, drv_a, actor="op-a")
        assert mock_a.printed_cards() == []

        # B's record, held until the deletion was confirmed, is sent again and approved
        sync_until(b, lambda: b.store.get(rb).state not in (S.DUPLICATE, S.QUEUED, S.SUBMITTED))
        assert b.store.get(rb).state is S.APPROVED
        moves = [e.to_state for e in b.store.audit(rb) if e.to_state]
        assert moves[-6:] == ["queued", "submitted", "duplicate", "queued", "submitted", "approved"]
        assert any(e.action == "deletion_request" and e.actor == "op-b" for e in b.store.audit(rb))

        # and prints once
        mock_b, drv_b = printers["B"]
        gate_b = PrintGate(b.store, central_key=central.registry.keys.signing_public, station_id="ST-B")
        gate_b.print_record(rb, drv_b, actor="op-b")
        assert b.store.get(rb).state is S.PRINTED and len(mock_b.printed_cards()) == 1
        with pytest.raises(KioskError):
            gate_b.print_record(rb, drv_b, actor="op-b")
        assert len(mock_b.printed_cards()) == 1

        # one NIK, one person at the central
        holders = [r[0] for r in central.registry.conn.execute("SELECT record_id FROM persons")]
        assert holders == [rb]
        assert a.store.verify_audit() is None and b.store.verify_audit() is None
    finally:
        for check in checks:
            check.close()
