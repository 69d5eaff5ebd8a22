"""argparse's own words ("usage:", "options", "invalid choice: ...") from the kiosk catalogs.

argparse looks its sentences up through the module-level ``_`` (``gettext``) and ``ngettext``
each time it needs one (``argparse.py`` of CPython 3.11: ``from gettext import gettext as _,
ngettext``). :func:`install` puts a gettext-style lookup there: argparse's message id -> catalog
code (``cli_help.argparse.*``) -> the sentence in the current language. The catalog sentences
keep argparse's ``%`` placeholders, since argparse fills them in after the lookup. A message id
not listed here is returned as argparse wrote it, as gettext does without a translation.

This is process-wide by argparse's design; only the ids below are touched, and in English they
read as argparse's own.
"""

from __future__ import annotations

import argparse

from kiosk.i18n import translate

#: argparse (3.11) message id -> catalog code; the ids a technician can meet at the terminal
MESSAGES: dict[str, str] = {
    "usage: ": "cli_help.argparse.usage",
    "positional arguments": "cli_help.argparse.positionals",
    "options": "cli_help.argparse.options",
    "subcommands": "cli_help.argparse.subcommands",
    "show this help message and exit": "cli_help.argparse.help",
    "argument %(argument_name)s: %(message)s": "cli_help.argparse.argument",
    "unrecognized arguments: %s": "cli_help.argparse.unrecognized",
    "the following arguments are required: %s": "cli_help.argparse.required",
    "one of the arguments %s is required": "cli_help.argparse.one_required",
    "invalid choice: %(value)r (choose from %(choices)s)": "cli_help.argparse.invalid_choice",
    "invalid %(type)s value: %(value)r": "cli_help.argparse.invalid_value",
    "unknown parser %(parser_name)r (choices: %(choices)s)": "cli_help.argparse.unknown_command",
    "expected one argument": "cli_help.argparse.expected_one",
    "expected at most one argument": "cli_help.argparse.expected_at_most_one",
    "expected at least one argument": "cli_help.argparse.expected_at_least_one",
    "not allowed with argument %s": "cli_help.argparse.not_allowed_with",
    "ignored explicit argument %r": "cli_help.argparse.ignored_explicit",
    "ambiguous option: %(option)s could match %(matches)s": "cli_help.argparse.ambiguous",
    "unexpected option string: %s": "cli_help.argparse.unexpected_option",
    "can't open '%(filename)s': %(error)s": "cli_help.argparse.cannot_open",
    "%(prog)s: error: %(message)s\n": "cli_help.argparse.error",
}

#: ngettext's (singular, plural) ids -> catalog prefix; ``.one`` for n == 1, ``.other`` otherwise
#: (Bahasa Indonesia words both alike; the catalog still has both so English keeps its plural)
PLURALS: dict[tuple[str, str], str] = {
    ("expected %s argument", "expected %s arguments"): "cli_help.argparse.expected_count",
}


def gettext(message: str) -> str:
    code = MESSAGES.get(message)
    return message if code is None else translate(code)


def ngettext(singular: str, plural: str, n: int) -> str:
    prefix = PLURALS.get((singular, plural))
    if prefix is None:
        return singular if n == 1 else plural
    return translate(f"{prefix}.{'one' if n == 1 else 'other'}")


def install() -> None:
    """Make argparse ask the catalogs for its words (idempotent)."""
    argparse._ = gettext  # type: ignore[attr-defined]
    argparse.ngettext = ngettext  # type: ignore[attr-defined]
