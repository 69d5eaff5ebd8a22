"""Evolis card printers (Primacy, Zenius, Elypso ...) in their escape-command language.

Every command is ``ESC <command>[;param...] CR`` in ASCII; the printer answers each one with a
short ASCII reply (:mod:`kiosk.printer.evolis_replies`). The driver runs over any byte mover of
:mod:`kiosk.printer.connections` (USB bulk endpoints via :mod:`kiosk.devices.usb`,
``/dev/usb/lp0``, a serial port/pty), so the code under test against ``device_mocks.evolis`` is
the code that drives hardware.

References: Evolis Programming Guide A5013 rev. D2 and E (PDFs in dpavlin/Printer-EVOLIS
``docs/``), that repository's hardware-tested scripts (``scripts/evolis-driver.pl``: ``Pr;k``,
``Ss``, ``Sr``, ``Db;k;2;<84,624 bytes>``, ``Sv``, ``Se``; ``scripts/evolis-command.pl``: ``Rtp``,
``Rsn``, ``Rfv``, ``Rco;p``, ``Rco;c``, ``Rco;l``), Evolis's GPL CUPS filter ``rastertoevolis``
for the colour panels, and public code reading ``Rrt;count`` / ``Rrt;qty`` on real printers.

- Framing ``ESC command;param... CR``; 1016 x 648-dot panels at 300 dpi; a ``Db`` download is
  ``648 * 1016 * bits / 8`` bytes for 1, 5, 6, 7 or 8 bits per dot (the guide's table: 84,624
  bytes at 2 levels, 592,368 at 128); ``y m c`` at 128 levels (8 dots packed MSB-first into
  7 bytes), ``k`` and ``o`` at 2 levels (bit set = print); Y = 255 - blue, M = 255 - green,
  C = 255 - red; the overlay panel filled with 0xFF for a full varnish. ``Pem;2``: the host,
  not the printer, handles errors.
- Reads take a parameter: ``Rco;c`` cards inserted (the card-fed check), ``Rco;p`` panels
  printed, ``Rlr`` the last answer (the status), ``Rr`` the ribbon type, ``Rrt;count`` prints left.
  ``Rse;x`` reads a sensor voltage: no status there.
- A panel download cut off half-way (the station was killed) leaves the printer counting
  panel bytes, swallowing every later command. On (re)open the driver checks the printer
  answers; when it does not, it completes any pending download with NUL bytes, discards the
  answers and resets the half-built job with ``Srs``, then checks again. A printer that stays
  silent for ``timeout_s`` while still printing a card of the killed station is reset too; the
  card left the feeder, so the gate's recovery finds it in ``Rco;c`` and books it as spoiled.
- Still unverified (no hardware here): ``Sr``/``Sv`` marking front (recto) and back (verso)
  panels; which card edge is dot 0 of a head line (we follow the filter's landscape loop:
  dot index = 647 - image row).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Literal

import numpy as np

from kiosk.devices.base import DeviceInfo, DeviceState, DeviceStatus, SelfTestResult, Worded
from kiosk.devices.errors import DeviceError, DeviceFault, DeviceProtocolError, DeviceTimeout
from kiosk.devices.protocols import CardPrinter, PrinterSupplies
from kiosk.printer.connections import (DummyConnection, LpConnection, PrinterConnection, SerialConnection,
                                       UsbConnection)
from kiosk.printer.evolis_panels import CR, ESC, PANEL_DOTS, PANEL_LINES, card_job_panels, command, fit_card
from kiosk.printer.evolis_replies import FAULTS, Reply, ReplyKind, parse_count, parse_reply

Progress = Callable[[int, int, str], None]

EVOLIS_VENDOR_ID = 0x0F49

#: the longest panel download (8 bits per dot): what completes any half-received ``Db``
MAX_PANEL_BYTES = PANEL_LINES * PANEL_DOTS
#: the sensors ``Rse`` reads (guide A5013): colour, feeder stop, cover, card present, coded disk
SENSORS = ("c", "m", "o", "p", "r")
#: every fault reason an answer can carry (the catalog test checks each has operator words)
FAULT_REASONS = frozenset(FAULTS.values()) | {"printer_error"}


class EvolisPrinterDriver(CardPrinter):
    """An Evolis printer over USB (pyusb), /dev/usb/lp or a serial port/pty."""

    @dataclass(frozen=True)
    class Params:
        #: "usb" (bulk endpoints via pyusb), "lp" (kernel /dev/usb/lpN), "serial" (tty/pty/pyserial URL)
        connection: Literal["usb", "lp", "serial"] = "usb"
        vendor_id: int = EVOLIS_VENDOR_ID
        #: 0 = any Evolis product
        product_id: int = 0
        #: pick one printer by USB serial number when several are attached ("" = first)
        serial_number: str = ""
        #: pyusb backend: "" = the system's libusb; "mock:..." = an in-process mock (kiosk.devices.usb)
        usb_backend: str = ""
        #: kernel printer device for connection = "lp"
        device: str = "/dev/usb/lp0"
        #: tty, pty or pyserial URL for connection = "serial"
        port: str = ""
        baudrate: int = 115200
        #: ribbon loaded: YMCKO (colour front), YMCKOK (colour front + black back), KO, K
        ribbon: Literal["YMCKO", "YMCKOK", "KO", "K"] = "YMCKO"
        #: seconds to wait for the answer to a command, and for a whole card to print
        timeout_s: float = 5.0
        print_timeout_s: float = 90.0
        #: seconds a printer may take to answer again after ``Srs`` (it restarts)
        reset_timeout_s: float = 20.0

    def __init__(self, name: str, params: "EvolisPrinterDriver.Params", *,
                 connection: PrinterConnection | None = None) -> None:
        super().__init__(name, params)
        self.p: EvolisPrinterDriver.Params = params
        self.connection = connection or self._make_connection()
        self._info: DeviceInfo | None = None
        # one command/answer (or one whole card job) at a time: answers must not interleave
        self._lock = threading.RLock()
        # set when a command was cut off (time-out mid-download): the printer may still be
        # counting panel bytes, so the next exchange first brings the link back to a known state
        self._link_unknown = False

    def _make_connection(self) -> PrinterConnection:
        p = self.p
        if p.connection == "usb":
            return UsbConnection(self.name, vendor_id=p.vendor_id, product_id=p.product_id,
                                 serial=p.serial_number, backend_name=p.usb_backend)
        if p.connection == "lp":
            return LpConnection(self.name, path=p.device)
        if p.connection == "serial":
            return SerialConnection(self.name, url=p.port, baudrate=p.baudrate)
        return DummyConnection(self.name)

    # -- bytes ------------------------------------------------------------------------------
    def _write(self, data: bytes) -> None:
        self.log.record("tx", data)
        self.connection._write(data)

    def _read_reply(self, timeout_s: float) -> bytes:
        """Bytes up to CR or NUL (usblp links end answers with NUL), or until the printer stays
        quiet 50 ms after it started answering."""
        deadline = time.monotonic() + timeout_s
        buf = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            chunk = self.connection._read(min(left, 0.05) if buf else left)
            if not chunk:
                if buf:
                    break
                continue
            buf += chunk
            if b"\r" in buf or b"\x00" in buf.lstrip(b"\x00") or len(buf) > 4096:
                break
        if buf:
            self.log.record("rx", buf)
        return buf.lstrip(b"\x00")

    def _exchange(self, data: bytes, timeout_s: float) -> Reply:
        if self._link_unknown:
            self._resync()
        self._write(data)
        raw = self._read_reply(timeout_s)
        if not raw:
            if data.startswith(ESC + b"Db"):
                self._link_unknown = True  # the printer may not have the whole panel
            raise DeviceTimeout(device=self.name, command=data[1:4].decode("ascii", "replace"))
        return parse_reply(raw, device=self.name)

    def send(self, data: bytes, *, timeout_s: float | None = None) -> Reply:
        """Send one framed command and return its parsed reply (typed errors only)."""
        self.require_open()
        with self._lock:
            return self._exchange(data, self.p.timeout_s if timeout_s is None else timeout_s)

    def _checked(self, reply: Reply, **params: Any) -> Reply:
        """The reply, or the typed error it stands for (a refusal or a media/mechanics fault)."""
        if reply.kind is ReplyKind.REFUSED:
            raise DeviceProtocolError(device=self.name, reply=reply.text[:40], refused=reply.reason, **params)
        if reply.kind is ReplyKind.FAULT:
            raise DeviceFault(reply.reason, device=self.name, flags=reply.text[:40], **params)
        return reply

    def query(self, name: str, *params: str | int) -> str:
        """A read command's value (DATA); faults and refusals raise."""
        reply = self._checked(self.send(command(name, *params)))
        if reply.kind is not ReplyKind.DATA:
            raise DeviceProtocolError(device=self.name, reply=reply.text[:40], problem="no value")
        return reply.text

    def _query_int(self, name: str, *params: str | int) -> int:
        return parse_count(self.query(name, *params), device=self.name)

    # -- the link ------------------------------------------------------------------------------
    def _drain(self, quiet_s: float = 0.1) -> None:
        """Read and drop answers until the printer is quiet for ``quiet_s`` (a printer that never
        stops talking is cut off after ``reset_timeout_s``: the next command finds out)."""
        deadline = time.monotonic() + self.p.reset_timeout_s
        while self.connection._read(quiet_s) and time.monotonic() < deadline:
            pass

    def _answers(self) -> bool:
        try:
            self._write(command("Rsn"))
            raw = self._read_reply(self.p.timeout_s)
            return bool(raw) and parse_reply(raw, device=self.name).kind is ReplyKind.DATA
        except DeviceProtocolError:
            return False

    def _resync(self) -> None:
        """Bring a printer that does not answer back to a known state (guide A5013: ``Db`` data
        has a fixed length; ``Srs`` resets the printer like a restart).

        NUL bytes complete a panel download cut off half-way (outside a command the printer
        ignores them); the answers that produces are dropped; ``Srs`` throws away the half-built
        job; then the printer must answer ``Rsn`` within ``reset_timeout_s``.
        """
        self._link_unknown = True
        self._write(b"\x00" * MAX_PANEL_BYTES + CR)
        self._drain()
        self._write(command("Srs"))
        deadline = time.monotonic() + self.p.reset_timeout_s
        self._drain()
        while not self._answers():
            if time.monotonic() > deadline:
                raise DeviceTimeout(device=self.name, command="Srs")
            self._drain()
        self._drain()
        self._link_unknown = False

    def _known_state(self) -> None:
        """On open: one ``Rsn``; a printer that stays silent gets the resync above."""
        self._drain(0.0)
        if not self._answers():
            self._resync()

    # -- Device ---------------------------------------------------------------------------
    def _do_open(self) -> None:
        self.connection.open()
        self._open = True
        try:
            with self._lock:
                self._known_state()
            self._info = self._identify()
        except BaseException:
            self._open = False
            self.connection.close()
            raise

    def _do_close(self) -> None:
        self.connection.close()

    def _identify(self) -> DeviceInfo:
        return DeviceInfo(vendor="Evolis", model=self.query("Rtp"), serial=self.query("Rsn"),
                          firmware=self.query("Rfv"), extra={"connection": self.connection.describe()})

    def info(self) -> DeviceInfo:
        self.require_open()
        assert self._info is not None
        return self._info

    def last_reply(self) -> Reply:
        """``Rlr``: the printer's last answer (a fault stays there until a later command)."""
        return self.send(command("Rlr"))

    def status(self) -> DeviceStatus:
        if not self.is_open:
            return DeviceStatus(DeviceState.CLOSED)
        try:
            reply = self.last_reply()
        except DeviceTimeout:
            return DeviceStatus(DeviceState.ABSENT, "device.timeout", {"device": self.name})
        except DeviceError as exc:
            return DeviceStatus(DeviceState.ERROR, exc.code, dict(exc.params))
        if reply.kind is ReplyKind.FAULT:
            return DeviceStatus(DeviceState.ERROR, f"device.fault.{reply.reason}",
                                {"device": self.name, "reason": reply.reason, "flags": reply.text})
        if reply.kind is ReplyKind.REFUSED:
            return DeviceStatus(DeviceState.ERROR, "device.protocol", {"device": self.name, "reply": reply.text})
        return DeviceStatus(DeviceState.READY)

    def self_test(self) -> SelfTestResult:
        checks: list[tuple[str, bool, str]] = []
        for code, fn in (("printer.check.identify", lambda: self._identify().model),
                         ("printer.check.status", self._status_words),
                         ("printer.check.ribbon", self._ribbon_words),
                         ("printer.check.counter", lambda: (lambda n: Worded(
                             "printer.detail.counter", str(n), count=n))(self.counter())),
                         ("printer.check.sensors", self._sensor_line)):
            try:
                checks.append((code, True, fn()))  # a Worded detail keeps its catalog code
            except DeviceError as exc:
                checks.append((code, False, exc.code))
        return SelfTestResult(all(c[1] for c in checks), tuple(checks))

    def ribbon_left(self) -> int:
        """Prints the ribbon still has: ``Rrt;count``; firmware without it refuses the command
        ("ERROR CDE") and is asked ``Rco;l`` (cards left on this ribbon, as older guides read it)."""
        try:
            return self._query_int("Rrt", "count")
        except DeviceProtocolError as exc:
            if exc.params.get("refused") != "command":
                raise
        return self._query_int("Rco", "l")

    def sensors(self) -> dict[str, str]:
        """``Rse;<sensor>`` for each sensor of guide A5013 (c colour, m feeder stop, o cover, p card
        present, r coded disk): raw voltages for the technician, not a status."""
        return {name: self.query("Rse", name) for name in SENSORS}

    def _status_words(self) -> str:
        """The last answer (``Rlr``) as a self-test detail: the printer's own text stays in it."""
        text = self._checked(self.last_reply()).text
        return Worded("printer.detail.ready", f"ready ({text})", reply=text)

    def _ribbon_words(self) -> str:
        kind, left = self.query("Rr").strip(), self.ribbon_left()
        return Worded("printer.detail.ribbon", f"{kind} {left}", kind=kind.upper(), left=left)

    def _sensor_line(self) -> str:
        return " ".join(f"{name}={value}" for name, value in self.sensors().items())

    # -- supplies -------------------------------------------------------------------------
    def counter(self) -> int:
        """``Rco;c``: cards inserted over the printer's life (one more when a card leaves the feeder)."""
        return self._query_int("Rco", "c")

    def supplies(self) -> PrinterSupplies:
        self.require_open()
        # Evolis printers sense "feeder empty" but do not count cards in the hopper.
        return PrinterSupplies(cards_in_hopper=None, ribbon_panels_left=self.ribbon_left(),
                               ribbon_type=self.query("Rr").strip().upper(), total_printed=self.counter())

    # -- printing -------------------------------------------------------------------------
    def build_job(self, front: np.ndarray, back: np.ndarray | None = None) -> list[tuple[str, bytes]]:
        """Every command of one card job, in order (label, bytes): what print_card sends."""
        ribbon = self.p.ribbon
        if back is not None and ribbon not in ("YMCKOK",) and not ribbon.startswith("K"):
            raise DeviceFault("ribbon_no_back", device=self.name, ribbon=ribbon, card_fed=False)
        panels = card_job_panels(fit_card(front), None if back is None else fit_card(back), ribbon)
        # Pem;2: errors come back to us instead of the printer waiting for the operator on its panel
        job: list[tuple[str, bytes]] = [("errors", command("Pem", 2)), ("ribbon", command("Pr", ribbon.lower())),
                                        ("start", command("Ss"))]
        job.append(("front", command("Sr")))
        job += [p for p in panels if p[0].startswith("front")]
        if back is not None:
            job.append(("back", command("Sv")))
            job += [p for p in panels if p[0].startswith("back")]
        job.append(("end", command("Se")))
        return job

    def print_card(self, front: np.ndarray, back: np.ndarray | None = None, *, progress: Any = None) -> str:
        """Print one card. A DeviceError carries ``card_fed`` (True/False, None = unknown)."""
        self.require_open()
        with self._lock:
            return self._print_card(front, back, progress)

    def _print_card(self, front: np.ndarray, back: np.ndarray | None, progress: Any) -> str:
        report: Progress = progress or (lambda done, total, stage: None)
        job = self.build_job(front, back)
        try:
            before = self.counter()
        except DeviceError as exc:  # nothing of the job was sent: no card can have moved
            exc.params["card_fed"] = False
            raise
        total = len(job)
        try:
            for i, (label, data) in enumerate(job):
                report(i, total, label)
                reply = self.send(data, timeout_s=self.p.print_timeout_s if label == "end" else self.p.timeout_s)
                if not reply.ok:  # only "OK" is success: anything else stops the card
                    self._checked(reply, stage=label)
                    raise DeviceProtocolError(device=self.name, reply=reply.text[:40], stage=label)
        except DeviceError as exc:
            exc.params["card_fed"] = self._card_fed_since(before)
            raise
        report(total, total, "done")
        return f"evolis:{self.info().serial}:{before + 1}"

    def _card_fed_since(self, before: int) -> bool | None:
        """Did a card leave the hopper since ``before``? None when the printer cannot tell now."""
        try:
            return self.counter() > before
        except DeviceError:
            return None
