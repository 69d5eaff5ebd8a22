"""The contract every card-printer driver passes, whatever carries its bytes.

Rigs (one per way a station reaches a printer): the Evolis driver over USB (pyusb, the mock
registered as a named backend), over a pty (serial), over an ``/dev/usb/lp``-style character
file (a pty stands in for usblp), over the in-memory fake connection (``DummyConnection``
answering from the same mock); and the CUPS driver against a real cupsd
(:mod:`tests.printer.cupsd_rig`).

What the contract fixes: a closed printer reports CLOSED and refuses calls with DeviceNotOpen;
an open one identifies itself, is READY and passes its self-test; ``supplies()`` is typed;
``print_card`` returns a job id and exactly one card comes out; a printer that cannot print
raises a typed DeviceError carrying ``card_fed`` (True/False/None) and no card counts as
printed; close and open again works.
"""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path
from typing import Callable, Iterator, Protocol

import numpy as np
import pytest

from device_mocks.evolis import EvolisMock, PtyServer, usb_connection
from kiosk.devices.base import DeviceState
from kiosk.devices.errors import DeviceError, DeviceNotOpen
from kiosk.devices.protocols import CardPrinter, PrinterSupplies
from kiosk.printer.connections import DummyConnection
from kiosk.printer.cups import CupsPrinterDriver
from kiosk.printer.evolis import EvolisPrinterDriver
from tests.printer.cupsd_rig import output_file


class CardPrinterRig(Protocol):
    #: a fresh, closed driver pointed at the printer
    driver: CardPrinter

    def cards_out(self) -> int:
        """Cards that came out printed so far."""

    def break_printer(self) -> None:
        """From now on the printer cannot print (no blank card, or a dead device)."""

    def close(self) -> None:
        """Stop what the rig started (the driver is closed by the suite)."""


def card_image() -> np.ndarray:
    img = np.full((648, 1016, 3), 240, np.uint8)
    img[80:200, 60:500] = (30, 80, 170)
    img[300:330, 60:900] = 0
    return img


class EvolisRig:
    def __init__(self, tmp_path: Path, wire: str) -> None:
        self.mock = EvolisMock(tmp_path / "evolis", cards=20, ribbon_left=100)
        self.server: PtyServer | None = None
        # generous waits: no contract test waits for a silent printer, and the emulator renders each
        # card to PNG, which took over 2 s on a loaded 2-core machine (evolis-lp failed there)
        waits = {"timeout_s": 10.0, "print_timeout_s": 30.0, "reset_timeout_s": 10.0}
        params = EvolisPrinterDriver.Params(**waits)
        if wire == "usb":
            connection = usb_connection(self.mock)
        elif wire == "fake":
            connection = DummyConnection("printer", answer=self.mock.feed)
        else:
            self.server = PtyServer(self.mock)
            connection = None
            if wire == "serial":
                params = EvolisPrinterDriver.Params(connection="serial", port=self.server.path, **waits)
            else:  # "lp": read and written as a character file, as /dev/usb/lp0 is
                params = EvolisPrinterDriver.Params(connection="lp", device=self.server.path, **waits)
        self.driver = EvolisPrinterDriver("printer", params, connection=connection)

    def cards_out(self) -> int:
        return len(self.mock.printed_cards())

    def break_printer(self) -> None:
        self.mock.faults.add("no_card")

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


_queues = itertools.count(1)


class CupsRig:
    def __init__(self, cupsd: dict[str, object]) -> None:
        self.server = str(cupsd["server"])
        root = Path(str(cupsd["root"]))
        self.queue = f"contract{next(_queues)}"
        self.out = output_file(root / "out" / f"{self.queue}.pdf")
        self.lpadmin("-E", "-v", f"file://{self.out}", *(["-m", "lsb/usr/cupsfilters/Generic-PDF_Printer-PDF.ppd"]
                                                           if cupsd["pdf"] else []))
        self.driver = CupsPrinterDriver("printer", CupsPrinterDriver.Params(
            queue=self.queue, server=self.server, job_timeout_s=30, poll_interval_s=0.1))

    def lpadmin(self, *args: str) -> None:
        subprocess.run(["lpadmin", "-h", self.server, "-p", self.queue, *args], check=True, capture_output=True)

    def cards_out(self) -> int:
        """Jobs of this queue that CUPS finished as completed (job-state 9), not aborted/canceled."""
        done = subprocess.run(["lpstat", "-h", self.server, "-W", "completed", "-o", self.queue],
                              capture_output=True, text=True).stdout
        ids = [int(line.split()[0].rsplit("-", 1)[1]) for line in done.splitlines() if line.strip()]
        if not ids:
            return 0
        with CupsPrinterDriver("rig", self.driver.p) as probe:
            return sum(1 for job_id in ids if probe._job_state(job_id)[0] == 9)

    def break_printer(self) -> None:
        self.lpadmin("-v", "file:///nonexistent-kiosk-dir/card.pdf", "-o", "printer-error-policy=abort-job")

    def close(self) -> None:
        subprocess.run(["lpadmin", "-h", self.server, "-x", self.queue], capture_output=True)


RIG_NAMES = ("evolis-usb", "evolis-serial", "evolis-lp", "evolis-fake", "cups")


@pytest.fixture(params=RIG_NAMES)
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CardPrinterRig]:
    made: EvolisRig | CupsRig
    if request.param == "cups":
        made = CupsRig(request.getfixturevalue("cupsd"))
    else:
        made = EvolisRig(tmp_path, request.param.split("-", 1)[1])
    try:
        yield made
    finally:
        try:
            if made.driver.is_open:
                made.driver.close()
        finally:
            made.close()


class CardPrinterContract:
    def test_closed_printer_reports_closed_and_refuses_calls(self, rig: CardPrinterRig) -> None:
        d = rig.driver
        assert d.status().state is DeviceState.CLOSED
        calls: list[Callable[[], object]] = [d.info, d.supplies, lambda: d.print_card(card_image())]
        for call in calls:
            with pytest.raises(DeviceNotOpen):
                call()
        assert rig.cards_out() == 0

    def test_open_identifies_is_ready_and_passes_self_test(self, rig: CardPrinterRig) -> None:
        with rig.driver as d:
            info = d.info()
            assert info.vendor and info.model
            assert d.status().state is DeviceState.READY
            result = d.self_test()
            assert result.passed, result.checks

    def test_supplies_are_typed(self, rig: CardPrinterRig) -> None:
        with rig.driver as d:
            sup = d.supplies()
        assert isinstance(sup, PrinterSupplies)
        for value in (sup.cards_in_hopper, sup.ribbon_panels_left, sup.total_printed):
            assert value is None or (isinstance(value, int) and value >= 0)

    def test_one_print_is_one_card_and_a_job_id(self, rig: CardPrinterRig) -> None:
        with rig.driver as d:
            job = d.print_card(card_image())
        assert isinstance(job, str) and job
        assert rig.cards_out() == 1

    def test_a_printer_that_cannot_print_raises_a_typed_error_and_books_no_card(self, rig: CardPrinterRig) -> None:
        with rig.driver as d:
            rig.break_printer()
            with pytest.raises(DeviceError) as caught:
                d.print_card(card_image())
        assert caught.value.params.get("card_fed", "missing") in (True, False, None)
        assert caught.value.code.startswith("device.")
        assert rig.cards_out() == 0

    def test_close_and_open_again(self, rig: CardPrinterRig) -> None:
        d = rig.driver
        d.open()
        d.close()
        assert not d.is_open
        with d:
            assert d.status().state is DeviceState.READY
