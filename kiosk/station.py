"""A running station: its config, record store and devices (mocks started for a simulated one).

The CLI and the TUI both start from here (:meth:`Station.load`), so they see the same station;
what serves each configured device and simulation is wired in :mod:`kiosk.composition`. Printing goes through
:meth:`Station.open_printer`, which also resolves any record a crash left in ``printing``
(:meth:`kiosk.printer.gate.PrintGate.recover`) before the first card is sent.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from kiosk import composition
from kiosk.config import Config
from kiosk.errors import KioskError
from kiosk.store import RecordStore

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from kiosk.devices.protocols import CardPrinter
    from kiosk.printer.gate import PrintGate


class Station:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.store = RecordStore(cfg.station.data_dir, policy=cfg.policy)
        self.devices = composition.device_set(cfg)
        self._gate: PrintGate | None = None
        #: (record id, outcome) of the start-up recovery done when the printer was opened
        self.recovered: list[tuple[str, str]] = []

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> "Station":
        """The station a config file describes, every table of it checked first."""
        return cls(composition.load_station_config(path))

    def print_gate(self) -> "PrintGate":
        """The print gate, pinned to the central key the sync worker also uses."""
        if self._gate is None:
            from kiosk.printer.gate import PrintGate

            self._gate = PrintGate(self.store, central_key=self.print_gate_key(self.cfg), station_id=self.cfg.station.id)
        return self._gate

    @staticmethod
    def print_gate_key(cfg: Config) -> "Ed25519PublicKey":
        """The central key permits are checked with (:mod:`kiosk.central.pinning`); a missing
        key locks printing with a plain message."""
        from kiosk.central.keys import KeyFileError
        from kiosk.central.pinning import permit_key_path, pinned_permit_key

        try:
            return pinned_permit_key(cfg)
        except KeyFileError:
            raise KioskError("print.no_central_key", path=str(permit_key_path(cfg))) from None

    def open_printer(self, *, actor: str = "system") -> "CardPrinter":
        """Open the station's card printer (its mock started on a simulated station), then
        resolve records left in ``printing`` by a crash, using the printer's card counter.
        The outcome is in :attr:`recovered`. Call this before printing, from the CLI or the TUI."""
        from kiosk.devices.protocols import CardPrinter

        gate = self.print_gate()  # no key, no printing: refuse before starting the printer
        for dev in self.cfg.devices:
            if composition.driver_class(dev.driver).kind == "printer":
                printer = self.devices.get(dev.name)
                assert isinstance(printer, CardPrinter)
                if not printer.is_open:
                    printer.open()
                self.recovered = gate.recover(printer, actor=actor)
                return printer
        raise KioskError("print.no_printer")

    def close(self) -> None:
        self.devices.close()
        self.store.close()

    def __enter__(self) -> "Station":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
