"""``kiosk`` with no subcommand: the operator terminal UI."""

from __future__ import annotations

import argparse

from kiosk.cli.context import config_from


def run_ui(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    from kiosk.diagnostics.control import ControlServer, StationDiagnostics
    from kiosk.instance import StationLock

    # one kiosk per station: refuse (naming the running one) before any device or mock is touched
    with StationLock.acquire(cfg.station.data_dir, mode="kiosk") as lock:
        from kiosk.tui.app import KioskApp  # Textual is imported only here, never below the UI
        from kiosk.tui.pictures import prepare_terminal

        prepare_terminal()
        app = KioskApp(cfg)
        # kiosk devices / kiosk diag ask the devices this UI holds, over the control socket
        with ControlServer(lock, StationDiagnostics(cfg, lambda: app.devices, lambda: app.store)):
            app.run()
    return 0
