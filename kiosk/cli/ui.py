"""``kiosk`` with no subcommand: the operator terminal UI."""

from __future__ import annotations

import argparse

from kiosk.cli.context import config_from


def run_ui(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    from kiosk.tui.app import KioskApp  # Textual is imported only here, never below the UI
    from kiosk.tui.pictures import prepare_terminal

    prepare_terminal()
    KioskApp(cfg).run()
    return 0
