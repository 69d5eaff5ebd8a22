"""A running station: its config, record store and devices (mocks started for a simulated one).

The CLI and the TUI both start from here (:meth:`Station.load`), so they see the same station;
what serves each configured device and simulation is wired in :mod:`kiosk.composition`. Printing goes through
:meth:`Station.open_printer`, which also resolves any record a crash left in ``printing``
(:meth:`kiosk.printer.gate.PrintGate.recover`) before the first card is sent.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Callable

from kiosk import composition
from kiosk.config import Config
from kiosk.errors import KioskError
from kiosk.ops.malloc import release_free_memory
from kiosk.store import RecordStore

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from kiosk.central.local import LocalCentral
    from kiosk.devices.protocols import CardPrinter
    from kiosk.ops.audit import Checkpoint
    from kiosk.printer.desk import PrintDesk
    from kiosk.printer.gate import PrintGate, PrintOutcome, Progress
    from kiosk.printer.stock import Stock
    from kiosk.sync.session import SyncSettings
    from kiosk.sync.status import SyncProgress
    from kiosk.sync.worker import SyncWorker


class Station:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.store = RecordStore(cfg.station.data_dir, policy=cfg.policy)
        self.devices = composition.device_set(cfg)
        self._gate: PrintGate | None = None
        #: (record id, outcome) of the start-up recovery done when the printer was opened
        self.recovered: list[tuple[str, str]] = []
        #: the local central this Station started (simulated station, ``[central] url = "local"``)
        self.central: LocalCentral | None = None

    # -- sync (issue 13 §4: the Station starts the local central and schedules upkeep) ----------
    def start_central(self) -> "LocalCentral | None":
        """Start (or find running) the local central of a ``url = "local"`` station; None otherwise."""
        if self.cfg.central.url != "local":
            return None
        if self.central is None:
            from kiosk.central.local import start_local_central

            self.central = start_local_central(self.cfg)
        return self.central

    def sync_worker(self, *, store: RecordStore | None = None,
                    on_progress: "Callable[[SyncProgress], None] | None" = None,
                    settings: "SyncSettings | None" = None) -> "SyncWorker":
        """The sync worker of this station, with the station's upkeep after each pass. ``store``:
        a store of its own for a worker thread (the UI's connection is not shared)."""
        from kiosk.ops.service import Upkeep
        from kiosk.sync.worker import SyncWorker

        store = store or self.store
        central = self.start_central()
        return SyncWorker.from_config(self.cfg, store, on_progress=on_progress, settings=settings,
                                      central_url=central.url if central else None,
                                      after_pass=Upkeep(self.cfg, store))

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> "Station":
        """The station a config file describes, every table of it checked first."""
        return cls(composition.load_station_config(path))

    def print_gate(self) -> "PrintGate":
        """The print gate, pinned to the central key the sync worker also uses."""
        if self._gate is None:
            from kiosk.printer.gate import PrintGate

            self._gate = PrintGate(self.store, central_key=self.print_gate_key(self.cfg), station_id=self.cfg.station.id,
                                   sign_checkpoint=self.sign_checkpoint)
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

    # -- the one print path (CLI and TUI) ---------------------------------------------------
    def print(self, record_id: str, *, actor: str, progress: "Progress | None" = None) -> "PrintOutcome":
        """Print one approved record's card: stock check, permit gate, outcome booked with its
        audit row and a signed checkpoint (:class:`kiosk.printer.desk.PrintDesk`)."""
        try:
            return self.print_desk().print(record_id, actor=actor, progress=progress)
        finally:
            # the card's images are freed: give their pages back (kiosk.ops.malloc; ~0.5 ms)
            release_free_memory()

    def print_desk(self) -> "PrintDesk":
        if getattr(self, "_desk", None) is None:
            from kiosk.printer.desk import PrintDesk

            self._desk = PrintDesk(self.store, self.print_gate(), self.stock(), self.open_printer)
        return self._desk  # type: ignore[return-value]

    def stock(self) -> "Stock":
        """The one stock read model (cards booked, ribbon, the printer's last report)."""
        from kiosk.printer.stock import Stock

        return Stock(self.store, self.cfg.stock)

    def sign_checkpoint(self) -> "Checkpoint | None":
        """Sign the newest audit entry now (the gate at every print; the sync worker calls
        :func:`kiosk.ops.service.sign_checkpoint` at every exchange)."""
        from kiosk.ops.service import sign_checkpoint

        return sign_checkpoint(self.cfg, self.store)

    def close(self) -> None:
        if self.central is not None:
            self.central.close()
            self.central = None
        self.devices.close()
        self.store.close()

    def __enter__(self) -> "Station":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
