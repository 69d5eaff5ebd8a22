"""The ``kiosk`` command. Each subcommand lives in its own module with a ``register`` function.

Errors reach the terminal as one plain line on stderr in the station's language: exit code 2
for bad input, 1 for failures. Never a traceback (details go to the log). A command run with
``--json`` gets its error as JSON on stdout too (``{"error": {"code", "params", "message"}}``), and
a reader that stops early (``kiosk queue --json | head``) ends the command quietly.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from typing import Any, Sequence

from kiosk import __version__
from kiosk.cli.language import command_line_language
from kiosk.cli.parser import KioskArgumentParser
from kiosk.errors import KioskError
from kiosk.i18n import describe, set_language
from kiosk.ops.logs import configure_console
from kiosk.ops.malloc import tune_malloc

# OpenCV's C++ logger writes "[ WARN:0@..." lines straight to stderr (a corrupt PNG, a missing
# camera); the operator gets our one line instead, so it stays silent. Read when OpenCV first
# logs, so it must be set before any command module imports cv2.
os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")

#: modules under kiosk.cli that add subcommands, in the order --help lists them
COMMAND_MODULES = ["records", "devices", "quality", "sync", "central", "printing", "users", "ops", "serve", "receipt",
                   "local_match"]

log = logging.getLogger("kiosk")
#: exit status of a command whose reader went away (128 + SIGPIPE, as the shell reports it)
EXIT_PIPE = 141


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, worded in the current language (help texts: kiosk.cli.parser)."""
    parser = KioskArgumentParser(prog="kiosk")
    parser.add_argument("--version", action="version", version=f"kiosk {__version__}")
    parser.add_argument("--config", metavar="PATH")
    parser.add_argument("--lang", choices=("id", "en"))
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"kiosk.cli.{name}").register(sub)
    return parser


def _report(exc: BaseException, as_json: bool) -> None:
    message = describe(exc)
    if as_json:
        params: dict[str, Any] = getattr(exc, "params", {}) if isinstance(exc, KioskError) else {"kind": type(exc).__name__}
        code = exc.code if isinstance(exc, KioskError) else "error.unexpected"
        json.dump({"error": {"code": code, "params": {k: str(v) for k, v in params.items()}, "message": message}},
                  sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(message, file=sys.stderr)


def _reader_gone() -> int:
    """stdout's reader closed the pipe: drop what is left unwritten and end quietly."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_PIPE


def main(argv: Sequence[str] | None = None) -> int:
    # glibc malloc for a day of work, before any thread exists (kiosk.ops.malloc; a no-op elsewhere)
    malloc_settings = tune_malloc()
    argv = list(sys.argv[1:] if argv is None else argv)
    # help and usage errors happen while parsing: their language is chosen before the parser is built
    set_language(command_line_language(argv))
    parser = build_parser()
    args = parser.parse_args(argv)
    # JSON lines on stderr with --verbose; the station's log file is attached by each command
    # once its config (and so the data folder) is known: kiosk.cli.context.config_from
    configure_console(args.verbose)
    log.debug("malloc settings applied", extra={"applied": malloc_settings})
    if args.lang:
        set_language(args.lang)
    as_json = bool(getattr(args, "json", False))
    try:
        if args.command is None:
            from kiosk.cli.ui import run_ui

            return run_ui(args)
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows up here, not at interpreter exit
        return code
    except BrokenPipeError:
        return _reader_gone()
    except KioskError as exc:
        log.debug("command failed", exc_info=True)
        _report(exc, as_json)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last line of defence: one line for the operator, details in the log
        log.exception("unexpected failure")
        _report(exc, as_json)
        return 1
