"""A simulated Evolis card printer, at the wire, following Evolis's Programming Guide A5013.

References (read these, not our driver): Evolis Programming Guide A5013 rev. D2 and E (PDFs in
dpavlin/Printer-EVOLIS ``docs/``) and that repository's hardware-tested scripts
(``scripts/evolis-driver.pl``, ``scripts/evolis-simulator.pl``, ``scripts/evolis-command.pl``).
What the mock takes from them:

- framing ``ESC name;param... CR``; bytes outside a command (the NUL padding
  ``evolis-driver.pl`` sends after ``Se``) are ignored, as ``evolis-simulator.pl`` does;
- ``Db;panel;levels;data CR``: the guide fixes the data length, "the downloading will always be
  of 648 pixels by 1016 pixels", ``648 * 1016 * bits / 8`` bytes (84,624 for 2 levels, 592,368 for
  128). The printer counts those bytes, whatever they are: a panel cut off half-way (the host
  was killed) keeps the printer reading panel data, so every later command is swallowed as
  pixels until the count is complete. The guide names no time-out for it; ``Srs`` ("resets the
  printer like when we restart it") drops the half-built job;
- read commands with their parameters: ``Rco;p`` printed panels, ``Rco;c`` inserted cards,
  ``Rco;l`` / ``Rco;I`` cards the ribbon still prints (``evolis-command.pl`` prints ``Rco;l`` as
  "this ribbon"), ``Rse;c|m|o|p|r`` a sensor voltage, ``Rlr`` the last answer (``Rlr;p``
  "NO CARD" / "ERR CARD", ``Rlr;r`` "ERR NEED CLEANING"; our reading: the last answer to a
  command that is not itself a read), ``Rr`` the ribbon type, and
  ``Rrt;count`` / ``Rrt;qty`` prints left / ribbon capacity ("ERR RIB DETECTION" without a
  ribbon), as public code driving real printers reads them. A read command that needs a
  parameter answers "ERROR PARAMETRES" without one; an unknown command "ERROR CDE";
- answers: "OK", "ERROR CDE", "ERROR PARAMETRES", "FEEDER EMPTY", "COVER OPEN", "CARD JAM",
  "ERROR RIBBON", "HOPPER FULL", "NEED CLEANING", ended by CR.

It is reached through either wire:

- :class:`EvolisUsbBackend`: a pyusb ``IBackend`` presenting an Evolis printer-class
  interface (vendor 0x0F49) with bulk OUT 0x02 / bulk IN 0x81; the driver finds, claims and
  talks to it with the same pyusb calls it uses on hardware;
- :class:`PtyServer`: a pseudo-terminal whose other end is the printer.

Every printed card lands in ``<workdir>/cards/NNNN/`` as PNGs: one per ribbon panel and side
(``front-y.png``, ``front-k.png``, ``back-k.png``...) and the composed ``front.png`` / ``back.png``.
The hopper, ribbon and counters persist in ``<workdir>/state.json`` so a restarted station
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
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from device_mocks.evolis_links import (  # noqa: F401  (usb_connection, EvolisUsbBackend: part of this module's API)
    EvolisUsbBackend,
    EvolisUsbDevice,
    PtyServer,
    usb_connection,
    usb_mock,
)
from device_mocks.usb_backend import UsbMockHandle

LINES, DOTS = 1016, 648
LEVEL_BITS = {2: 1, 32: 5, 64: 6, 128: 7, 256: 8}


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
    #: ribbon capacity in prints (``Rrt;qty``)
    ribbon_capacity: int = 200
    #: cards inserted (``Rco;c``) and panels printed (``Rco;p``) over the printer's life
    counter: int = 0
    panels: int = 0
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
        self.requests: list[str] = []  # every command with its parameters (panel data left out)
        self.lock = threading.RLock()
        self.hung = False
        #: the last answer given (what ``Rlr`` returns)
        self.last_reply = "OK"
        #: a card left inside the printing module (a jam not yet cleared)
        self.card_inside = False

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
                if reply is not None and not frame[0].startswith("R"):  # reads leave the last answer alone
                    self.last_reply = reply
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
    def fault_reply(self) -> str | None:
        """The answer that stops a card before it moves, or None when the printer can print."""
        if "cover_open" in self.faults:
            return "COVER OPEN"
        if self.state.cards <= 0 or "no_card" in self.faults:
            return "FEEDER EMPTY"
        if self.state.ribbon_left <= 0 or "ribbon_out" in self.faults:
            return "ERROR RIBBON"
        return None

    def _read(self, name: str, params: list[str]) -> str:
        """The read (R...) commands, with the parameters the guide gives them."""
        s = self.state
        arg = params[0] if params else ""
        if name == "Rco":
            counters = {"p": s.panels, "c": s.counter, "l": s.ribbon_left, "I": s.ribbon_left,
                        "a": 0, "m": 0, "n": 0}
            return str(counters[arg]) if arg in counters else "ERROR PARAMETRES"
        if name == "Rse":  # sensor voltages, as a reading in volts
            sensors = {"c": "2.40", "m": "0.80" if s.cards > 0 else "4.10", "o": "4.60" if "cover_open" in self.faults
                       else "0.30", "p": "4.20" if self.card_inside else "0.20", "r": "1.10"}
            return sensors.get(arg, "ERROR PARAMETRES")
        if name == "Rlr":
            if arg == "p":
                return "ERR CARD" if self.card_inside else "NO CARD"
            if arg == "r":
                return "ERR NEED CLEANING" if "need_cleaning" in self.faults else self.last_reply
            return self.last_reply if not arg else "ERROR PARAMETRES"
        if name == "Rrt":
            if "no_ribbon" in self.faults:
                return "ERR RIB DETECTION"
            values = {"count": s.ribbon_left, "qty": s.ribbon_capacity}
            return str(values[arg]) if arg in values else "ERROR PARAMETRES"
        simple = {"Rfv": self.firmware, "Rsn": self.serial, "Rtp": self.model, "Rr": s.ribbon.lower(),
                  "Rkn": "KIT-MOCK-01"}
        return simple.get(name, "ERROR CDE")

    def _execute(self, name: str, params: list[str], payload: bytes) -> str | None:
        self.commands.append(name)
        self.requests.append(";".join([name, *params]))
        s = self.state
        if name.startswith("R"):
            return self._read(name, params)
        if name == "Srs":  # "resets the printer like when we restart it": the job and any hang are gone
            self.job, self.hung = None, False
            return "OK"
        if name == "Pem":  # error management mode: this mock always reports errors to the host
            return "OK" if params and params[0] in ("0", "1", "2", "3", "16", "18") else "ERROR PARAMETRES"
        if name in ("Pmi", "Pc", "Pl", "Ps"):  # insertion mode, contrast, luminosity, speed: accepted
            return "OK" if params else "ERROR PARAMETRES"
        if name == "Pr":
            if not params or params[0].upper() not in ("YMCKO", "YMCKOK", "KO", "K", "YMCKOKO"):
                return "ERROR PARAMETRES"
            return "OK"
        if name == "Ss":
            if "cover_open" in self.faults:
                return "COVER OPEN"
            self.job = Job(ribbon=s.ribbon)
            return "OK"
        if name in ("Sr", "Sv"):
            if self.job is None:
                return "ERROR CDE"
            self.job.side = "front" if name == "Sr" else "back"
            return "OK"
        if name == "Db":
            if self.job is None or params == ["bad"] or len(params) < 2 or params[0] not in ("y", "m", "c", "k", "o"):
                return "ERROR PARAMETRES"
            bits = LEVEL_BITS[int(params[1])]
            self.job.panels[f"{self.job.side}-{params[0]}"] = card_plane(unpack_levels(payload, bits))
            return "OK"
        if name == "Se":
            return self._print()
        return "ERROR CDE"

    def _print(self) -> str | None:
        job, self.job = self.job, None
        s = self.state
        if job is None:
            return "ERROR CDE"
        refusal = self.fault_reply()  # checked before a card moves
        if refusal is not None:
            return refusal
        if "stall" in self.faults:  # the printer stops answering before it feeds a card
            self.hung = True
            return None
        s.cards -= 1
        s.counter += 1
        if "jam" in self.faults:
            s.spoiled += 1
            self.card_inside = True
            self._save()
            return "CARD JAM"
        s.ribbon_left -= 1
        s.panels += len(job.panels)
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
# Station hook

@dataclass
class MockHandle:
    mock: EvolisMock
    overrides: dict[str, Any]
    server: PtyServer | None = None
    usb: UsbMockHandle | None = None

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        if self.usb is not None:
            self.usb.close()


def start_for_station(params: dict[str, Any], workdir: Path) -> MockHandle:
    """Start the simulated printer; overrides point the Evolis driver at it (USB, or pty)."""
    mock = EvolisMock(Path(workdir) / "evolis", ribbon=str(params.get("ribbon", "YMCKO")))
    if params.get("connection", "usb") == "serial":
        server = PtyServer(mock)
        return MockHandle(mock, {"connection": "serial", "port": server.path}, server)
    handle = usb_mock(mock)
    return MockHandle(mock, {"connection": "usb", **handle.overrides}, usb=handle)


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
