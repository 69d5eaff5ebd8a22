"""Evolis card printers (Primacy, Zenius, Elypso ...) in their escape-command language.

Every command is ``ESC <command>[;param...] CR`` in ASCII; the printer answers each one with a
short ASCII reply (``OK`` or an error). The driver runs over any byte mover of
:mod:`kiosk.printer.connections` (USB bulk endpoints via pyusb, ``/dev/usb/lp0``, a serial
port/pty), so the code under test against ``device_mocks.evolis`` is the code that drives
hardware.

What comes from where (be honest about it, a technician with a printer should check the rest):

- From Evolis's programming guide (A5013 rev. E, as excerpted publicly: framing ``ESC command
  ;param... CR``; the printer keeps 1016 x 648-dot bitmaps at 300 dpi; a ``Db`` download is
  648 * 1016 * bits / 8 bytes for 5, 6, 7 or 8 useful bits per dot; ``Pem;2`` = the software,
  not the printer, handles errors) and from public code using it (Evolis's GPL CUPS filter
  ``rastertoevolis`` and SDK samples): ``Pr;ymcko`` ribbon set-up;
  ``Ss`` start of sequence; ``Db;<panel>;<levels>;<data>CR`` panel downloads with panels
  ``y m c`` at 128 levels (7 bits per dot, 8 dots packed MSB-first into 7 bytes), ``k`` and
  ``o`` at 2 levels (1 bit per dot, MSB first, bit set = print); a panel is 1016 head lines of
  648 dots (the card's long side runs under a 648-dot head); Y = 255 - blue, M = 255 - green,
  C = 255 - red; the filter fills the overlay panel with 0xFF for a full varnish. Identify
  commands ``Rfv`` (firmware), ``Rsn`` (serial), ``Rtp`` (printer type).
- Unverified (no hardware here): the exact text of replies (we accept ``OK``, ``ERR <flag>``
  and bare flag names using the Evolis SDK's flag vocabulary such as ``ERR_FEEDER_EMPTY``,
  ``ERR_RIBBON_ENDED``, ``ERR_COVER_OPEN``, ``ERR_MECHANICAL``); whether a reply ends with CR
  (we read until CR or a short quiet gap); the meaning we give ``Rse`` (status flags, ``;``
  separated), ``Rlr`` (ribbon prints left), ``Rrt`` (ribbon type) and ``Rco`` (cards fed
  counter); ``Sr``/``Sv`` marking the front (recto) and back (verso) panels; which card edge
  is dot 0 of a head line (we follow the filter's landscape loop: dot index = 647 - image row).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Literal

import numpy as np

from kiosk.devices.base import DeviceInfo, DeviceState, DeviceStatus, SelfTestResult
from kiosk.devices.errors import DeviceError, DeviceFault, DeviceProtocolError, DeviceTimeout
from kiosk.devices.protocols import CardPrinter, PrinterSupplies
from kiosk.printer.connections import (DummyConnection, LpConnection, PrinterConnection, SerialConnection,
                                       UsbConnection, load_backend)

ESC, CR = b"\x1b", b"\r"
EVOLIS_VENDOR_ID = 0x0F49
#: head lines along the card's long side and dots per line (CR80 at 300 dpi, as the filter uses)
PANEL_LINES, PANEL_DOTS = 1016, 648
#: card image size the driver takes (width x height, landscape)
CARD_SIZE = (PANEL_LINES, PANEL_DOTS)
LEVEL_BITS = {2: 1, 32: 5, 64: 6, 128: 7, 256: 8}

#: printer flags -> fault reason (catalog ``device.fault.<reason>`` says what the operator does)
FLAG_REASONS: dict[str, str] = {
    "FEEDER_EMPTY": "no_card", "NO_CARD_INSERTED": "no_card", "WAIT_CARD": "no_card",
    "RIBBON_ENDED": "ribbon_out", "NO_RIBBON": "ribbon_missing", "REMOVE_RIBBON": "ribbon_missing",
    "BAD_RIBBON": "ribbon_unsupported", "UNSUPPORTED_RIBBON": "ribbon_unsupported", "RIBBON_ERROR": "ribbon_out",
    "COVER_OPEN": "cover_open", "FEEDER_OPEN": "cover_open", "RECEPTACLE_OPEN": "cover_open",
    "MECHANICAL": "jam", "CARD_ON_EJECT": "jam", "FEEDER_ERROR": "jam",
    "HOPPER_FULL": "output_full", "REJECT_BOX_FULL": "reject_full", "REJECT_BOX_COVER_OPEN": "cover_open",
    "HEAD_TEMP": "head_temperature", "RET_TEMPERATURE": "head_temperature",
}
#: replies meaning the printer did not understand the command (a driver or link problem)
COMMAND_REFUSED = {"CDE", "PAR", "NACK", "TIMEOUT", "CMD"}
_FLAG = re.compile(r"^(?:ERR|DEF|WAR|INF)_([A-Z0-9_]+)$")


def command(name: str, *params: str | int) -> bytes:
    return ESC + ";".join([name, *map(str, params)]).encode("ascii") + CR


# ------------------------------------------------------------------------------------------
# Panels


def head_order(plane: np.ndarray) -> np.ndarray:
    """A 648 x 1016 card plane (rows top->bottom) as 1016 head lines of 648 dots."""
    return np.ascontiguousarray(plane[::-1, :].T)


def pack_levels(values: np.ndarray, bits: int) -> bytes:
    """8-bit values -> their top ``bits`` bits, packed MSB-first (the Db data format).

    Eight values of ``bits`` bits fill exactly ``bits`` bytes, so each group of eight is shifted
    into one 64-bit word and its low ``bits`` bytes are written big-endian.
    """
    flat = values.reshape(-1).astype(np.uint8) >> (8 - bits)
    pad = (-len(flat)) % 8
    if pad:
        flat = np.concatenate([flat, np.zeros(pad, np.uint8)])
    groups = flat.reshape(-1, 8).astype(np.uint64)
    shifts = (np.arange(7, -1, -1, dtype=np.uint64) * np.uint64(bits))
    words = np.bitwise_or.reduce(groups << shifts, axis=1)
    packed = words.astype(">u8").view(np.uint8).reshape(-1, 8)[:, 8 - bits:]
    data = packed.tobytes()
    return data[: (len(values.reshape(-1)) * bits + 7) // 8]


def split_panels(rgb: np.ndarray, *, black_threshold: int = 60) -> dict[str, np.ndarray]:
    """RGB card image (648 x 1016 x 3) -> Y, M, C densities and K (resin black) mask, 0..255.

    Near-black pixels go to the resin K panel (sharp text, as the filter does for pure black)
    and get no dye under them; everything else is dye-sublimated from Y, M, C.
    """
    rgb = np.asarray(rgb, dtype=np.uint8)
    black = rgb.max(axis=2) < black_threshold
    y, m, c = (255 - rgb[..., 2]), (255 - rgb[..., 1]), (255 - rgb[..., 0])
    for plane in (y, m, c):
        plane[black] = 0
    return {"y": y, "m": m, "c": c, "k": np.where(black, 255, 0).astype(np.uint8)}


def panel_command(panel: str, plane: np.ndarray, levels: int) -> bytes:
    """``ESC Db;<panel>;<levels>;<packed data> CR`` for one 648 x 1016 plane."""
    data = pack_levels(head_order(plane), LEVEL_BITS[levels])
    return ESC + f"Db;{panel};{levels};".encode() + data + CR


def card_job_panels(front: np.ndarray, back: np.ndarray | None, ribbon: str, levels: int = 128) -> list[tuple[str, bytes]]:
    """(label, Db command) for every panel of one card with this ribbon."""
    out: list[tuple[str, bytes]] = []
    full = np.full((PANEL_DOTS, PANEL_LINES), 255, np.uint8)
    panels = split_panels(front)
    if ribbon.startswith("YMC"):
        for p in "ymc":
            out.append((f"front-{p}", panel_command(p, panels[p], levels)))
        out.append(("front-k", panel_command("k", panels["k"], 2)))
        out.append(("front-o", panel_command("o", full, 2)))
    else:  # monochrome ribbons: black (and overlay) only
        grey = np.asarray(front, dtype=np.uint8).mean(axis=2)
        out.append(("front-k", panel_command("k", np.where(grey < 128, 255, 0).astype(np.uint8), 2)))
        if "O" in ribbon:
            out.append(("front-o", panel_command("o", full, 2)))
    if back is not None:
        grey = np.asarray(back, dtype=np.uint8).mean(axis=2)
        out.append(("back-k", panel_command("k", np.where(grey < 128, 255, 0).astype(np.uint8), 2)))
    return out


def fit_card(image: np.ndarray) -> np.ndarray:
    """Resize an RGB image to the printer's 1016 x 648 panel size if it is not already."""
    arr = np.asarray(image, dtype=np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.shape[:2] == (PANEL_DOTS, PANEL_LINES):
        return arr[..., :3]
    from PIL import Image

    return np.asarray(Image.fromarray(arr[..., :3]).resize(CARD_SIZE, Image.Resampling.LANCZOS))


# ------------------------------------------------------------------------------------------
# Replies


@dataclass(frozen=True)
class Reply:
    text: str
    flags: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.flags


def parse_reply(raw: bytes, *, device: str) -> Reply:
    """Turn the printer's answer into a Reply; garbage raises DeviceProtocolError."""
    try:
        text = raw.decode("ascii").strip("\r\n\x00 ")
    except UnicodeDecodeError:
        raise DeviceProtocolError(device=device, reply=raw[:32].hex()) from None
    if not text or any(ord(ch) < 32 or ord(ch) > 126 for ch in text):
        raise DeviceProtocolError(device=device, reply=raw[:32].hex())
    if text.upper().startswith("ERR") and not _FLAG.match(text.upper().split()[0]):
        rest = text[3:].strip(" ;:").upper()
        words = [w for w in re.split(r"[ ;,]+", rest) if w]
        if not words or words[0] in COMMAND_REFUSED:
            raise DeviceProtocolError(device=device, reply=text[:40])
        return Reply(text, ("_".join(words),))  # "ERR FEEDER EMPTY" -> FEEDER_EMPTY
    tokens = [t for t in re.split(r"[;,\s]+", text.upper()) if t]
    flags = tuple(t for t in tokens if _FLAG.match(t) and not t.startswith(("INF_", "WAR_")))
    return Reply(text, flags)


def fault_reason(flags: tuple[str, ...]) -> str:
    for flag in flags:
        m = _FLAG.match(flag)
        key = m.group(1) if m else flag
        if key in FLAG_REASONS:
            return FLAG_REASONS[key]
    return "printer_error"


Progress = Callable[[int, int, str], None]


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
        #: "module:factory" returning a pyusb backend ("" = libusb); the simulated station's mock sets it
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

    def __init__(self, name: str, params: "EvolisPrinterDriver.Params", *,
                 connection: PrinterConnection | None = None) -> None:
        super().__init__(name, params)
        self.p: EvolisPrinterDriver.Params = params
        self.connection = connection or self._make_connection()
        self._info: DeviceInfo | None = None
        # one command/answer (or one whole card job) at a time: answers must not interleave
        self._lock = threading.RLock()

    def _make_connection(self) -> PrinterConnection:
        p = self.p
        if p.connection == "usb":
            return UsbConnection(self.name, vendor_id=p.vendor_id, product_id=p.product_id,
                                 serial=p.serial_number, backend=load_backend(p.usb_backend))
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
        """Bytes up to CR, or until the printer stays quiet 50 ms after it started answering."""
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
            if b"\r" in buf or len(buf) > 4096:
                break
        if buf:
            self.log.record("rx", buf)
        return buf

    def send(self, data: bytes, *, timeout_s: float | None = None) -> Reply:
        """Send one framed command and return its parsed reply (typed errors only)."""
        self.require_open()
        with self._lock:
            self._write(data)
            raw = self._read_reply(self.p.timeout_s if timeout_s is None else timeout_s)
        if not raw:
            raise DeviceTimeout(device=self.name, command=data[1:4].decode("ascii", "replace"))
        return parse_reply(raw.split(b"\r")[0] or raw, device=self.name)

    def query(self, name: str, *params: str | int) -> str:
        reply = self.send(command(name, *params))
        if not reply.ok:
            raise DeviceFault(fault_reason(reply.flags), device=self.name, flags=" ".join(reply.flags))
        return reply.text

    def _query_int(self, name: str, *params: str | int) -> int:
        text = self.query(name, *params)
        m = re.search(r"-?\d+", text)
        if m is None:
            raise DeviceProtocolError(device=self.name, reply=text[:40])
        return int(m.group(0))

    # -- Device ---------------------------------------------------------------------------
    def _do_open(self) -> None:
        self.connection.open()
        self._open = True
        try:
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

    def flags(self) -> tuple[str, ...]:
        """The printer's current ERR/DEF flags (empty when ready)."""
        return self.send(command("Rse")).flags

    def status(self) -> DeviceStatus:
        if not self.is_open:
            return DeviceStatus(DeviceState.CLOSED)
        try:
            flags = self.flags()
        except DeviceTimeout:
            return DeviceStatus(DeviceState.ABSENT, "device.timeout", {"device": self.name})
        except DeviceError as exc:
            return DeviceStatus(DeviceState.ERROR, exc.code, dict(exc.params))
        if flags:
            reason = fault_reason(flags)
            return DeviceStatus(DeviceState.ERROR, f"device.fault.{reason}",
                                {"device": self.name, "reason": reason, "flags": " ".join(flags)})
        return DeviceStatus(DeviceState.READY)

    def self_test(self) -> SelfTestResult:
        checks: list[tuple[str, bool, str]] = []
        for code, fn in (("printer.check.identify", lambda: self._identify().model),
                         ("printer.check.status", lambda: " ".join(self.flags()) or "ready"),
                         ("printer.check.ribbon", lambda: f"{self.query('Rrt')} {self._query_int('Rlr')}"),
                         ("printer.check.counter", lambda: str(self.counter()))):
            try:
                detail = str(fn())
                ok = not (code == "printer.check.status" and detail != "ready")
                checks.append((code, ok, detail))
            except DeviceError as exc:
                checks.append((code, False, exc.code))
        return SelfTestResult(all(c[1] for c in checks), tuple(checks))

    # -- supplies -------------------------------------------------------------------------
    def counter(self) -> int:
        """Cards the printer has fed in its life (increments when a card leaves the hopper)."""
        return self._query_int("Rco")

    def supplies(self) -> PrinterSupplies:
        self.require_open()
        # Evolis printers sense "feeder empty" but do not count cards in the hopper.
        return PrinterSupplies(cards_in_hopper=None, ribbon_panels_left=self._query_int("Rlr"),
                               ribbon_type=self.query("Rrt").strip().upper(), total_printed=self.counter())

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
            flags = self.flags()
            before = self.counter()
        except DeviceError as exc:  # nothing of the job was sent: no card can have moved
            exc.params["card_fed"] = False
            raise
        if flags:  # refuse before anything moves: no card was fed
            raise DeviceFault(fault_reason(flags), device=self.name, flags=" ".join(flags), card_fed=False)
        total = len(job)
        try:
            for i, (label, data) in enumerate(job):
                report(i, total, label)
                reply = self.send(data, timeout_s=self.p.print_timeout_s if label == "end" else self.p.timeout_s)
                if not reply.ok:
                    raise DeviceFault(fault_reason(reply.flags), device=self.name, flags=" ".join(reply.flags),
                                      stage=label)
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
