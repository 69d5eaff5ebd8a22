"""The ``kiosk`` command. Each subcommand lives in its own module with a ``register`` function.

Errors reach the terminal as one plain line on stderr in the station's language: exit code 2
for bad input, 1 for failures. Never a traceback (details go to the log).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence

from kiosk import __version__
from kiosk.errors import KioskError
from kiosk.i18n import describe, set_language
from kiosk.ops.logs import configure_console

#: modules under kiosk.cli that add subcommands, in the order --help lists them
COMMAND_MODULES = ["records", "devices", "quality", "sync", "central", "printing", "users", "ops", "receipt"]

log = logging.getLogger("kiosk")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="Biometric enrollment kiosk (e-KTP).")
    parser.add_argument("--version", action="version", version=f"kiosk {__version__}")
    parser.add_argument("--config", metavar="PATH", help="station config (default: $KIOSK_CONFIG or ./config.toml)")
    parser.add_argument("--lang", choices=("id", "en"), help="language of messages (default: from config)")
    parser.add_argument("-v", "--verbose", action="store_true", help="show the log on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"kiosk.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # JSON lines on stderr with --verbose; the station's log file is attached by each command
    # once its config (and so the data folder) is known: kiosk.cli.context.config_from
    configure_console(args.verbose)
    if args.lang:
        set_language(args.lang)
    try:
        if args.command is None:
            from kiosk.cli.ui import run_ui

            return run_ui(args)
        return int(args.func(args) or 0)
    except KioskError as exc:
        log.debug("command failed", exc_info=True)
        print(describe(exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last line of defence: one line for the operator, details in the log
        log.exception("unexpected failure")
        print(describe(exc), file=sys.stderr)
        return 1
