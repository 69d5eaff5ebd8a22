"""Issue 14 §4 from the UI: after a recording the review step's Ctrl+T queues the record and
prints the resident's receipt through a REAL cupsd (tests.printer.cupsd_rig) in a worker; the
record detail reprints it (T); no queue configured or a failing printer is one plain line."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kiosk.config import ReceiptConfig
from kiosk.store import RecordState
from kiosk.tui.app import KioskApp
from kiosk.tui.screens.enroll_review import ReviewScreen
from kiosk.tui.screens.home import HomeScreen
from tests.printer.cupsd_rig import cupsd, output_file  # noqa: F401 - the real cupsd fixture
from tests.tui.conftest import FIXED_TODAY
from tests.tui.test_flow import enroll, login, wait_for


def notes(app: Any) -> str:
    return " ".join(str(n.message) for n in app._notifications)


async def to_review(pilot: Any, app: Any, devices: Any) -> str:
    """A full enrollment up to the review step (test_flow.enroll stops there)."""
    await login(pilot, "siti", "rahasia123")
    record_id = await enroll(pilot, app, devices, submit="")
    await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen))
    return record_id


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout


async def test_ctrl_t_queues_the_record_and_a_receipt_job_reaches_cups(tui_config: Any, devices: Any, clock: Any,
                                                                       accounts: Any, cupsd: Any) -> None:  # noqa: F811
    out = output_file(Path(str(cupsd["out"])))
    out.write_bytes(b"")
    cfg = dataclasses.replace(tui_config, receipt=ReceiptConfig(queue="card", server=str(cupsd["server"]),
                                                                job_timeout_s=60))
    app = KioskApp(cfg, devices=devices, clock=clock, monotonic=clock, today=lambda: FIXED_TODAY, sync=False)
    async with app.run_test(size=(80, 24)) as pilot:
        record_id = await to_review(pilot, app, devices)
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        assert app.store.get(record_id).state is RecordState.QUEUED
        # the worker follows the job to its end in CUPS, then says so
        await wait_for(pilot, lambda: "Receipt printed" in notes(app) or "did not print" in notes(app), tries=1200)
        assert "Receipt printed (job cups:card-" in notes(app), notes(app)
    if cupsd["pdf"] and shutil.which("pdftotext"):
        # the job that reached the printer is this resident's receipt (the full NIK never printed)
        text = pdf_text(out)
        assert "SITI AMINAH" in text and app.store.identity(record_id).nik not in text


async def test_without_a_receipt_queue_the_operator_is_told_and_the_record_is_queued(
        make_app: Any, devices: Any, accounts: Any) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        record_id = await to_review(pilot, app, devices)
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: "No receipt printer is set up" in notes(app), tries=400)
        assert app.store.get(record_id).state is RecordState.QUEUED


async def test_the_record_detail_reprints_and_a_stopped_printer_is_a_plain_line(
        tui_config: Any, devices: Any, clock: Any, accounts: Any, cupsd: Any) -> None:  # noqa: F811
    # the "broken" queue's device does not exist: the job fails inside CUPS
    cfg = dataclasses.replace(tui_config, receipt=ReceiptConfig(queue="broken", server=str(cupsd["server"]),
                                                                job_timeout_s=30))
    app = KioskApp(cfg, devices=devices, clock=clock, monotonic=clock, today=lambda: FIXED_TODAY, sync=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_review(pilot, app, devices)
        await pilot.press("ctrl+s")  # recorded without a receipt this time
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        await pilot.press("u")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.2)
        await pilot.press("t")
        await wait_for(pilot, lambda: "Receipt printed" in notes(app) or "did not print" in notes(app), tries=1200)
        assert "The receipt did not print: " in notes(app), notes(app)
        assert "Unexpected" not in notes(app) and "Traceback" not in notes(app)
        assert "receipt-printer" not in notes(app)  # the queue is named as the operator knows it


def test_an_unreachable_print_server_is_one_plain_line_naming_the_receipt_printer(tmp_path: Path) -> None:
    from kiosk.config import PolicyConfig
    from kiosk.i18n import set_language
    from kiosk.store import RecordStore
    from kiosk.tui.dedup_services import print_receipt_of
    from kiosk.tui.screens.receipt_print import receipt_problem
    from tests.conftest import resident
    from tests.printer.cupsd_rig import free_port

    store = RecordStore(tmp_path / "st", policy=PolicyConfig(required_fingers=(), require_face=False,
                                                              require_signature=False))
    rid = store.create_draft(resident(5), actor="op").id
    store.transition(rid, RecordState.CAPTURED, actor="op")
    store.transition(rid, RecordState.QUEUED, actor="op")
    cfg = type("Cfg", (), {"receipt": ReceiptConfig(queue="kantor", server=f"127.0.0.1:{free_port()}",
                                                    job_timeout_s=5),
                           "station": type("St", (), {"id": "ST-01", "name": "Kantor", "language": "id"})()})()
    set_language("id")
    try:
        with pytest.raises(Exception) as err:
            print_receipt_of(store, cfg, rid)  # type: ignore[arg-type]
        line = receipt_problem(err.value)
    finally:
        set_language("en")
        store.close()
    assert line.startswith("Perangkat printer tanda terima tidak terhubung"), line
    assert "\n" not in line and "receipt-printer" not in line and "Unexpected" not in line
