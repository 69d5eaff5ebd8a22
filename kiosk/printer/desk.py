"""The one print path for the CLI and the TUI: :meth:`kiosk.station.Station.print` runs here.

A print is: the card stock check (nothing prints while the station's book holds no blank card:
:class:`~kiosk.printer.stock.NoBlankCards`), the permit gate (:class:`~kiosk.printer.gate.PrintGate`:
every check, commit before bytes, outcome booked with its audit row and a signed checkpoint),
then the printer's supplies read back into the one stock read model. Interrupted prints whose
card may be in the output tray are listed with the resident they belong to
(:meth:`PrintDesk.tray_checks`) and resolved by the operator's answer (:meth:`PrintDesk.resolve_tray`).

Messages about a record name the resident (:class:`Resident`: name and a masked NIK), never
only a record UUID.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from kiosk.devices.protocols import CardPrinter
from kiosk.errors import KioskError
from kiosk.printer.gate import PrintGate, PrintOutcome, Progress, TrayCheck
from kiosk.printer.stock import NoBlankCards, Stock
from kiosk.store.queue import RecordStore


def mask_nik(nik: str) -> str:
    """Region code and the last four digits; the birth date and serial in between hidden."""
    nik = nik.strip()
    if len(nik) < 10:
        return "*" * len(nik)
    return nik[:6] + "*" * (len(nik) - 10) + nik[-4:]


@dataclass(frozen=True)
class Resident:
    """Who a record is about, in the words an operator recognises."""

    record_id: str
    name: str
    nik: str  # masked

    def words(self) -> dict[str, str]:
        """Parameters for catalog messages: name, nik (masked), record (for a command line)."""
        return {"name": self.name, "nik": self.nik, "record": self.record_id[:8]}


def resident_of(store: RecordStore, record_id: str) -> Resident:
    try:
        ident = store.identity(record_id)
    except KioskError:  # identity purged or unreadable: still say which record
        return Resident(record_id, record_id[:8], "-")
    return Resident(record_id, ident.full_name, mask_nik(ident.nik))


class PrintDesk:
    def __init__(self, store: RecordStore, gate: PrintGate, stock: Stock,
                 open_printer: Callable[[], CardPrinter]) -> None:
        self.store = store
        self.gate = gate
        self.stock = stock
        self._open_printer = open_printer

    def print(self, record_id: str, *, actor: str, progress: Progress | None = None) -> PrintOutcome:
        """Print one record's card; raises the refusal (typed, with its ``print_refused`` audit
        row) or the printer's DeviceError (the outcome already booked)."""
        printer = self._open_printer()
        try:
            self.stock.require_card()
        except NoBlankCards as exc:
            self.store.log_action(actor, "print_refused", record_id=record_id, reason=exc.code)
            raise
        outcome = self.gate.print_record(record_id, printer, actor=actor, progress=progress)
        self.stock.read_printer(printer)
        return outcome

    def tray_checks(self) -> list[tuple[TrayCheck, Resident]]:
        """Interrupted prints waiting for the operator to look in the output tray."""
        return [(c, resident_of(self.store, c.record_id)) for c in self.gate.pending_tray_checks()]

    def resolve_tray(self, record_id: str, *, good: bool, actor: str) -> str:
        """``printed`` or ``spoiled_reprint_needed`` (see :meth:`PrintGate.resolve_tray`)."""
        return self.gate.resolve_tray(record_id, good=good, actor=actor)

    def resident(self, record_id: str) -> Resident:
        return resident_of(self.store, record_id)

    def levels(self, printer: CardPrinter | None = None) -> Any:
        return self.stock.levels(printer)
