"""``kiosk`` with no subcommand: the operator terminal UI."""

from __future__ import annotations

import argparse

from kiosk.cli.context import config_from


def run_ui(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    from kiosk.tui.app import KioskApp  # Textual is imported only here, never below the UI
    from kiosk.tui.pictures import prepare_terminal

    from kiosk.ops.sdnotify import ServiceWatchdog, notify

    class ServicedApp(KioskApp):
        """The app as a systemd ``Type=notify`` service: ready once mounted, and the watchdog fed
        from the event loop itself, so a frozen UI stops the pings and systemd restarts it."""

        def on_mount(self) -> None:
            super().on_mount()
            watchdog = ServiceWatchdog(stale_after=0)
            if watchdog.interval is not None:
                self.set_interval(watchdog.interval / 2, lambda: watchdog.send("WATCHDOG=1"))
            notify("READY=1", f"STATUS=operator UI of {cfg.station.id}")

    prepare_terminal()
    ServicedApp(cfg).run()
    notify("STOPPING=1")
    return 0
