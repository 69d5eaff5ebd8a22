"""Command-line values checked for range where they are parsed, and the parser's one-line errors.

argparse prints a usage block and an English line for a bad option; the station's operator gets
one line in the station's language instead (exit 2), as JSON when the command was asked for
``--json``. Numbers that end up in SQLite integers or in a socket are bounded here, so
``stock add 10**30`` or ``central --port 70000`` never reach the code below as an overflow.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Callable, NoReturn

from kiosk.i18n import translate

JSON_HELP = "print the result (or the error) as JSON on stdout"
#: SQLite stores integers in 8 bytes; counts of cards and ribbon prints stay far below this
MAX_COUNT = 1_000_000


class KioskArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose error is one translated line (JSON with --json), exit 2."""

    def error(self, message: str) -> NoReturn:
        line = translate("cli.bad_argument", command=self.prog, reason=message)
        if "--json" in sys.argv[1:]:
            json.dump({"error": {"code": "cli.bad_argument", "message": line}}, sys.stdout, ensure_ascii=False)
            sys.stdout.write("\n")
        else:
            print(line, file=sys.stderr)
        raise SystemExit(2)


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    """An argparse ``type``: a whole number from ``low`` to ``high``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(translate("cli.not_a_number", value=text)) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(translate("cli.out_of_range", value=text, low=low, high=high))
        return value

    parse.__name__ = "integer"
    return parse


def bounded_float(low: float, high: float) -> Callable[[str], float]:
    """An argparse ``type``: a number from ``low`` to ``high`` (no NaN)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(translate("cli.not_a_number", value=text)) from None
        if not low <= value <= high:  # also refuses nan
            raise argparse.ArgumentTypeError(translate("cli.out_of_range", value=text, low=low, high=high))
        return value

    parse.__name__ = "number"
    return parse


port = bounded_int(0, 65535)
count = bounded_int(0, MAX_COUNT)
positive_count = bounded_int(1, MAX_COUNT)
share = bounded_float(0.0, 1.0)
seconds = bounded_float(0.0, 86400.0)


def add_json(parser: argparse.ArgumentParser) -> None:
    """The ``--json`` option every command that reports something has."""
    parser.add_argument("--json", action="store_true", help=JSON_HELP)
