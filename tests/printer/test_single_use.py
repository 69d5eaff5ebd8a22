"""Single use rests on the audit chain, not on the mutable ``print_permits.status`` (issue 13 §2):
resetting a spent permit to ``received`` and its record to ``approved`` used to print a second card."""

from __future__ import annotations

import pytest

from kiosk import permits as station_permits
from kiosk.devices.errors import DeviceFault
from kiosk.permits.ledger import permit_history
from kiosk.printer.gate import PrintGate, PrintRefused
from kiosk.store.states import RecordState
from tests.printer.conftest import STATION, approved_record, issue


def gate_for(store, key) -> PrintGate:  # type: ignore[no-untyped-def]
    return PrintGate(store, central_key=key.public_key(), station_id=STATION)


def test_spent_permit_reset_to_received_and_record_to_approved_is_refused(store, central_key, printer, mock):
    rid = approved_record(store)
    permit = issue(central_key, store, rid)
    station_permits.store_permit(store, rid, permit)
    gate_for(store, central_key).print_record(rid, printer, actor="op")
    assert len(mock.printed_cards()) == 1
    # the tampering of the field report: two UPDATEs, no audit row
    with store.transaction() as conn:
        conn.execute("UPDATE print_permits SET status='received', used_at=NULL, spent_at=NULL WHERE permit_id=?",
                     (permit.permit_id,))
        conn.execute("UPDATE records SET state='approved' WHERE id=?", (rid,))
    assert station_permits.permit(store, permit.permit_id).status == "received"  # type: ignore[union-attr]
    assert permit_history(store.conn, rid, permit.permit_id).status == "spent"
    with pytest.raises(PrintRefused) as info:
        gate_for(store, central_key).print_record(rid, printer, actor="op")
    assert info.value.code == "print.permit_spent"
    assert len(mock.printed_cards()) == 1
    assert store.audit(rid)[-1].action == "print_refused"


def test_spoiled_permit_reset_to_received_is_refused(store, central_key, printer, mock):
    rid = approved_record(store)
    permit = issue(central_key, store, rid)
    station_permits.store_permit(store, rid, permit)
    mock.faults.add("jam")
    with pytest.raises(DeviceFault):
        gate_for(store, central_key).print_record(rid, printer, actor="op")
    mock.faults.clear()
    assert store.get(rid).state is RecordState.APPROVED  # legitimately: the card jammed
    with store.transaction() as conn:
        conn.execute("UPDATE print_permits SET status='received' WHERE permit_id=?", (permit.permit_id,))
    with pytest.raises(PrintRefused) as info:
        gate_for(store, central_key).print_record(rid, printer, actor="op")
    assert (info.value.code, info.value.params["audited"]) == ("print.permit_spent", "spoiled")
    assert mock.printed_cards() == []


def test_record_state_set_without_an_audit_row_is_refused(store, central_key, printer, mock):
    rid = approved_record(store)
    station_permits.store_permit(store, rid, issue(central_key, store, rid))
    store.transition(rid, RecordState.PRINTING, actor="op")  # audited: the trail says printing
    with store.transaction() as conn:  # and put back behind the trail's back
        conn.execute("UPDATE records SET state='approved' WHERE id=?", (rid,))
    with pytest.raises(PrintRefused) as info:
        gate_for(store, central_key).print_record(rid, printer, actor="op")
    assert (info.value.code, info.value.params["audited"]) == ("print.state_unaudited", "printing")
    assert mock.printed_cards() == []
