"""``kiosk serve``: run the station without the terminal UI.

Holds the station (one running kiosk per data folder, :mod:`kiosk.instance`), opens its devices
(starting their mocks on a simulated station) and answers ``kiosk devices`` / ``kiosk diag`` on
the control socket, until SIGTERM or SIGINT. For a station driven without a screen, and for
checking devices the way a running UI holds them.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from kiosk.cli.context import config_from, store_from
from kiosk.i18n import translate

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("serve")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from kiosk.composition import device_set
    from kiosk.diagnostics.control import ControlServer, StationDiagnostics
    from kiosk.instance import StationLock

    cfg = config_from(args)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    with StationLock.acquire(cfg.station.data_dir, mode="kiosk serve") as lock:
        store = store_from(cfg)
        devices = device_set(cfg)
        try:
            for name in devices.names():
                try:
                    drv = devices.get(name)
                    if not drv.is_open:
                        drv.open()
                except Exception as exc:  # a missing device is what diag will report; the station runs
                    log.warning("device %s not opened: %s", name, exc)
            with ControlServer(lock, StationDiagnostics(cfg, lambda: devices, lambda: store)) as control:
                print(translate("serve.ready", pid=lock.holder.pid, control=str(control.path)), flush=True)
                done.wait()
        finally:
            devices.close()
            store.close()
    return 0
