"""systemd service notifications (sd_notify(3)) without a library: one datagram per message.

A ``Type=notify`` unit passes ``$NOTIFY_SOCKET`` (a path, or ``@name`` in the abstract
namespace); we send ``READY=1`` once the service works, ``STATUS=...`` lines ``systemctl status``
shows, ``STOPPING=1``, and ``WATCHDOG=1`` at least every half ``WatchdogSec=`` (systemd passes
``$WATCHDOG_USEC`` and ``$WATCHDOG_PID``). Outside systemd every call is a cheap no-op.

The watchdog proves the *work* is alive, not the process: :class:`ServiceWatchdog` pings from
its own thread only while the loop it watches has called :meth:`ServiceWatchdog.beat` recently;
a loop stuck longer than ``stale_after`` stops the pings and systemd restarts the service.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Callable

log = logging.getLogger("kiosk.service")


def _address() -> str | None:
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr or not (addr.startswith("/") or addr.startswith("@")):
        return None
    return "\0" + addr[1:] if addr.startswith("@") else addr


def notify(*states: str) -> bool:
    """Send ``KEY=value`` lines to systemd; False when not under a notify unit or on failure."""
    addr = _address()
    if addr is None or not states:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(addr)
            sock.sendall("\n".join(states).encode())
        return True
    except OSError as exc:  # a missing socket must not stop the service; systemd will notice
        log.warning("sd_notify failed", extra={"reason": exc.strerror or str(exc)})
        return False


def watchdog_interval() -> float | None:
    """Seconds of ``WatchdogSec=`` for this process, or None when there is no watchdog."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 1_000_000


class ServiceWatchdog:
    """Pings systemd's watchdog while :meth:`beat` keeps being called (see the module doc)."""

    def __init__(self, stale_after: float, *, interval: float | None = None,
                 clock: Callable[[], float] = time.monotonic, send: Callable[..., bool] = notify) -> None:
        self.interval = interval if interval is not None else watchdog_interval()
        self.stale_after = stale_after
        self.clock = clock
        self.send = send
        self._last = clock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> None:
        self._last = self.clock()

    def fresh(self) -> bool:
        return self.clock() - self._last <= self.stale_after

    def ping_once(self) -> bool:
        """One watchdog ping if the watched loop is fresh; True when sent."""
        if not self.fresh():
            log.error("service loop stalled: watchdog pings stop", extra={"stalled_s": round(self.clock() - self._last)})
            return False
        return self.send("WATCHDOG=1")

    def start(self) -> "ServiceWatchdog":
        if self.interval is not None and self._thread is None:
            period = self.interval / 2
            self._thread = threading.Thread(target=self._run, args=(period,), name="watchdog", daemon=True)
            self._thread.start()
        return self

    def _run(self, period: float) -> None:
        while not self._stop.wait(period):
            self.ping_once()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
