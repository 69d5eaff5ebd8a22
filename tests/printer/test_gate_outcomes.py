"""What a printer failure does to the record, the permit and the stock."""

from __future__ import annotations

import threading

import pytest

from kiosk.config import StockConfig
from kiosk.devices.errors import DeviceError, DeviceFault, DeviceTimeout
from kiosk import permits as station_permits
from kiosk.printer import ledger
from kiosk.printer.gate import PrintGate, PrintRefused
from kiosk.printer.stock import Stock
from kiosk.store.queue import IllegalTransition
from kiosk.store.states import RecordState
from tests.printer.conftest import STATION, approved_record, issue


def gate_for(store, key) -> PrintGate:
    return PrintGate(store, central_key=key.public_key(), station_id=STATION)


def test_failure_before_feeding_keeps_permit_and_retry_prints_once(store, central_key, printer, mock):
    rid = approved_record(store)
    permit = issue(central_key, store, rid)
    station_permits.store_permit(store, rid, permit)
    mock.faults.add("cover_open")
    with pytest.raises(DeviceFault) as info:
        gate_for(store, central_key).print_record(rid, printer, actor="op")
    assert info.value.reason == "cover_open"
    assert store.get(rid).state is RecordState.APPROVED
    assert station_permits.permit(store, permit.permit_id).status == "received"
    (row,) = ledger.prints_for(store, rid)
    assert (row["state"], row["reason"]) == ("failed", "device.fault.cover_open")
    assert station_permits.reprint_requests(store) == []
    mock.faults.clear()  # the operator closed the cover
    gate_for(store, central_key).print_record(rid, printer, actor="op")
    assert len(mock.printed_cards()) == 1
    assert station_permits.permit(store, permit.permit_id).status == "spent"


def test_jam_spoils_card_and_queues_reprint_request(store, central_key, printer, mock):
    rid = approved_record(store)
    permit = issue(central_key, store, rid)
    station_permits.store_permit(store, rid, permit)
    Stock(store).add_cards(10, actor="op")
    mock.faults.add("jam")
    with pytest.raises(DeviceFault):
        gate_for(store, central_key).print_record(rid, printer, actor="op")
    assert store.get(rid).state is RecordState.APPROVED
    assert station_permits.permit(store, permit.permit_id).status == "spoiled"
    (req,) = station_permits.reprint_requests(store, unsent_only=True)
    assert (req["record_id"], req["permit_id"], req["reason"]) == (rid, permit.permit_id, "device.fault.jam")
    levels = Stock(store).levels()
    assert (levels.cards, levels.spoiled, levels.printed) == (9, 1, 0)
    moves = [e for e in store.audit(rid) if e.action == "transition"]
    assert (moves[-1].from_state, moves[-1].to_state, moves[-1].reason) == ("printing", "approved", "device.fault.jam")


def test_printer_silent_mid_job_counts_as_spoiled(store, central_key, printer, mock):
    rid = approved_record(store)
    permit = issue(central_key, store, rid)
    station_permits.store_permit(store, rid, permit)
    real = mock._execute

    def silent_after_start(name, params, payload):
        if name == "Ss":
            mock.faults.add("silence")
        return real(name, params, payload)

    mock._execute = silent_after_start
    with pytest.raises(DeviceTimeout):
        gate_for(store, central_key).print_record(rid, printer, actor="op")
    assert station_permits.permit(store, permit.permit_id).status == "spoiled"


def test_success_books_card_and_ribbon(store, central_key, printer, mock):
    rid = approved_record(store)
    station_permits.store_permit(store, rid, issue(central_key, store, rid))
    stock = Stock(store, StockConfig(low_cards=5, low_ribbon_panels=10))
    stock.add_cards(6, actor="op")
    stock.load_ribbon(11, actor="op")
    gate_for(store, central_key).print_record(rid, printer, actor="op")
    counted = stock.levels()
    assert (counted.cards, counted.ribbon_panels, counted.printed) == (5, 10, 1)
    assert counted.warnings == ()
    live = stock.levels(printer)  # the Evolis ribbon tells what it has left: 150 - 1
    assert (live.ribbon_panels, live.ribbon_source) == (149, "printer")


def test_low_stock_warnings_at_thresholds(store):
    stock = Stock(store, StockConfig(low_cards=50, low_ribbon_panels=100))
    stock.add_cards(49, actor="op")
    stock.load_ribbon(99, actor="op")
    codes = [c for c, _ in stock.levels().warnings]
    assert codes == ["stock.low_cards", "stock.low_ribbon"]
    stock.add_cards(1, actor="op")
    stock.load_ribbon(100, actor="op")
    assert stock.levels().warnings == ()


def test_spoil_needs_a_reason(store):
    from kiosk.errors import InputError

    with pytest.raises(InputError):
        Stock(store).spoil("  ", actor="op")


def test_two_printers_racing_for_one_permit_print_one_card(store, central_key, printer, mock):
    rid = approved_record(store)
    station_permits.store_permit(store, rid, issue(central_key, store, rid))
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def attempt() -> None:
        barrier.wait()
        try:
            gate_for(store, central_key).print_record(rid, printer, actor="op")
        except (PrintRefused, IllegalTransition, DeviceError) as exc:
            errors.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(mock.printed_cards()) == 1
    assert len(errors) == 1
    assert store.get(rid).state is RecordState.PRINTED


def test_permit_stored_in_the_same_transaction_that_approves_the_record(store, central_key, printer, mock):
    # what the sync worker does when the central's decision arrives: approve + keep the permit, atomically
    from kiosk.store.queue import RecordStore

    fresh = RecordStore(store.data_dir, policy=store.policy)  # no printer tables touched yet on this object
    rid = approved_record(fresh)
    with fresh.transaction() as conn:
        conn.execute("UPDATE records SET state='submitted' WHERE id=?", (rid,))
    permit = issue(central_key, fresh, rid)
    fresh.transition(rid, RecordState.APPROVED, actor="sync",
                     extra=lambda conn: station_permits.receive(fresh, conn, permit, record_id=rid, actor="sync"))
    assert station_permits.permit(fresh, permit.permit_id).status == "received"
    gate_for(fresh, central_key).print_record(rid, printer, actor="op")
    assert len(mock.printed_cards()) == 1
    fresh.close()


def test_permit_is_not_kept_when_the_approval_rolls_back(store, central_key):
    rid = approved_record(store)
    with store.transaction() as conn:
        conn.execute("UPDATE records SET state='submitted' WHERE id=?", (rid,))
    permit = issue(central_key, store, rid)

    def store_then_fail(conn):
        station_permits.receive(store, conn, permit, record_id=rid, actor="sync")
        raise RuntimeError("crash inside the transaction")

    with pytest.raises(RuntimeError):
        store.transition(rid, RecordState.APPROVED, actor="sync", extra=store_then_fail)
    assert station_permits.permit(store, permit.permit_id) is None
    assert store.get(rid).state is RecordState.SUBMITTED
