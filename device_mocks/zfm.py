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
    timing on|off        wire timing: each packet leaves len*10/baud after the previous one, as on the UART
    finger N | each      finger N stays on the glass / every image is of a new finger
    status               faults, plug state, templates stored

Faults: ``no_finger`` (GenImg answers 0x02), ``image_messy`` (Img2Tz answers 0x06),
``wrong_password`` (VfyPwd answers 0x13), ``bad_checksum`` (the next reply's checksum is wrong),
``garbage`` (the next reply is replaced by random bytes), ``silence`` (no replies at all),
``empty_packets`` (an upload becomes a flood of empty data packets), ``tiny_packets`` (an upload
comes one byte per packet).

``--model r503`` (or ``$KIOSK_ZFM_MODEL=r503`` for a simulated station) emulates an R503: 192x192
images, 1536-byte templates and ReadProdInfo; the default is the classic module. The firmware is
:mod:`device_mocks.zfm_firmware`, which cites the references.

Images come from the synthetic fingerprint generator (:mod:`device_mocks.fingerprints`): the
finger on the glass is ``finger`` (a stable finger id), each GenImg a new impression of it.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import select
import signal
import socket
import socketserver
import sys
import tempfile
import threading
import time
import tty
from pathlib import Path
from typing import Any

from device_mocks.zfm_firmware import (  # noqa: F401 - re-exported for the tests and benches
    CHAR_BYTES,
    FAULTS,
    HEIGHT,
    MODELS,
    SIZE_CODES,
    WIDTH,
    ZfmEmulator,
    pack_4bpp,
)

#: the count of images taken, in the work folder (see start_for_station)
CAPTURES_FILE = "zfm.captures"


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
            # the UART sends a reply's packets back to back at a constant rate: each packet is due
            # when the previous one's last bit left (8N1: ten bit times per byte). Pacing against
            # that running schedule, not sleeping per packet, keeps a late wake-up (a loaded
            # machine) from adding up over the 288 packets of an image
            due = time.monotonic()
            if self.wire_timing:
                due += len(data) * 10 / self.emulator.baudrate  # the command's own bytes take that long to arrive
            for packet in self.emulator.feed(data):
                if self._stop.is_set():
                    break
                if self.wire_timing:
                    due += len(packet) * 10 / self.emulator.baudrate
                    delay = due - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
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
                 control: bool = True, keep_captures: bool = False) -> None:
        self.emulator = emulator
        self.workdir = workdir
        if keep_captures and workdir is not None:
            emulator.on_capture = self._keep_captures
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

    def _keep_captures(self, count: int) -> None:
        assert self.workdir is not None
        tmp = self.workdir / (CAPTURES_FILE + ".tmp")
        tmp.write_text(str(count))
        os.replace(tmp, self.workdir / CAPTURES_FILE)  # a kill -9 leaves the old count or the new one

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
    control socket pins one). The count of images taken is kept in ``zfm.captures`` in the work
    folder, so the fingers of a restarted station are new ones (the same fingers again would be
    another resident's, and the central holds them as a duplicate). Wire timing is off for a simulated station unless ``$KIOSK_ZFM_WIRE_TIMING=1`` (a real
    57600-baud upload takes ~7 s per finger), and can be switched with ``timing on``.
    """
    emulator = ZfmEmulator(address=int(params.get("address", 0xFFFFFFFF)), password=int(params.get("password", 0)),
                           packet_size=int(params.get("packet_size", 128)),
                           baudrate=int(params.get("baudrate", 57600)), new_finger_each_image=True,
                           model=os.environ.get("KIOSK_ZFM_MODEL", "classic"),
                           first_capture=_captures_before(Path(workdir)))
    return ZfmMock(emulator, Path(workdir), wire_timing=os.environ.get("KIOSK_ZFM_WIRE_TIMING") == "1",
                   keep_captures=True)


def _captures_before(workdir: Path) -> int:
    try:
        return max(0, int((workdir / CAPTURES_FILE).read_text().strip() or 0))
    except (OSError, ValueError):  # first start, or a damaged count: start over (a demo, not data)
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m device_mocks.zfm", description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("var/mocks"), help="where zfm.tty and zfm.ctl go")
    parser.add_argument("--baudrate", type=int, default=57600)
    parser.add_argument("--address", type=lambda s: int(s, 0), default=0xFFFFFFFF)
    parser.add_argument("--password", type=lambda s: int(s, 0), default=0)
    parser.add_argument("--packet-size", type=int, choices=sorted(SIZE_CODES), default=128)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--model", choices=sorted(MODELS), default="classic", help="which module to be")
    parser.add_argument("--wire-timing", action="store_true", help="take as long as the UART would")
    args = parser.parse_args(argv)
    emulator = ZfmEmulator(address=args.address, password=args.password, packet_size=args.packet_size,
                           baudrate=args.baudrate, seed=args.seed, model=args.model)
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
