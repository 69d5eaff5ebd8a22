"""kill -9 between permit use and print completion: no permit both unspent and printed, and no
double print after the start-up recovery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from device_mocks.evolis import EvolisMock, usb_connection
from kiosk.printer import ledger
from kiosk.printer.evolis import EvolisPrinterDriver
from kiosk.printer.gate import PrintGate, PrintRefused
from kiosk.store import RecordStore
from kiosk.store.states import RecordState
from tests.conftest import ROOT
from tests.printer.conftest import STATION, approved_record, issue

pytestmark = pytest.mark.slow


def kill_mid_print(store: RecordStore, mock_dir: Path, rid: str, fault: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-m", "tests.printer.crash_child", str(store.data_dir), str(mock_dir),
                              rid, fault], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            started = store.conn.execute("SELECT COUNT(*) FROM prints WHERE state='started'").fetchone()[0]
            fed = fault != "hang_after_feed" or any((mock_dir / "cards").glob("*/front.png"))
            if started and fed:
                break
            assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
            time.sleep(0.05)
        else:
            pytest.fail("child never reached the printing point")
        # "stall": the printer state never changes, so give the child time to be deep in the job
        # (panels sent, waiting for Se) before the kill; "hang_after_feed": the card is out already
        time.sleep(1.0 if fault == "stall" else 0.2)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL


def driver_for(mock: EvolisMock) -> EvolisPrinterDriver:
    drv = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(timeout_s=0.3, print_timeout_s=2.0),
                              connection=usb_connection(mock))
    drv.open()
    return drv


def no_permit_unspent_and_printed(store: RecordStore, mock: EvolisMock, rid: str) -> None:
    """Every card that came out is matched by a consumed (spent or spoiled) permit."""
    consumed = [r for r in ledger.permits_for(store, rid) if r.status in ("spent", "spoiled")]
    assert len(mock.printed_cards()) <= len(consumed)


def test_kill_after_card_fed_needs_new_permit_and_never_double_prints(store, central_key, tmp_path):
    rid = approved_record(store)
    permit = issue(central_key, store, rid)
    ledger.store_permit(store, rid, permit)
    mock_dir = tmp_path / "evolis"
    kill_mid_print(store, mock_dir, rid, "hang_after_feed")
    assert store.get(rid).state is RecordState.PRINTING
    mock = EvolisMock(mock_dir)  # the printer after the station restarts
    assert len(mock.printed_cards()) == 1
    drv = driver_for(mock)
    gate = PrintGate(store, central_key=central_key.public_key(), station_id=STATION)
    assert gate.recover(drv) == [(rid, "spoiled_reprint_needed")]
    assert store.get(rid).state is RecordState.APPROVED
    assert ledger.permit(store, permit.permit_id).status == "spoiled"
    assert [r["record_id"] for r in ledger.reprint_requests(store)] == [rid]
    no_permit_unspent_and_printed(store, mock, rid)
    with pytest.raises(PrintRefused) as info:
        gate.print_record(rid, drv, actor="op")
    assert info.value.code == "print.permit_used"
    assert len(mock.printed_cards()) == 1
    # the central answers the reprint request with a new permit: exactly one more card
    ledger.store_permit(store, rid, issue(central_key, store, rid))
    gate.print_record(rid, drv, actor="op")
    assert len(mock.printed_cards()) == 2
    assert store.get(rid).state is RecordState.PRINTED
    no_permit_unspent_and_printed(store, mock, rid)
    drv.close()


def test_kill_before_card_fed_reuses_permit_and_prints_once(store, central_key, tmp_path):
    rid = approved_record(store)
    permit = issue(central_key, store, rid)
    ledger.store_permit(store, rid, permit)
    mock_dir = tmp_path / "evolis"
    kill_mid_print(store, mock_dir, rid, "stall")
    mock = EvolisMock(mock_dir)
    assert mock.printed_cards() == []
    drv = driver_for(mock)
    gate = PrintGate(store, central_key=central_key.public_key(), station_id=STATION)
    assert gate.recover(drv) == [(rid, "permit_reusable")]
    assert ledger.permit(store, permit.permit_id).status == "received"
    gate.print_record(rid, drv, actor="op")
    assert len(mock.printed_cards()) == 1
    assert ledger.permit(store, permit.permit_id).status == "spent"
    assert store.get(rid).state is RecordState.PRINTED
    no_permit_unspent_and_printed(store, mock, rid)
    drv.close()


def test_recover_without_printer_assumes_spoiled(store, central_key, tmp_path):
    rid = approved_record(store)
    permit = issue(central_key, store, rid)
    ledger.store_permit(store, rid, permit)
    kill_mid_print(store, tmp_path / "evolis", rid, "stall")
    gate = PrintGate(store, central_key=central_key.public_key(), station_id=STATION)
    assert gate.recover(None) == [(rid, "spoiled_reprint_needed")]
    assert ledger.permit(store, permit.permit_id).status == "spoiled"
