"""The ``kiosk`` argument parser: every help text, description and metavar word from the catalogs.

Command modules declare only names, types and defaults; the words come from
``kiosk/i18n/<lang>/cli_help.toml``, looked up here by one rule, so an option cannot be added
with an English string that the Indonesian help would then show:

* a command's line in its parent's list and its description: ``cli_help.kiosk.<path>.about``
  (``.details`` instead, when present, as the description of its own ``--help``);
* an option: ``cli_help.kiosk.<path>."--long-name"``; a positional: ``cli_help.kiosk.<path>.<dest>``;
  either falls back to ``cli_help.common.<name>`` (``--json`` means the same everywhere);
* a metavar: ``cli_help.metavar.<WORD>``, WORD being the metavar the module gave, else the
  upper-cased dest.

A ``help=`` string passed by a command module is refused (TypeError naming the key to add), so a
forgotten translation shows up the first time the parser is built, in any test of the CLI.

The words are read when the parser is built, so the language is chosen first
(:mod:`kiosk.cli.language`). argparse's own words ("usage:", "options", its error sentences) come
from the same catalogs through :mod:`kiosk.cli.argparse_words`.

A usage error is one line in the station's language on stderr (JSON with ``--json``), exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, NoReturn

from kiosk.cli import argparse_words
from kiosk.i18n import catalog, current_language, translate

#: the command line's root in the catalog: ``cli_help.kiosk.records.list."--state"``
ROOT_CODE = "cli_help.kiosk"
COMMON_CODE = "cli_help.common"
METAVAR_CODE = "cli_help.metavar"

argparse_words.install()


def _known(code: str) -> bool:
    return code in catalog(current_language()) or code in catalog("en")


def command_code(command: tuple[str, ...]) -> str:
    """Catalog prefix of one command: ``("queue", "retry")`` -> ``cli_help.kiosk.queue.retry``."""
    return ".".join((ROOT_CODE, *command))


def argument_name(action: argparse.Action) -> str:
    """How the catalog names an argument: its first long option (``--dry-run``), else its dest."""
    longs = [s for s in action.option_strings if s.startswith("--")]
    return (longs or action.option_strings or [action.dest])[0]


def help_code(command: tuple[str, ...], action: argparse.Action) -> str:
    """The catalog code of an argument's help: the command's own key, else the common one."""
    name = argument_name(action)
    own = f"{command_code(command)}.{name}"
    common = f"{COMMON_CODE}.{name}"
    return own if _known(own) or not _known(common) else common


def metavar_code(word: str) -> str:
    return f"{METAVAR_CODE}.{word}"


def _refuse_literal_help(kwargs: dict[str, Any], code: str) -> None:
    text = kwargs.get("help")
    if text not in (None, argparse.SUPPRESS):
        raise TypeError(f"help texts come from the catalogs: add {code} to kiosk/i18n/{{id,en}}/cli_help.toml"
                        f" instead of help={text!r}")


class KioskSubcommands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Sub-commands whose list line and description come from the catalog."""

    command: tuple[str, ...] = ()

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        path = (*self.command, name)
        _refuse_literal_help(kwargs, f"{command_code(path)}.about")  # a description is refused by the parser
        kwargs["help"] = translate(f"{command_code(path)}.about")
        kwargs["command"] = path
        return super().add_parser(name, **kwargs)  # type: ignore[no-any-return]


class KioskArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser that takes its words from the catalogs and whose error is one line, exit 2."""

    def __init__(self, *args: Any, command: tuple[str, ...] = (), **kwargs: Any) -> None:
        self.command = command
        code = command_code(command)
        _refuse_literal_help({"help": kwargs.get("description")}, f"{code}.details")
        kwargs["description"] = translate(f"{code}.details" if _known(f"{code}.details") else f"{code}.about")
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", KioskSubcommands)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        if kwargs.get("action") == "help":  # argparse's own -h, worded by kiosk.cli.argparse_words
            return super().add_argument(*args, **kwargs)
        action = super().add_argument(*args, **{**kwargs, "help": argparse.SUPPRESS})
        _refuse_literal_help(kwargs, f"{command_code(self.command)}.{argument_name(action)}")
        action.help = kwargs.get("help") or translate(help_code(self.command, action))
        if action.nargs != 0 and action.choices is None:  # choices show as {a,b}: tokens, not words
            action.metavar = translate(metavar_code(action.metavar or action.dest.upper()))
        return action

    def add_subparsers(self, **kwargs: Any) -> KioskSubcommands:
        if kwargs.get("metavar"):
            kwargs["metavar"] = translate(metavar_code(kwargs["metavar"]))
        action = super().add_subparsers(**kwargs)
        assert isinstance(action, KioskSubcommands)
        action.command = self.command
        return action

    def error(self, message: str) -> NoReturn:
        line = translate("cli.bad_argument", command=self.prog, reason=message)
        if "--json" in sys.argv[1:]:
            json.dump({"error": {"code": "cli.bad_argument", "message": line}}, sys.stdout, ensure_ascii=False)
            sys.stdout.write("\n")
        else:
            print(line, file=sys.stderr)
        raise SystemExit(2)
