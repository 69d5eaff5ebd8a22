"""A simulated Evolis card printer, at the wire.

:class:`EvolisMock` parses the escape-command stream the way the printer would (framing
``ESC ... CR``; ``Db`` panel downloads carry a binary payload whose length follows from the
panel's level count) and answers from a simulated hopper, ribbon and counter. It is reached
through either wire:

- :class:`EvolisUsbBackend`: a pyusb ``IBackend`` presenting an Evolis printer-class
  interface (vendor 0x0F49) with bulk OUT 0x02 / bulk IN 0x81; the driver finds, claims and
  talks to it with the same pyusb calls it uses on hardware;
- :class:`PtyServer`: a pseudo-terminal whose other end is the printer.

Every printed card lands in ``<workdir>/cards/NNNN/`` as PNGs: one per ribbon panel and side
(``front-y.png``, ``front-k.png``, ``back-k.png``...) and the composed ``front.png`` / ``back.png``.
The hopper, ribbon and counter persist in ``<workdir>/state.json`` so a restarted station
(or a process killed mid-print) sees the same printer.

Faults (``mock.faults``, a set): ``no_card``, ``ribbon_out``, ``cover_open``, ``jam`` (a card is
fed, then jams: spoiled), ``silence`` (no answer at all), ``hang_after_feed`` (the card prints,
then the printer never answers ``Se``), ``stall`` (never answers ``Se`` and feeds nothing),
``garbage`` (answers noise), ``unplugged`` (USB only). Faults named in ``<workdir>/faults`` (one
per line) are added when the mock starts, so a simulated station's printer can be given a fault
from outside the process (e.g. a jam for a demo or a test of the reprint path).

Run alone: ``python -m device_mocks.evolis [--workdir DIR] [--cards N] [--fault F]`` opens a
pty, prints its path on the first line, and serves until interrupted.
"""

from __future__ import annotations

import argparse
import array
import json
import os
import threading
import time
import tty
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

LINES, DOTS = 1016, 648
LEVEL_BITS = {2: 1, 32: 5, 64: 6, 128: 7, 256: 8}
VENDOR_ID, PRODUCT_ID = 0x0F49, 0x1001  # product id: unverified (varies by model)


def unpack_levels(data: bytes, bits: int) -> np.ndarray:
    """Inverse of the driver's packing: MSB-first groups of ``bits`` -> 8-bit values."""
    n = LINES * DOTS
    groups = np.frombuffer(data, np.uint8)[: n * bits // 8].reshape(-1, bits)
    padded = np.zeros((len(groups), 8), np.uint8)
    padded[:, 8 - bits:] = groups
    words = padded.view(">u8").reshape(-1).astype(np.uint64)
    shifts = np.arange(7, -1, -1, dtype=np.uint64) * np.uint64(bits)
    values = (words[:, None] >> shifts) & np.uint64((1 << bits) - 1)
    scaled = values.reshape(-1) * 255 // ((1 << bits) - 1)
    return scaled.astype(np.uint8).reshape(LINES, DOTS)


def card_plane(head_lines: np.ndarray) -> np.ndarray:
    """1016 head lines x 648 dots -> the 648 x 1016 card plane (inverse of the driver's order)."""
    return np.ascontiguousarray(head_lines.T[::-1, :])


@dataclass
class PrinterState:
    cards: int = 100
    ribbon: str = "YMCKO"
    ribbon_left: int = 200
    counter: int = 0
    spoiled: int = 0


@dataclass
class Job:
    ribbon: str = ""
    side: str = "front"
    panels: dict[str, np.ndarray] = field(default_factory=dict)


class EvolisMock:
    """The printer: a command parser over a simulated hopper, ribbon and counter."""

    def __init__(self, workdir: Path, *, cards: int | None = None, ribbon: str | None = None,
                 ribbon_left: int | None = None, faults: set[str] | None = None, serial: str = "EVM0000001",
                 model: str = "Primacy 2 (mock)", firmware: str = "2.1.0-mock") -> None:
        self.workdir = Path(workdir)
        (self.workdir / "cards").mkdir(parents=True, exist_ok=True)
        self.state_path = self.workdir / "state.json"
        self.state = self._load()
        if cards is not None:
            self.state.cards = cards
        if ribbon is not None:
            self.state.ribbon = ribbon
        if ribbon_left is not None:
            self.state.ribbon_left = ribbon_left
        self._save()
        self.faults: set[str] = set(faults or ()) | self._fault_file()
        self.serial, self.model, self.firmware = serial, model, firmware
        self.buf = bytearray()
        self.job: Job | None = None
        self.commands: list[str] = []  # every command name received, in order
        self.lock = threading.RLock()
        self.hung = False

    # -- persistence -----------------------------------------------------------------------
    def _load(self) -> PrinterState:
        try:
            return PrinterState(**json.loads(self.state_path.read_text()))
        except (FileNotFoundError, ValueError, TypeError):
            return PrinterState()

    def _fault_file(self) -> set[str]:
        try:
            lines = (self.workdir / "faults").read_text().splitlines()
        except FileNotFoundError:
            return set()
        return {ln.split("#", 1)[0].strip() for ln in lines} - {""}

    def _save(self) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state.__dict__))
        os.replace(tmp, self.state_path)

    def printed_cards(self) -> list[Path]:
        """Folders of the cards that came out printed, oldest first."""
        return sorted(p for p in (self.workdir / "cards").iterdir() if (p / "front.png").exists())

    # -- the wire ---------------------------------------------------------------------------
    def feed(self, data: bytes) -> bytes:
        """Bytes from the host -> the printer's answers (possibly none yet)."""
        with self.lock:
            self.buf += data
            out = bytearray()
            while True:
                frame = self._next_frame()
                if frame is None:
                    break
                reply = self._execute(*frame)
                if reply is not None and "silence" not in self.faults and not self.hung:
                    out += (b"\x07\xfe#?" if "garbage" in self.faults else reply.encode() + b"\r")
            return bytes(out)

    def _next_frame(self) -> tuple[str, list[str], bytes] | None:
        buf = self.buf
        start = buf.find(b"\x1b")
        if start < 0:
            buf.clear()  # noise between commands is ignored, as the printer does
            return None
        del buf[:start]
        if buf[1:4] == b"Db;":
            head_end = -1
            semis = 0
            for i in range(1, min(len(buf), 32)):
                if buf[i] == 0x3B:
                    semis += 1
                    if semis == 3:
                        head_end = i
                        break
            if head_end < 0:
                if len(buf) >= 32:  # not a panel header after all: drop to the next CR
                    return self._plain_frame()
                return None
            parts = buf[1:head_end].decode("ascii", "replace").split(";")
            try:
                bits = LEVEL_BITS[int(parts[2])]
            except (ValueError, KeyError, IndexError):
                return self._plain_frame()
            size = (LINES * DOTS * bits + 7) // 8
            end = head_end + 1 + size
            if len(buf) < end + 1:
                return None
            payload = bytes(buf[head_end + 1:end])
            ok_cr = buf[end] == 0x0D
            del buf[:end + 1]
            return ("Db", parts[1:] if ok_cr else ["bad"], payload)
        return self._plain_frame()

    def _plain_frame(self) -> tuple[str, list[str], bytes] | None:
        cr = self.buf.find(b"\r")
        if cr < 0:
            return None
        text = bytes(self.buf[1:cr]).decode("ascii", "replace")
        del self.buf[:cr + 1]
        name, *params = text.split(";")
        if name == "Db":  # a panel download whose header did not parse: refused as bad parameters
            return ("Db", ["bad"], b"")
        return (name, params, b"")

    # -- commands ---------------------------------------------------------------------------
    def flags(self) -> list[str]:
        out = []
        if "cover_open" in self.faults:
            out.append("ERR_COVER_OPEN")
        if self.state.cards <= 0 or "no_card" in self.faults:
            out.append("DEF_FEEDER_EMPTY")
        if self.state.ribbon_left <= 0 or "ribbon_out" in self.faults:
            out.append("DEF_RIBBON_ENDED")
        return out

    def _execute(self, name: str, params: list[str], payload: bytes) -> str | None:
        self.commands.append(name)
        s = self.state
        simple = {"Rfv": self.firmware, "Rsn": self.serial, "Rtp": self.model, "Rlr": str(s.ribbon_left),
                  "Rrt": s.ribbon, "Rco": str(s.counter)}
        if name in simple:
            return simple[name]
        if name == "Rse":
            return ";".join(self.flags()) or "READY"
        if name == "Pem":  # error management mode: this mock always reports errors to the host
            return "OK" if params and params[0] in ("0", "1", "2") else "ERR PAR"
        if name == "Pr":
            if not params or params[0].upper() != s.ribbon:
                return "ERR_BAD_RIBBON"
            return "OK"
        if name == "Ss":
            if "cover_open" in self.faults:
                return "ERR_COVER_OPEN"
            self.job = Job(ribbon=s.ribbon)
            return "OK"
        if name in ("Sr", "Sv"):
            if self.job is None:
                return "ERR CDE"
            self.job.side = "front" if name == "Sr" else "back"
            return "OK"
        if name == "Db":
            if self.job is None or params == ["bad"] or len(params) < 2 or params[0] not in ("y", "m", "c", "k", "o"):
                return "ERR PAR"
            bits = LEVEL_BITS[int(params[1])]
            self.job.panels[f"{self.job.side}-{params[0]}"] = card_plane(unpack_levels(payload, bits))
            return "OK"
        if name == "Se":
            return self._print()
        return "ERR CDE"

    def _print(self) -> str | None:
        job, self.job = self.job, None
        s = self.state
        if job is None:
            return "ERR CDE"
        for flag in self.flags():  # checked before a card moves
            return flag if flag.startswith("ERR") else "ERR_" + flag[4:]
        if "stall" in self.faults:  # the printer stops answering before it feeds a card
            self.hung = True
            return None
        s.cards -= 1
        s.counter += 1
        if "jam" in self.faults:
            s.spoiled += 1
            self._save()
            return "ERR_MECHANICAL"
        s.ribbon_left -= 1
        self._save()
        self._write_card(job, s.counter)
        if "hang_after_feed" in self.faults:
            self.hung = True
            return None
        return "OK"

    def _write_card(self, job: Job, number: int) -> None:
        from PIL import Image

        folder = self.workdir / "cards" / f"{number:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        for key, plane in job.panels.items():
            Image.fromarray(plane).save(folder / f"{key}.png", compress_level=1)
        for side in ("front", "back"):
            if not any(k.startswith(side) for k in job.panels):
                continue
            blank = np.zeros((DOTS, LINES), np.uint8)
            y, m, c = (job.panels.get(f"{side}-{p}", blank) for p in "ymc")
            k = job.panels.get(f"{side}-k", blank) > 127
            rgb = np.stack([255 - c, 255 - m, 255 - y], axis=2)
            rgb[k] = 0
            Image.fromarray(rgb.astype(np.uint8)).save(folder / f"{side}.tmp.png", compress_level=1)
            os.replace(folder / f"{side}.tmp.png", folder / f"{side}.png")


# ------------------------------------------------------------------------------------------
# USB: a pyusb backend


class _Desc:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


class EvolisUsbBackend:
    """``usb.backend.IBackend`` for one simulated Evolis printer (built lazily: pyusb import)."""

    def __new__(cls, mock: EvolisMock) -> Any:
        import usb.backend
        import usb.core

        class Backend(usb.backend.IBackend):  # type: ignore[misc]
            def __init__(self) -> None:
                self.mock = mock
                self.pending = bytearray()
                self.cond = threading.Condition()
                self.claimed = False
                self.strings = {1: "Evolis", 2: mock.model, 3: mock.serial}

            def _gone(self) -> None:
                if "unplugged" in self.mock.faults:
                    raise usb.core.USBError("No such device", errno=19)

            def enumerate_devices(self):  # type: ignore[no-untyped-def]
                if "unplugged" not in self.mock.faults:
                    yield "evolis-mock"

            def get_device_descriptor(self, dev: Any) -> Any:
                return _Desc(bLength=18, bDescriptorType=1, bcdUSB=0x0200, bDeviceClass=0, bDeviceSubClass=0,
                             bDeviceProtocol=0, bMaxPacketSize0=64, idVendor=VENDOR_ID, idProduct=PRODUCT_ID,
                             bcdDevice=0x0100, iManufacturer=1, iProduct=2, iSerialNumber=3, bNumConfigurations=1,
                             address=5, bus=1, port_number=1, port_numbers=(1,), speed=2)

            def get_configuration_descriptor(self, dev: Any, config: int) -> Any:
                return _Desc(bLength=9, bDescriptorType=2, wTotalLength=32, bNumInterfaces=1,
                             bConfigurationValue=1, iConfiguration=0, bmAttributes=0xC0, bMaxPower=1,
                             extra_descriptors=[])

            def get_interface_descriptor(self, dev: Any, intf: int, alt: int, config: int) -> Any:
                return _Desc(bLength=9, bDescriptorType=4, bInterfaceNumber=0, bAlternateSetting=0, bNumEndpoints=2,
                             bInterfaceClass=7, bInterfaceSubClass=1, bInterfaceProtocol=2, iInterface=0,
                             extra_descriptors=[])

            def get_endpoint_descriptor(self, dev: Any, ep: int, intf: int, alt: int, config: int) -> Any:
                return _Desc(bLength=7, bDescriptorType=5, bEndpointAddress=(0x02, 0x81)[ep], bmAttributes=2,
                             wMaxPacketSize=64, bInterval=0, bRefresh=0, bSynchAddress=0, extra_descriptors=[])

            def open_device(self, dev: Any) -> Any:
                self._gone()
                return object()

            def close_device(self, handle: Any) -> None:
                pass

            def set_configuration(self, handle: Any, value: int) -> None:
                self._gone()

            def get_configuration(self, handle: Any) -> int:
                self._gone()
                return 1

            def claim_interface(self, handle: Any, intf: int) -> None:
                self._gone()
                self.claimed = True

            def release_interface(self, handle: Any, intf: int) -> None:
                self.claimed = False

            def is_kernel_driver_active(self, handle: Any, intf: int) -> bool:
                return False

            def clear_halt(self, handle: Any, ep: int) -> None:
                pass

            def ctrl_transfer(self, handle: Any, bmRequestType: int, bRequest: int, wValue: int, wIndex: int,
                              data: Any, timeout: int) -> int:
                self._gone()
                if bmRequestType & 0x80 and bRequest == 6 and wValue >> 8 == 3:  # GET_DESCRIPTOR(string)
                    index = wValue & 0xFF
                    raw = b"\x04\x03\x09\x04" if index == 0 else (
                        bytes([2 + 2 * len(self.strings.get(index, "")), 3]) + self.strings.get(index, "").encode("utf-16-le"))
                    n = min(len(raw), len(data))
                    data[:n] = array.array("B", raw[:n])
                    return n
                raise usb.core.USBError("Pipe error", errno=32)

            def bulk_write(self, handle: Any, ep: int, intf: int, data: Any, timeout: int) -> int:
                self._gone()
                if not self.claimed:
                    raise usb.core.USBError("interface not claimed", errno=16)
                reply = self.mock.feed(bytes(data))
                if reply:
                    with self.cond:
                        self.pending += reply
                        self.cond.notify_all()
                return len(data)

            def bulk_read(self, handle: Any, ep: int, intf: int, buff: Any, timeout: int) -> int:
                self._gone()
                with self.cond:
                    if not self.pending:
                        self.cond.wait(timeout / 1000 if timeout else None)
                    if not self.pending:
                        raise usb.core.USBTimeoutError("Operation timed out", errno=110)
                    n = min(len(buff), len(self.pending))
                    buff[:n] = array.array("B", self.pending[:n])
                    del self.pending[:n]
                    return n

        return Backend()


# ------------------------------------------------------------------------------------------
# pty


class PtyServer:
    """Serve the mock on a pseudo-terminal; ``path`` is the port the driver opens."""

    def __init__(self, mock: EvolisMock) -> None:
        self.mock = mock
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # bytes pass untouched (CR stays CR, binary panels intact)
        self.path = os.ttyname(self.slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="evolis-pty", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        import select

        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:
                break
            reply = self.mock.feed(data)
            if reply:
                os.write(self.master, reply)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


# ------------------------------------------------------------------------------------------
# Station hook

_station: dict[str, EvolisMock] = {}


def station_backend() -> Any:
    """The pyusb backend of the mock started by :func:`start_for_station` (named in overrides)."""
    return EvolisUsbBackend(_station["mock"])


@dataclass
class MockHandle:
    mock: EvolisMock
    overrides: dict[str, Any]
    server: PtyServer | None = None

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        _station.pop("mock", None)


def start_for_station(params: dict[str, Any], workdir: Path) -> MockHandle:
    """Start the simulated printer; overrides point the Evolis driver at it (USB, or pty)."""
    mock = EvolisMock(Path(workdir) / "evolis", ribbon=str(params.get("ribbon", "YMCKO")))
    if params.get("connection", "usb") == "serial":
        server = PtyServer(mock)
        return MockHandle(mock, {"connection": "serial", "port": server.path}, server)
    _station["mock"] = mock
    return MockHandle(mock, {"connection": "usb", "usb_backend": "device_mocks.evolis:station_backend"})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m device_mocks.evolis", description="Simulated Evolis printer on a pty")
    ap.add_argument("--workdir", default="var/mocks/evolis")
    ap.add_argument("--cards", type=int)
    ap.add_argument("--ribbon", choices=("YMCKO", "YMCKOK", "KO", "K"))
    ap.add_argument("--fault", action="append", default=[],
                    choices=("no_card", "ribbon_out", "cover_open", "jam", "silence", "hang_after_feed", "stall",
                             "garbage"))
    args = ap.parse_args(argv)
    mock = EvolisMock(Path(args.workdir), cards=args.cards, ribbon=args.ribbon, faults=set(args.fault))
    server = PtyServer(mock)
    print(server.path, flush=True)
    print(f"cards land in {mock.workdir / 'cards'}", flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
