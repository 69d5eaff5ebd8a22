"""ZFM / R30x / AS60x fingerprint sensor emulator on a pseudo-terminal.

The emulator answers the ZhianTec UART protocol byte for byte (see :mod:`kiosk.devices.zfm` for
the packet layout) on the master side of a pty; the driver opens the slave side exactly as it
opens ``/dev/ttyUSB0`` on a station. Factory defaults: address 0xFFFFFFFF, password 0, 57600
baud, 128-byte data packets, a 1000-template library. A finger is on the sensor whenever an image
is asked for, unless a fault says otherwise.

Run alone::

    python -m device_mocks.zfm [--workdir DIR] [--wire-timing] [--baudrate 57600] [--seed 1]

The first line printed is the port the driver opens (a stable symlink ``DIR/zfm.tty`` to the
current ``/dev/pts/N``, so the same path works again after an unplug/replug), the second is
``control: DIR/zfm.ctl`` (a short temporary folder instead when DIR is too long for a socket). Then it serves until SIGINT/SIGTERM.

Fault control
-------------
In process: ``handle.emulator.inject("no_finger", count=3)``, ``handle.emulator.clear()``,
``handle.server.unplug()`` / ``.replug()``. From outside: a UNIX stream socket ``zfm.ctl`` in the
workdir taking one command per line and answering one JSON line::

    fault NAME [COUNT]   inject a fault (COUNT times; forever when omitted)
    clear                remove all faults
    unplug | replug      close the pty (the device vanishes) / bring a new one at the same path
    timing on|off        wire timing: sleep len*10/baud per packet, as the UART would take
    finger N | each      finger N stays on the glass / every image is of a new finger
    status               faults, plug state, templates stored

Faults: ``no_finger`` (GenImg answers 0x02), ``image_messy`` (Img2Tz answers 0x06),
``wrong_password`` (VfyPwd answers 0x13), ``bad_checksum`` (the next reply's checksum is wrong),
``garbage`` (the next reply is replaced by random bytes), ``silence`` (no replies at all).

Images come from the synthetic fingerprint generator (:mod:`device_mocks.fingerprints`): the
finger on the glass is ``finger`` (a stable finger id), each GenImg a new impression of it.
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import json
import os
import random
import select
import signal
import socket
import socketserver
import sys
import tempfile
import threading
import time
import tty
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from device_mocks.fingerprints import FingerprintGenerator

# Wire constants are spelled out here rather than imported from the driver: the emulator stands
# for the module's firmware, and must not silently follow a bug in the driver.
START = b"\xef\x01"
PID_COMMAND, PID_DATA, PID_ACK, PID_END = 0x01, 0x02, 0x07, 0x08
WIDTH, HEIGHT = 256, 288
CHAR_BYTES = 512
SIZE_CODES = {32: 0, 64: 1, 128: 2, 256: 3}
FAULTS = ("no_finger", "image_messy", "wrong_password", "bad_checksum", "garbage", "silence")


def pack_4bpp(pixels: np.ndarray) -> bytes:
    """Two pixels per byte, first in the high nibble (the UpImage format)."""
    nib = (pixels.astype(np.uint8) >> 4).reshape(-1)
    return ((nib[0::2] << 4) | nib[1::2]).astype(np.uint8).tobytes()


def _sum16(pid: int, length: int, payload: bytes) -> int:
    total = pid + (length >> 8) + (length & 0xFF)
    for b in payload:
        total += b
    return total & 0xFFFF


@dataclass
class ZfmEmulator:
    """The module's firmware: packets in, packets out. No I/O; thread-safe via ``lock``."""

    address: int = 0xFFFFFFFF
    password: int = 0
    packet_size: int = 128
    baudrate: int = 57600
    library_size: int = 1000
    security_level: int = 3
    seed: int = 1
    #: which finger is on the glass (drives the image and the features)
    finger: int = 1
    #: a resident going through their fingers: every image is of a new finger (a simulated
    #: station's enrollment needs ten different fingers; the wrong-finger check would flag repeats)
    new_finger_each_image: bool = False
    faults: dict[str, int | None] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._inbox = bytearray()
        self._verified = self.password == 0
        self._image: bytes | None = None
        self._image_finger = 0
        self._captures = 0
        self.chars: dict[int, bytes] = {}
        self.library: dict[int, bytes] = {}
        self.led_on = False
        self._download: tuple[str, int] | None = None
        self._download_data = bytearray()
        self._rng = random.Random(self.seed)
        self._generator = FingerprintGenerator(self.seed)
        self.commands_seen: list[int] = []

    # -- faults -----------------------------------------------------------------------------
    def inject(self, name: str, count: int | None = None) -> None:
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
        with self.lock:
            self.faults[name] = count

    def clear(self) -> None:
        with self.lock:
            self.faults.clear()

    def _fault(self, name: str) -> bool:
        """Whether fault ``name`` fires now (and use up one of its count)."""
        if name not in self.faults:
            return False
        left = self.faults[name]
        if left is not None:
            if left <= 1:
                del self.faults[name]
            else:
                self.faults[name] = left - 1
        return True

    # -- framing ------------------------------------------------------------------------------
    def packet(self, pid: int, payload: bytes) -> bytes:
        length = len(payload) + 2
        return (START + self.address.to_bytes(4, "big") + bytes([pid]) + length.to_bytes(2, "big") + payload
                + _sum16(pid, length, payload).to_bytes(2, "big"))

    def _ack(self, code: int, data: bytes = b"") -> bytes:
        return self.packet(PID_ACK, bytes([code]) + data)

    def _data_packets(self, data: bytes) -> list[bytes]:
        n = self.packet_size
        chunks = [data[i:i + n] for i in range(0, len(data), n)]
        return [self.packet(PID_END if i == len(chunks) - 1 else PID_DATA, c) for i, c in enumerate(chunks)]

    def feed(self, data: bytes) -> list[bytes]:
        """Bytes from the host in; the reply packets (possibly none) out, in order."""
        with self.lock:
            self._inbox += data
            out: list[bytes] = []
            while True:
                start = self._inbox.find(START)
                if start < 0:
                    # keep a trailing 0xEF: it may be the first half of the next start code
                    del self._inbox[: max(0, len(self._inbox) - 1)]
                    break
                del self._inbox[:start]
                if len(self._inbox) < 9:
                    break
                length = int.from_bytes(self._inbox[7:9], "big")
                if length < 2 or length > 258:
                    del self._inbox[:2]  # not a real packet start: resynchronise
                    continue
                if len(self._inbox) < 9 + length:
                    break
                raw = bytes(self._inbox[: 9 + length])
                del self._inbox[: 9 + length]
                out.extend(self._packet_in(raw))
            return self._apply_reply_faults(out)

    def _apply_reply_faults(self, out: list[bytes]) -> list[bytes]:
        if not out:
            return out
        if self._fault("silence"):
            return []
        if self._fault("garbage"):
            return [bytes(self._rng.randrange(256) for _ in range(12))]
        if self._fault("bad_checksum"):
            first = bytearray(out[0])
            first[-1] ^= 0x5A
            out[0] = bytes(first)
        return out

    def _packet_in(self, raw: bytes) -> list[bytes]:
        address = int.from_bytes(raw[2:6], "big")
        pid, length = raw[6], int.from_bytes(raw[7:9], "big")
        payload, cks = raw[9:-2], int.from_bytes(raw[-2:], "big")
        if address != self.address:
            return []  # a packet for another module on the bus: not ours to answer
        if _sum16(pid, length, payload) != cks:
            self._download = None
            return [self._ack(0x01)]
        if pid in (PID_DATA, PID_END):
            return self._data_in(pid, payload)
        if pid != PID_COMMAND or not payload:
            return [self._ack(0x01)]
        self._download = None
        self.commands_seen.append(payload[0])
        return self._command(payload[0], payload[1:])

    def _data_in(self, pid: int, payload: bytes) -> list[bytes]:
        if self._download is None:
            return []  # stray data: the module ignores it
        self._download_data += payload
        if pid == PID_END:
            kind, target = self._download
            data = bytes(self._download_data)
            self._download = None
            if kind == "char":
                self.chars[target] = data[:CHAR_BYTES].ljust(CHAR_BYTES, b"\0")
            else:
                self._image = data
        return []  # downloads are not acknowledged packet by packet

    # -- the instruction set ---------------------------------------------------------------------
    def _features(self, finger: int) -> bytes:
        """A char file that depends only on the finger (two placements give the same one)."""
        out = bytearray()
        block = 0
        while len(out) < CHAR_BYTES:
            out += hashlib.sha256(f"zfm-{self.seed}-{finger}-{block}".encode()).digest()
            block += 1
        return bytes(out[:CHAR_BYTES])

    def sys_params(self) -> bytes:
        status = (0b0100 if self._verified else 0) | (0b1000 if self._image else 0)
        return (status.to_bytes(2, "big") + (0x0009).to_bytes(2, "big") + self.library_size.to_bytes(2, "big")
                + self.security_level.to_bytes(2, "big") + self.address.to_bytes(4, "big")
                + SIZE_CODES[self.packet_size].to_bytes(2, "big") + (self.baudrate // 9600).to_bytes(2, "big"))

    def _command(self, code: int, args: bytes) -> list[bytes]:
        if code == 0x13:  # VfyPwd
            if len(args) != 4:
                return [self._ack(0x01)]
            if self._fault("wrong_password") or int.from_bytes(args, "big") != self.password:
                self._verified = False
                return [self._ack(0x13)]
            self._verified = True
            return [self._ack(0x00)]
        if not self._verified and self.password != 0:
            # a module with the factory password 0 needs no handshake; any other one does
            return [self._ack(0x21)]
        if code == 0x0F:  # ReadSysPara
            return [self._ack(0x00, self.sys_params())]
        if code == 0x01:  # GenImg
            if self._fault("no_finger"):
                return [self._ack(0x02)]
            self._captures += 1
            if self.new_finger_each_image:
                self.finger = self._captures
            grey = self._generator.impression(self.finger, self._captures, size=(HEIGHT, WIDTH))
            self._image = pack_4bpp(grey)
            self._image_finger = self.finger
            return [self._ack(0x00)]
        if code == 0x0A:  # UpImage
            if self._image is None:
                return [self._ack(0x0F)]
            return [self._ack(0x00), *self._data_packets(self._image)]
        if code == 0x0B:  # DownImage
            self._download, self._download_data = ("image", 0), bytearray()
            return [self._ack(0x00)]
        if code == 0x02:  # Img2Tz
            if len(args) != 1:
                return [self._ack(0x01)]
            if self._image is None:
                return [self._ack(0x15)]
            if self._fault("image_messy"):
                return [self._ack(0x06)]
            self.chars[args[0]] = self._features(self._image_finger)
            return [self._ack(0x00)]
        if code == 0x05:  # RegModel
            a, b = self.chars.get(1), self.chars.get(2)
            if a is None or b is None or a != b:
                return [self._ack(0x0A)]
            return [self._ack(0x00)]
        if code == 0x03:  # Match
            a, b = self.chars.get(1), self.chars.get(2)
            if a is None or b is None or a != b:
                return [self._ack(0x08, b"\0\0")]
            return [self._ack(0x00, (200).to_bytes(2, "big"))]
        if code == 0x04:  # Search: buffer, start page, count
            if len(args) != 5:
                return [self._ack(0x01)]
            want = self.chars.get(args[0])
            start, count = int.from_bytes(args[1:3], "big"), int.from_bytes(args[3:5], "big")
            for page in range(start, start + count):
                if want is not None and self.library.get(page) == want:
                    return [self._ack(0x00, page.to_bytes(2, "big") + (200).to_bytes(2, "big"))]
            return [self._ack(0x09, b"\0\0\0\0")]
        if code == 0x06:  # Store
            if len(args) != 3:
                return [self._ack(0x01)]
            page = int.from_bytes(args[1:3], "big")
            if page >= self.library_size:
                return [self._ack(0x0B)]
            if args[0] not in self.chars:
                return [self._ack(0x0C)]
            self.library[page] = self.chars[args[0]]
            return [self._ack(0x00)]
        if code == 0x07:  # LoadChar
            if len(args) != 3:
                return [self._ack(0x01)]
            page = int.from_bytes(args[1:3], "big")
            if page >= self.library_size:
                return [self._ack(0x0B)]
            if page not in self.library:
                return [self._ack(0x0C)]
            self.chars[args[0]] = self.library[page]
            return [self._ack(0x00)]
        if code == 0x08:  # UpChar
            if len(args) != 1:
                return [self._ack(0x01)]
            if args[0] not in self.chars:
                return [self._ack(0x0D)]
            return [self._ack(0x00), *self._data_packets(self.chars[args[0]])]
        if code == 0x09:  # DownChar
            if len(args) != 1:
                return [self._ack(0x01)]
            self._download, self._download_data = ("char", args[0]), bytearray()
            return [self._ack(0x00)]
        if code == 0x0C:  # DeletChar: page, count
            if len(args) != 4:
                return [self._ack(0x01)]
            page, count = int.from_bytes(args[:2], "big"), int.from_bytes(args[2:], "big")
            if page + count > self.library_size:
                return [self._ack(0x10)]
            for p in range(page, page + count):
                self.library.pop(p, None)
            return [self._ack(0x00)]
        if code == 0x0D:  # Empty
            self.library.clear()
            return [self._ack(0x00)]
        if code == 0x1D:  # TemplateNum
            return [self._ack(0x00, len(self.library).to_bytes(2, "big"))]
        if code == 0x14:  # GetRandomCode
            return [self._ack(0x00, self._rng.getrandbits(32).to_bytes(4, "big"))]
        if code == 0x12:  # SetPwd
            if len(args) != 4:
                return [self._ack(0x01)]
            self.password = int.from_bytes(args, "big")
            return [self._ack(0x00)]
        if code == 0x35:  # AuraLedConfig: control, speed, colour, count
            if len(args) != 4:
                return [self._ack(0x01)]
            self.led_on = args[0] in (1, 3, 5)
            return [self._ack(0x00)]
        if code in (0x50, 0x51):  # OpenLED / CloseLED
            self.led_on = code == 0x50
            return [self._ack(0x00)]
        return [self._ack(0x19)]  # not an instruction this module knows

    def status(self) -> dict[str, Any]:
        with self.lock:
            return {"faults": dict(self.faults), "templates": len(self.library), "led_on": self.led_on,
                    "password_verified": self._verified}


class ZfmPtyServer:
    """Serves one emulator on the master side of a pty; ``link`` is the stable port path."""

    def __init__(self, emulator: ZfmEmulator, *, link: Path | None = None, wire_timing: bool = False) -> None:
        self.emulator = emulator
        self.link = link
        self.wire_timing = wire_timing
        self.pty_path = ""
        self._master = -1
        self._slave = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.plugged = False

    @property
    def port(self) -> str:
        """What the driver opens: the stable link when there is one, else the pty itself."""
        return str(self.link) if self.link is not None else self.pty_path

    def start(self) -> "ZfmPtyServer":
        self.replug()
        return self

    def replug(self) -> None:
        if self.plugged:
            return
        self._master, self._slave = os.openpty()
        # raw before any driver opens it: no echo, no line editing between open and termios setup
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.pty_path = os.ttyname(self._slave)
        if self.link is not None:
            tmp = self.link.with_name(self.link.name + ".new")
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(self.pty_path)
            tmp.replace(self.link)
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name="zfm-mock", daemon=True)
        self.plugged = True
        self._thread.start()

    def unplug(self) -> None:
        """The cable is pulled: the pty goes away (the driver's reads and writes fail)."""
        if not self.plugged:
            return
        self.plugged = False
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self.link is not None:
            self.link.unlink(missing_ok=True)
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
        self._master = self._slave = -1

    def close(self) -> None:
        self.unplug()

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view and not self._stop.is_set():
            _, writable, _ = select.select([], [self._master], [], 0.05)
            if not writable:
                continue
            try:
                n = os.write(self._master, view)
            except BlockingIOError:
                continue
            view = view[n:]

    def _serve(self) -> None:
        while not self._stop.is_set():
            readable, _, _ = select.select([self._master], [], [], 0.05)
            if not readable:
                continue
            try:
                data = os.read(self._master, 4096)
            except BlockingIOError:
                continue
            except OSError as exc:
                if exc.errno == errno.EIO:  # no one holds the slave: wait for the next opener
                    time.sleep(0.02)
                    continue
                raise
            for packet in self.emulator.feed(data):
                if self.wire_timing:
                    # 8N1: ten bit times per byte at the module's baud rate
                    time.sleep(len(packet) * 10 / self.emulator.baudrate)
                self._write_all(packet)


class _ControlHandler(socketserver.StreamRequestHandler):
    server: "_ControlServer"

    def handle(self) -> None:
        for line in self.rfile:
            words = line.decode("utf-8", "replace").split()
            try:
                reply = self.server.mock.control(words)
            except (ValueError, IndexError) as exc:
                reply = {"ok": False, "error": str(exc)}
            self.wfile.write((json.dumps(reply) + "\n").encode())


class _ControlServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    mock: "ZfmMock"


class ZfmMock:
    """A running emulator: pty server, optional control socket. The registry's MockHandle."""

    def __init__(self, emulator: ZfmEmulator, workdir: Path | None = None, *, wire_timing: bool = False,
                 control: bool = True) -> None:
        self.emulator = emulator
        self.workdir = workdir
        link = workdir / "zfm.tty" if workdir is not None else None
        if workdir is not None:
            workdir.mkdir(parents=True, exist_ok=True)
        self.server = ZfmPtyServer(emulator, link=link, wire_timing=wire_timing).start()
        self.control_path: Path | None = None
        self._control: _ControlServer | None = None
        if control and workdir is not None:
            self.control_path = workdir / "zfm.ctl"
            if len(str(self.control_path)) > 100:
                # UNIX socket paths are limited to ~108 bytes: fall back to a short temp folder
                self.control_path = Path(tempfile.mkdtemp(prefix="zfm-")) / "zfm.ctl"
            self.control_path.unlink(missing_ok=True)
            self._control = _ControlServer(str(self.control_path), _ControlHandler)
            self._control.mock = self
            threading.Thread(target=self._control.serve_forever, args=(0.05,), name="zfm-mock-control", daemon=True).start()

    @property
    def overrides(self) -> dict[str, Any]:
        return {"port": self.server.port}

    def control(self, words: list[str]) -> dict[str, Any]:
        """One control command (the socket's line, split into words)."""
        cmd = words[0] if words else ""
        if cmd == "fault":
            self.emulator.inject(words[1], int(words[2]) if len(words) > 2 else None)
        elif cmd == "clear":
            self.emulator.clear()
        elif cmd == "unplug":
            self.server.unplug()
        elif cmd == "replug":
            self.server.replug()
        elif cmd == "finger":
            # "finger N": that finger stays on the glass; "finger each": a new finger every image
            self.emulator.new_finger_each_image = words[1] == "each"
            if words[1] != "each":
                self.emulator.finger = int(words[1])
        elif cmd == "timing":
            self.server.wire_timing = words[1] == "on"
        elif cmd != "status":
            raise ValueError(f"unknown command {cmd!r}")
        return {"ok": True, "plugged": self.server.plugged, "port": self.server.port,
                "wire_timing": self.server.wire_timing, **self.emulator.status()}

    def close(self) -> None:
        if self._control is not None:
            self._control.shutdown()
            self._control.server_close()
            self._control = None
            if self.control_path is not None:
                self.control_path.unlink(missing_ok=True)
        self.server.close()


def send_control(path: Path, line: str, timeout_s: float = 5.0) -> dict[str, Any]:
    """Send one control line to a running mock's socket; its JSON answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        sock.connect(str(path))
        sock.sendall(line.encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf)  # type: ignore[no-any-return]


def start_for_station(params: dict[str, Any], workdir: Path) -> ZfmMock:
    """Start the emulator configured like the driver's table (baud, address, password, packet size).

    The simulated resident puts a new finger on the glass for every image (``finger N`` on the
    control socket pins one). Wire timing is off for a simulated station unless ``$KIOSK_ZFM_WIRE_TIMING=1`` (a real
    57600-baud upload takes ~7 s per finger), and can be switched with ``timing on``.
    """
    emulator = ZfmEmulator(address=int(params.get("address", 0xFFFFFFFF)), password=int(params.get("password", 0)),
                           packet_size=int(params.get("packet_size", 128)),
                           baudrate=int(params.get("baudrate", 57600)), new_finger_each_image=True)
    return ZfmMock(emulator, Path(workdir), wire_timing=os.environ.get("KIOSK_ZFM_WIRE_TIMING") == "1")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m device_mocks.zfm", description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("var/mocks"), help="where zfm.tty and zfm.ctl go")
    parser.add_argument("--baudrate", type=int, default=57600)
    parser.add_argument("--address", type=lambda s: int(s, 0), default=0xFFFFFFFF)
    parser.add_argument("--password", type=lambda s: int(s, 0), default=0)
    parser.add_argument("--packet-size", type=int, choices=sorted(SIZE_CODES), default=128)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--wire-timing", action="store_true", help="take as long as the UART would")
    args = parser.parse_args(argv)
    emulator = ZfmEmulator(address=args.address, password=args.password, packet_size=args.packet_size,
                           baudrate=args.baudrate, seed=args.seed)
    mock = ZfmMock(emulator, args.workdir.resolve(), wire_timing=args.wire_timing)
    print(mock.server.port, flush=True)
    print(f"control: {mock.control_path}", flush=True)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    try:
        done.wait()
    finally:
        mock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
