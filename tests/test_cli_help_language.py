"""The technician's command line speaks the chosen language: every ``--help`` and every usage error.

Words come from kiosk/i18n/{id,en}/cli_help.toml (help texts, metavars, argparse's own sentences);
the language is ``--lang``, else the config's ``[station] language``, else Bahasa Indonesia.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.cli import build_parser, main
from kiosk.cli import argparse_words
from kiosk.cli.language import command_line_language, option_value
from kiosk.cli.parser import KioskArgumentParser, command_code, help_code, metavar_code
from kiosk.i18n import catalog, current_language, set_language
from tests.conftest import BASE_CONFIG, run_kiosk

#: argparse's English words as Python 3.11 prints them (its message ids, placeholders cut off)
ARGPARSE_ENGLISH = ["usage:", "positional arguments", "options:", "show this help message and exit",
                    "show program's version number and exit", "invalid choice", "choose from",
                    "unrecognized arguments", "the following arguments are required", "expected one argument",
                    "argument ", "error:"]


@pytest.fixture(autouse=True)
def keep_language() -> Iterator[None]:
    before = current_language()
    yield
    set_language(before)


def walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...],
                                                                                        argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from walk(child, (*path, name))


def command_paths() -> list[tuple[str, ...]]:
    return [path for path, _ in walk(build_parser())]


def squeezed(text: str) -> str:
    """Text without any whitespace: argparse wraps help lines (also at hyphens) and indents them."""
    return re.sub(r"\s+", "", text)


def only_in(lang: str, other: str) -> list[str]:
    """The CLI help texts of one catalog that the other language writes differently (metavar words
    and argparse's sentences are looked for by :func:`english_found` in their own way)."""
    mine, theirs = catalog(lang), catalog(other)
    return [text for code, text in mine.items() if code.startswith(("cli_help.kiosk.", "cli_help.common."))
            and text != theirs[code]]


def help_output(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as done:
        main(list(argv))
    out, err = capsys.readouterr()
    assert done.value.code == 0 and err == "", (argv, err)
    return out


def english_found(text: str) -> list[str]:
    """English CLI words in ``text``: help texts, metavar words, argparse's own sentences."""
    flat = squeezed(text)
    found = [t for t in only_in("en", "id") if len(squeezed(t)) > 3 and squeezed(t) in flat]
    found += [w for w in ARGPARSE_ENGLISH if w in text]
    en, ident = catalog("en"), catalog("id")
    found += [en[c] for c in en if c.startswith("cli_help.metavar.") and en[c] != ident[c]
              and re.search(rf"(?<![\w=\[:]){re.escape(en[c])}(?![\w\]])", text)]
    return found


def catalog_helps(path: tuple[str, ...], lang: str) -> list[str]:
    """The help texts the catalog of ``lang`` has for the arguments of one command."""
    set_language(lang)
    parser = dict(walk(build_parser()))[path]
    return [catalog(lang)[help_code(path, a)] for a in parser._actions
            if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))]


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "kiosk")
def test_every_help_in_indonesian_has_no_english_words(path: tuple[str, ...],
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = help_output(capsys, "--lang", "id", *path, "--help")
    assert english_found(out) == []
    assert all(squeezed(text) in squeezed(out) for text in catalog_helps(path, "id")), out
    assert out.startswith(catalog("id")["cli_help.argparse.usage"])
    words = catalog("id")
    description = words.get(f"{command_code(path)}.details") or words[f"{command_code(path)}.about"]
    assert squeezed(description) in squeezed(out)


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "kiosk")
def test_every_help_in_english_shows_the_english_catalog(path: tuple[str, ...],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = help_output(capsys, "--lang", "en", *path, "--help")
    flat = squeezed(out)
    assert all(squeezed(text) in flat for text in catalog_helps(path, "en")), out
    assert [t for t in only_in("id", "en") if len(squeezed(t)) > 3 and squeezed(t) in flat] == []
    assert out.startswith("usage: ") and "options:" in out


def test_every_argument_and_command_has_words_in_both_catalogs() -> None:
    """The rule of kiosk/cli/parser.py finds a key in each language for every help text and metavar."""
    missing = []
    for lang in ("id", "en"):
        set_language(lang)
        words = catalog(lang)
        for path, parser in walk(build_parser()):
            if f"{command_code(path)}.about" not in words:
                missing.append((lang, command_code(path)))
            for action in parser._actions:
                if isinstance(action, argparse._HelpAction):
                    continue
                if isinstance(action, argparse._SubParsersAction):
                    continue
                if help_code(path, action) not in words:
                    missing.append((lang, help_code(path, action)))
                if action.nargs != 0 and action.choices is None and action.metavar not in words.values():
                    missing.append((lang, f"metavar {action.metavar} of {path} {action.dest}"))
    assert missing == []


#: technical tokens both languages write alike (the rest of the Indonesian words must differ)
SAME_IN_BOTH = {"ID", "NIK", "PEM", "PORT", "PPI", "SERVER", "FOLDER", "SUPERVISOR"}


def test_no_indonesian_cli_word_is_left_in_english() -> None:
    en, ident = catalog("en"), catalog("id")
    alike = sorted(code for code in en if code.startswith("cli_help.") and en[code] == ident[code]
                   and en[code] not in SAME_IN_BOTH)
    assert alike == []


def test_a_literal_help_string_is_refused() -> None:
    parser = KioskArgumentParser(prog="kiosk")
    with pytest.raises(TypeError, match=r"cli_help\.kiosk\.--fresh"):
        parser.add_argument("--fresh", help="an English text that would slip into the Indonesian help")
    sub = parser.add_subparsers(dest="command")
    with pytest.raises(TypeError, match=r"cli_help\.kiosk\.fresh\.about"):
        sub.add_parser("fresh", help="an English line in the command list")


#: (what goes wrong, arguments, catalog code of argparse's sentence, the English words of it)
USAGE_ERRORS = [
    ("unknown command", ["status"], "invalid_choice", "invalid choice: 'status' (choose from"),
    ("unrecognized argument", ["records", "list", "status"], "unrecognized", "unrecognized arguments: status"),
    ("missing required argument", ["stock", "add"], "required", "the following arguments are required: COUNT"),
    ("missing sub-command", ["records"], "required", "the following arguments are required: ACTION"),
    ("invalid choice", ["users", "add", "anna", "--role", "boss"], "invalid_choice",
     "argument --role: invalid choice: 'boss'"),
    ("option without its value", ["records", "list", "--state"], "expected_one", "expected one argument"),
]


@pytest.mark.parametrize(("argv", "code", "english"), [u[1:] for u in USAGE_ERRORS], ids=[u[0] for u in USAGE_ERRORS])
def test_a_usage_error_is_one_line_in_the_chosen_language(argv: list[str], code: str, english: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    lines = {}
    for lang in ("id", "en"):
        with pytest.raises(SystemExit) as done:
            main(["--lang", lang, *argv])
        out, err = capsys.readouterr()
        assert done.value.code == 2 and out == ""
        assert err.endswith("\n") and err.count("\n") == 1, err
        lines[lang] = err.strip()
    indonesian = catalog("id")[f"cli_help.argparse.{code}"].split("%")[0].strip()
    assert indonesian in lines["id"] and english_found(lines["id"]) == [], lines["id"]
    assert english in lines["en"], lines["en"]


def test_the_real_command_refuses_an_unknown_command_in_indonesian_by_default(tmp_path: Path) -> None:
    # no --lang, no readable config: Bahasa Indonesia, one line, exit 2
    proc = run_kiosk("--config", str(tmp_path / "absent.toml"), "status")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "pilihan tidak sah: 'status'" in proc.stderr, proc.stderr


def _config(tmp_path: Path, language: str) -> Path:
    path = tmp_path / f"config-{language}.toml"
    path.write_text(BASE_CONFIG.replace('language = "en"', f'language = "{language}"'))
    return path


def test_without_lang_the_config_language_words_help_and_errors(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    for language, usage, unknown in (("id", "penggunaan: ", "argumen tidak dikenal"),
                                     ("en", "usage: ", "unrecognized arguments")):
        config = _config(tmp_path, language)
        assert help_output(capsys, "--config", str(config), "queue", "--help").startswith(usage)
        assert help_output(capsys, f"--config={config}", "--help").startswith(usage)
        with pytest.raises(SystemExit):
            main(["--config", str(config), "queue", "--bogus"])
        assert unknown in capsys.readouterr().err


def test_lang_wins_over_the_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = help_output(capsys, "--config", str(_config(tmp_path, "en")), "--lang", "id", "sync", "--help")
    assert out.startswith("penggunaan: ") and english_found(out) == []
    out = help_output(capsys, "--config", str(_config(tmp_path, "id")), "--lang=en", "sync", "--help")
    assert out.startswith("usage: ")


@pytest.mark.parametrize("content", [None, "[station\nlanguage = 'en'", "[station]\nlanguage = 'fr'\n",
                                     "station = 'en'\n", b"\xff\xfe[station]"],
                         ids=["absent", "not TOML", "unknown language", "no station table", "not UTF-8"])
def test_an_unreadable_config_leaves_help_in_indonesian(content: str | bytes | None, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.toml"
    if isinstance(content, bytes):
        config.write_bytes(content)
    elif content is not None:
        config.write_text(content)
    assert command_line_language(["--config", str(config)]) == "id"
    out = help_output(capsys, "--config", str(config), "records", "--help")
    assert out.startswith("penggunaan: ") and english_found(out) == []


VALUES = st.sampled_from(["id", "en", "x", "records", "list", "fr", "", "a=b"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from([["--json"], ["records"], ["list"], ["en"]]),
                          VALUES.map(lambda w: ["--lang", w]), VALUES.map(lambda w: [f"--lang={w}"])), max_size=8))
def test_the_first_pass_reads_lang_as_argparse_does(chunks: list[list[str]]) -> None:
    argv = [token for chunk in chunks for token in chunk]
    reference = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    reference.add_argument("--lang")
    reference.add_argument("--json", action="store_true")
    known, _ = reference.parse_known_args(argv)
    assert option_value(argv, "--lang") == known.lang


def test_argparse_placeholders_agree_between_languages() -> None:
    placeholder = re.compile(r"%(?:\(\w+\))?[sr]")
    en, ident = catalog("en"), catalog("id")
    for code in en:
        if code.startswith("cli_help.argparse."):
            assert sorted(placeholder.findall(en[code])) == sorted(placeholder.findall(ident[code])), code
    assert set(argparse_words.MESSAGES.values()) <= set(en)


def test_plural_sentences_come_from_the_catalog() -> None:
    reference = argparse.ArgumentParser(prog="x", exit_on_error=False)
    reference.add_argument("--pair", nargs=2)
    for lang, words in (("id", "perlu 2 nilai"), ("en", "expected 2 arguments")):
        set_language(lang)
        with pytest.raises(argparse.ArgumentError, match=words):
            reference.parse_args(["--pair", "a"])
    set_language("en")
    assert argparse_words.ngettext("expected %s argument", "expected %s arguments", 1) == "expected %s argument"


def test_metavar_words_follow_the_language() -> None:
    for lang, word in (("id", "REKAMAN"), ("en", "RECORD")):
        set_language(lang)
        usage = dict(walk(build_parser()))[("queue", "retry")].format_usage()
        assert usage.rstrip().endswith(word) and catalog(lang)[metavar_code("RECORD")] == word
