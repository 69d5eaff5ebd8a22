"""``kiosk`` with no subcommand: the operator terminal UI."""

from __future__ import annotations

import argparse
from pathlib import Path

from kiosk.cli.context import config_from


def run_ui(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    from kiosk.diagnostics.control import ControlServer, StationDiagnostics
    from kiosk.instance import StationLock

    # one kiosk per station: refuse (naming the running one) before any device or mock is touched
    with StationLock.acquire(cfg.station.data_dir, mode="kiosk") as lock:
        from kiosk.ops.sdnotify import ServiceWatchdog, notify
        from kiosk.tui import app as app_module
        from kiosk.tui.app import KioskApp  # Textual is imported only here, never below the UI
        from kiosk.tui.pictures import prepare_terminal

        class ServicedApp(KioskApp):
            """The app as a systemd ``Type=notify`` service: ready once mounted, and the watchdog fed
            from the event loop itself, so a frozen UI stops the pings and systemd restarts it."""

            # Textual resolves CSS paths against the module that defines the class: keep the app's
            CSS_PATH = [str(Path(app_module.__file__).parent / css) for css in KioskApp.CSS_PATH]

            def on_mount(self) -> None:
                super().on_mount()
                watchdog = ServiceWatchdog(stale_after=0)
                if watchdog.interval is not None:
                    self.set_interval(watchdog.interval / 2, lambda: watchdog.send("WATCHDOG=1"))
                notify("READY=1", f"STATUS=operator UI of {cfg.station.id}")

        prepare_terminal()
        from kiosk.tui.warmup import prepare_ui_process

        prepare_ui_process()  # screens imported, NIK tables read, long-lived heap frozen: not in key handlers
        app = ServicedApp(cfg)
        # kiosk devices / kiosk diag ask the devices this UI holds, over the control socket
        with ControlServer(lock, StationDiagnostics(cfg, lambda: app.devices, lambda: app.store)):
            app.run()
        notify("STOPPING=1")
    return 0
