"""The command line as a whole (issue 15): help text on every subcommand and option, errors as
JSON for --json commands, --json on action commands, quiet exit when the reader goes away, and
range-checked numbers as one plain line."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.cli import build_parser
from tests.conftest import BASE_CONFIG, ROOT, run_kiosk


def walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...],
                                                                                        argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from walk(child, (*path, name))


def subcommand_helps(parser: argparse.ArgumentParser) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                out[choice.dest] = choice.help
            for name in action.choices:
                out.setdefault(name, None)
    return out


def test_every_subcommand_and_option_has_help_text() -> None:
    missing = []
    for path, parser in walk(build_parser()):
        for name, text in subcommand_helps(parser).items():
            # a catalog key without words reads as its own code (cli_help.kiosk...): missing too
            if not text or text.startswith("cli_help."):
                missing.append(" ".join((*path, name)))
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            if not action.help or action.help == argparse.SUPPRESS or action.help.startswith("cli_help."):
                missing.append(" ".join((*path, action.option_strings[0] if action.option_strings else action.dest)))
    assert missing == []


#: commands that change something and report it: they take --json
ACTION_COMMANDS = [("stock", "add"), ("stock", "ribbon"), ("stock", "spoil"), ("users", "add"),
                   ("queue", "delete-request"), ("queue", "retry")]


@pytest.mark.parametrize("path", ACTION_COMMANDS, ids=" ".join)
def test_action_commands_take_json(path: tuple[str, ...]) -> None:
    parsers = dict(walk(build_parser()))
    assert "--json" in parsers[path]._option_string_actions


def json_commands() -> list[tuple[str, ...]]:
    return [path for path, parser in walk(build_parser()) if path and "--json" in parser._option_string_actions]


@pytest.fixture(scope="module")
def broken_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bad") / "config.toml"
    path.write_text(BASE_CONFIG + "\n[retention]\ndays = -5\n")
    return path


def _args_for(path: tuple[str, ...]) -> list[str]:
    """Positional arguments that satisfy the parser, so the command reaches its config."""
    extra = {("nik",): ["x"], ("records", "show"): ["r1"], ("stock", "add"): ["1"], ("stock", "ribbon"): ["1"],
             ("stock", "spoil"): ["--reason", "bent"], ("queue", "delete-request"): ["r1"], ("queue", "retry"): ["r1"],
             ("simulate", "enroll"): ["--count", "1"], ("export",): ["--to", "/tmp/nowhere"],
             ("central", "import"): ["/tmp/nowhere"], ("users", "add"): ["anna", "--role", "operator"],
             ("print",): ["--approved"], ("quality", "face"): ["x.png"], ("quality", "finger"): ["x.png"],
             ("quality", "compare"): ["a.png", "b.png"],
             ("local-match", "decide"): ["r1", "different_people", "--supervisor", "sup1"]}
    return [*path, *extra.get(path, [])]


def test_every_json_command_prints_its_error_as_json(broken_config: Path) -> None:
    commands = json_commands()
    assert ("queue",) in commands and ("records", "list") in commands
    for path in commands:
        if path in (("nik",),):  # needs no config; its refusal is a JSON document already
            continue
        proc = run_kiosk("--config", str(broken_config), "--lang", "en", *_args_for(path), "--json")
        assert proc.returncode == 2, (path, proc.stdout, proc.stderr)
        doc = json.loads(proc.stdout)
        assert doc["error"]["message"] and proc.stderr == "", path
        if path != ("central", "import"):  # the central's import needs no station config
            assert doc["error"]["code"] == "config.range.min", path
            assert "retention.days" in doc["error"]["message"]


def test_a_bad_number_with_json_is_a_json_error() -> None:
    proc = run_kiosk("--lang", "en", "stock", "add", "1" + "0" * 30, "--json")
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["error"]["code"] == "cli.bad_argument"


@pytest.mark.parametrize("argv", [
    ["stock", "add", str(10**30)],
    ["stock", "ribbon", str(10**30)],
    ["stock", "add", "-5"],
    ["central", "--port", "70000"],
    ["central", "--fault-rate", "5"],
    ["central", "--decision-delay", "-1"],
    ["simulate", "enroll", "--count", "-3"],
], ids=lambda a: " ".join(a)[:40])
def test_out_of_range_numbers_are_one_plain_line(argv: list[str], config_file: Path) -> None:
    proc = run_kiosk("--config", str(config_file), "--lang", "en", *argv)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "out of range" in lines[0] and "usage" not in lines[0], proc.stderr


def test_reader_going_away_ends_the_command_quietly(config_file: Path) -> None:
    # the real shell case: `kiosk records list --json | head -c 1` with many lines to write
    code = ("import sys; sys.argv = ['kiosk', '--config', sys.argv[1], 'records', 'list', '--json']\n"
            "import kiosk.cli.records as r\n"
            "r.cmd_list = lambda args: (print('[' + ','.join(['1'] * 200000) + ']'), 0)[1]\n"
            "from kiosk.cli import main; raise SystemExit(main())\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(config_file)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(1)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Broken" not in err and "Unexpected" not in err and "Traceback" not in err, err
    assert proc.returncode == 141


def test_opencv_keeps_its_own_warnings_off_stderr(tmp_path: Path, config_file: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDRgarbage")
    proc = run_kiosk("--config", str(config_file), "--lang", "en", "quality", "finger", str(bad))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "grfmt" not in proc.stderr and "[ERROR" not in proc.stderr
