"""The CUPS driver against a REAL cupsd started by the test suite (private config, free port).

The queue's device is file:///... with the Generic PDF Printer PPD of cups-filters, so the card
goes through a real CUPS filter (imagetopdf) and lands in a file; a second queue points at a
directory that does not exist, so its jobs fail inside CUPS.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kiosk.devices.base import DeviceState
from kiosk.devices.errors import DeviceAbsent, DeviceFault
from kiosk.printer import ipp
from kiosk.printer.cups import CupsPrinterDriver, reason_from
from tests.printer.cupsd_rig import cupsd, free_port  # noqa: F401 (fixture)


def driver(cupsd: dict[str, object], queue: str = "card") -> CupsPrinterDriver:
    return CupsPrinterDriver("printer", CupsPrinterDriver.Params(queue=queue, server=str(cupsd["server"]),
                                                                 job_timeout_s=30, poll_interval_s=0.1))


def card() -> np.ndarray:
    img = np.full((648, 1016, 3), 230, np.uint8)
    img[100:300, 100:600] = (20, 60, 160)
    return img


def test_opens_queue_and_reports_ready(cupsd):
    with driver(cupsd) as drv:
        assert drv.status().state is DeviceState.READY
        assert drv.info().extra["queue"] == "card"


def test_prints_card_and_follows_job_to_completion(cupsd):
    out = Path(str(cupsd["out"]))
    stages: list[str] = []
    with driver(cupsd) as drv:
        job = drv.print_card(card(), progress=lambda done, total, stage: stages.append(stage))
    assert job.startswith("cups:card-")
    assert stages[0] == "submit" and stages[-1] == "done"
    if cupsd["pdf"]:  # the real imagetopdf filter ran and the file device received a PDF
        assert b"%PDF-" in out.read_bytes()  # wrapped in PJL by the Generic PDF PPD


def test_front_and_back_go_as_a_two_page_pdf(cupsd):
    with driver(cupsd) as drv:
        assert drv.print_card(card(), card()).startswith("cups:card-")


def test_failed_job_becomes_typed_fault_with_unknown_card_fate(cupsd):
    with driver(cupsd, "broken") as drv:
        with pytest.raises(DeviceFault) as info:
            drv.print_card(card())
    assert info.value.params["card_fed"] is None
    assert info.value.params["state"] in ("aborted", "processing-stopped", "canceled", "pending-held")


def test_unknown_queue_is_absent(cupsd):
    with pytest.raises(DeviceAbsent):
        driver(cupsd, "no-such-queue").open()


def test_no_server_is_absent():
    drv = CupsPrinterDriver("printer", CupsPrinterDriver.Params(queue="card", server=f"127.0.0.1:{free_port()}",
                                                                timeout_s=1.0))
    with pytest.raises(DeviceAbsent):
        drv.open()


def test_state_reasons_map_to_fault_reasons():
    assert reason_from(["media-empty-error"]) == "no_card"
    assert reason_from(["none", "cover-open-warning"]) == "cover_open"
    assert reason_from(["media-jam"]) == "jam"
    assert reason_from(["marker-supply-empty-error"]) == "ribbon_out"
    assert reason_from(["something-else"]) is None


def test_ipp_round_trip_of_request_encoding():
    body = ipp.encode_request(ipp.GET_JOB_ATTRIBUTES, 7, [(ipp.INTEGER, "job-id", 42),
                                                         (ipp.KEYWORD, "requested-attributes", ["a", "b"])])
    # a response is the same wire format with a status code in place of the operation
    resp = ipp.decode_response(body)
    assert resp.request_id == 7
    assert resp.first(ipp.OPERATION)["job-id"] == [42]
    assert resp.first(ipp.OPERATION)["requested-attributes"] == ["a", "b"]
