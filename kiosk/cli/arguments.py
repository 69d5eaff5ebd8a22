"""Command-line values checked for range where they are parsed.

Numbers that end up in SQLite integers or in a socket are bounded here, so ``stock add 10**30``
or ``central --port 70000`` never reach the code below as an overflow; a bad value is one line in
the station's language (the parser, :mod:`kiosk.cli.parser`, prints it and exits 2). Every number
goes through these types rather than ``int``/``float``, whose refusal argparse words itself.
"""

from __future__ import annotations

import argparse
from typing import Callable

from kiosk.i18n import translate

#: SQLite stores integers in 8 bytes; counts of cards and ribbon prints stay far below this
MAX_COUNT = 1_000_000


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
#: a seed for Python's random generators: any 64-bit number
seed = bounded_int(-(2**63), 2**63 - 1)
#: ISO/ANSI finger positions 1 (right thumb) .. 10 (left little)
finger_position = bounded_int(1, 10)
#: scan resolution in pixels per inch (fingerprint images are 500 or 1000)
ppi = bounded_int(1, 10_000)


def add_json(parser: argparse.ArgumentParser) -> None:
    """The ``--json`` option every command that reports something has."""
    parser.add_argument("--json", action="store_true")
