"""The language of ``kiosk``'s help and usage errors, chosen before the parser is built.

The parser's words are read when it is built, and ``--help`` or a usage error happens while the
command line is parsed, before any command loads the config. So the choice is made first, from
the raw command line: ``--lang``, else the ``[station] language`` of the config file (``--config``,
else the usual place: :func:`kiosk.config.default_config_path`) when it can be read, else Bahasa
Indonesia. Only that one key is read here; the config is checked in full later by the command
(:func:`kiosk.cli.context.config_from`), which keeps this language when ``--lang`` was given.
"""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path
from typing import Sequence

from kiosk.config import default_config_path
from kiosk.i18n import DEFAULT_LANGUAGE, LANGUAGES

log = logging.getLogger(__name__)


def option_value(argv: Sequence[str], option: str) -> str | None:
    """The value given to ``option`` (``--x v`` or ``--x=v``) before any ``--``; the last one wins,
    as with argparse."""
    found = None
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg.startswith(option + "="):
            found = arg.partition("=")[2]
        elif arg == option and i + 1 < len(argv):
            found = argv[i + 1]
    return found


def config_language(path: str | None) -> str | None:
    """``[station] language`` of the config file, or None when it cannot be read or names no
    language we have (the command reports a broken config itself)."""
    try:
        raw = tomllib.loads(Path(path or default_config_path()).read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError, RuntimeError) as exc:
        log.debug("no language from the config: %s", exc)
        return None
    station = raw.get("station")
    language = station.get("language") if isinstance(station, dict) else None
    return language if language in LANGUAGES else None


def command_line_language(argv: Sequence[str]) -> str:
    """``--lang``, else the config's language, else the default (Bahasa Indonesia)."""
    chosen = option_value(argv, "--lang")
    if chosen is not None and chosen in LANGUAGES:
        return chosen
    return config_language(option_value(argv, "--config")) or DEFAULT_LANGUAGE
