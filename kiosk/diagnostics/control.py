"""The running kiosk's control socket: ``kiosk devices`` / ``kiosk diag`` ask it to check the
devices it holds instead of opening them (or starting mocks) themselves.

A UNIX stream socket, ``<data_dir>/kiosk.ctl`` (a short private temporary folder when that path is
too long for a socket), mode 0600, answering only peers of the same user (SO_PEERCRED). Its path
is in the station lock file (:mod:`kiosk.instance`). One JSON request line, one JSON answer line:

    {"op": "devices"}                                        -> {"ok": true, "configured": [...]}
    {"op": "diag", "devices": [...], "capture_timeout_s": 10,
     "bundle": false}                                        -> {"ok": true, "devices": [...], "bundle": ""}

Every answer carries ``holder`` (the running kiosk in words). Device calls go through the
drivers' own locks, so a check that meets a running capture reports the device busy.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import socketserver
import struct
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable

from kiosk.errors import KioskError
from kiosk.instance import StationLock, running_holder

log = logging.getLogger(__name__)

SOCKET_FILE = "kiosk.ctl"
#: AF_UNIX paths are limited to 108 bytes with the terminating NUL
MAX_SOCKET_PATH = 100
MAX_REQUEST = 64 * 1024


class StationDiagnostics:
    """What the control socket runs, on the devices the running kiosk holds."""

    def __init__(self, cfg: Any, devices: Callable[[], Any], store: Callable[[], Any]) -> None:
        self.cfg = cfg
        self._devices = devices
        self._store = store

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        from kiosk.diagnostics.runner import diagnose, status_row

        op = request.get("op")
        devices = self._devices()
        if op == "devices":
            rows = [status_row(devices, d.name, d.driver, d.mock).as_dict() for d in self.cfg.devices]
            return {"ok": True, "configured": rows}
        if op == "diag":
            known = [d.name for d in self.cfg.devices]
            chosen = [n for n in request.get("devices") or known if n in known]
            timeout = float(request.get("capture_timeout_s", 10.0))
            rows = [diagnose(devices, n, capture_timeout_s=timeout).as_dict(exchanges=True) for n in chosen]
            path = ""
            if request.get("bundle"):
                from kiosk.diagnostics.bundle import write_bundle

                path = str(write_bundle(self.cfg, devices, self._store()))
            return {"ok": True, "devices": rows, "bundle": path}
        if op == "ping":
            return {"ok": True}
        return {"ok": False, "error": f"unknown op {op!r}"}


class _Handler(socketserver.StreamRequestHandler):
    server: "_Server"

    def handle(self) -> None:
        creds = self.request.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _, uid, _ = struct.unpack("3i", creds)
        if uid != os.getuid():
            log.warning("control socket: refused a peer of uid %s", uid)
            return
        line = self.rfile.readline(MAX_REQUEST)
        try:
            request = json.loads(line)
            answer = self.server.diagnostics.handle(request if isinstance(request, dict) else {})
        except ValueError:
            answer = {"ok": False, "error": "request is not one JSON line"}
        except Exception as exc:  # the kiosk keeps running; the asking tool gets the failure in words
            log.exception("control request failed")
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        answer["holder"] = self.server.holder_words
        self.wfile.write((json.dumps(answer, default=str) + "\n").encode())


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    diagnostics: StationDiagnostics
    holder_words: str


class ControlServer:
    """Serves :class:`StationDiagnostics` on the station's control socket while the kiosk runs."""

    def __init__(self, lock: StationLock, diagnostics: StationDiagnostics) -> None:
        self._tmpdir: str | None = None
        path = lock.data_dir / SOCKET_FILE
        if len(str(path)) > MAX_SOCKET_PATH:
            self._tmpdir = tempfile.mkdtemp(prefix="kiosk-ctl-")  # 0700
            path = Path(self._tmpdir) / SOCKET_FILE
        path.unlink(missing_ok=True)  # left by a kiosk that was killed: the lock proved it is gone
        self.path = path
        old = os.umask(0o177)  # the socket is created 0600: no moment when others may connect
        try:
            self._server = _Server(str(path), _Handler)
        finally:
            os.umask(old)
        os.chmod(path, 0o600)
        self._server.diagnostics = diagnostics
        self._server.holder_words = lock.holder.describe()
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.1,), name="kiosk-control",
                                        daemon=True)
        self._thread.start()
        lock.set_control(str(path))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.path.unlink(missing_ok=True)
        if self._tmpdir is not None:
            os.rmdir(self._tmpdir)

    def __enter__(self) -> "ControlServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def ask_running_kiosk(data_dir: Path, request: dict[str, Any], *, timeout_s: float | None = None) -> dict[str, Any] | None:
    """The running kiosk's answer to ``request``; None when no kiosk runs on ``data_dir``.

    Raises ``instance.devices_held`` (one plain line) when a kiosk runs but cannot be asked: it
    holds the devices, and this tool must not touch them."""
    holder = running_holder(data_dir)
    if holder is None:
        return None
    if not holder.control:
        raise KioskError("instance.devices_held", holder=holder.describe(), reason="-")
    if timeout_s is None:
        # a diag runs a test capture per device; give it that long, and the rest of the checks
        n = max(1, len(request.get("devices") or [1]))
        timeout_s = 30.0 + n * float(request.get("capture_timeout_s", 10.0))
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout_s)
            sock.connect(holder.control)
            sock.sendall(json.dumps(request).encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
        answer = json.loads(buf)
    except (OSError, ValueError) as exc:
        from kiosk.devices.errors import os_error_text

        raise KioskError("instance.devices_held", holder=holder.describe(),
                         reason=os_error_text(exc) or type(exc).__name__) from None
    if not answer.get("ok"):
        raise KioskError("instance.control_failed", holder=answer.get("holder", holder.describe()),
                         reason=answer.get("error", "?"))
    return answer  # type: ignore[no-any-return]
