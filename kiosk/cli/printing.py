"""``kiosk print RECORD | --approved`` and ``kiosk stock [add N | spoil --reason R | ribbon N]``."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from kiosk.cli.arguments import count
from kiosk.cli.context import config_from, print_json, store_from
from kiosk.config import Config
from kiosk.devices.errors import DeviceError
from kiosk.errors import KioskError
from kiosk.i18n import describe, translate
from kiosk.store.states import RecordState


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("print")
    p.add_argument("record", nargs="?")
    p.add_argument("--approved", action="store_true")
    p.add_argument("--tray", choices=("good", "bad"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_print)

    p = sub.add_parser("stock")
    ssub = p.add_subparsers(dest="stock_command", metavar="ACTION")
    ap = ssub.add_parser("add")
    ap.add_argument("count", type=count)
    ap.add_argument("--json", action="store_true")
    ap.set_defaults(func=cmd_stock_add)
    rp = ssub.add_parser("ribbon")
    rp.add_argument("count", type=count)
    rp.add_argument("--json", action="store_true")
    rp.set_defaults(func=cmd_stock_ribbon)
    sp = ssub.add_parser("spoil")
    sp.add_argument("--reason", required=True)
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--record")
    sp.set_defaults(func=cmd_stock_spoil)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_stock)


def actor() -> str:
    return os.environ.get("KIOSK_OPERATOR") or os.environ.get("USER") or "cli"


def _stage(stage: str) -> str:
    text = translate(f"print.stage.{stage}")
    return stage if text == f"print.stage.{stage}" else text


YES = ("y", "ya", "yes")
NO = ("t", "tidak", "n", "no")


def ask_tray(question: str) -> bool | None:
    """The operator's answer on the terminal: True good card, False bad/absent, None no answer."""
    for _ in range(3):
        try:
            answer = input(question + " ").strip().lower()
        except EOFError:
            return None
        if answer in YES:
            return True
        if answer in NO:
            return False
        print(translate("print.tray_answer_invalid"), file=sys.stderr)
    return None


def _tray_checks(desk: Any, *, interactive: bool) -> list[dict[str, Any]]:
    """Interrupted prints whose card may be in the tray: ask on a terminal, else say what to do."""
    out: list[dict[str, Any]] = []
    for check, who in desk.tray_checks():
        good = ask_tray(translate("print.tray_question", **who.words())) if interactive else None
        if good is None:  # no terminal (or no answer): it stays pending, and the line says how to answer
            print(translate("print.tray_pending", **who.words()), file=sys.stderr)
            out.append({"record_id": check.record_id, "name": who.name, "nik": who.nik, "tray_check": "pending"})
            continue
        outcome = desk.resolve_tray(check.record_id, good=good, actor=actor())
        print(translate("print.tray_good_booked" if good else "print.tray_bad_booked", **who.words()),
              file=sys.stderr)
        out.append({"record_id": check.record_id, "name": who.name, "nik": who.nik, "tray_check": outcome})
    return out


def cmd_print(args: argparse.Namespace) -> int:
    from kiosk.errors import InputError
    from kiosk.station import Station

    if not args.record and not args.approved:
        raise InputError("print.which")
    if args.tray and (args.approved or not args.record):
        raise InputError("print.tray_not_asked")
    cfg = config_from(args)
    results: list[dict[str, Any]] = []
    with Station(cfg) as station:
        store, desk = station.store, station.print_desk()
        printer = station.open_printer(actor=actor())  # resolves prints a crash interrupted
        for record_id, outcome in station.recovered:
            if outcome == "permit_reusable" and not args.json:
                print(translate("print.recovered_reusable_named", **desk.resident(record_id).words()), file=sys.stderr)
        if args.tray:
            rid = store.find(args.record).id
            outcome = desk.resolve_tray(rid, good=args.tray == "good", actor=actor())
            who = desk.resident(rid)
            if args.json:
                print_json({"record_id": rid, "tray_check": outcome})
            else:
                print(translate("print.tray_good_booked" if args.tray == "good" else "print.tray_bad_booked",
                                **who.words()))
            return 0
        trays = _tray_checks(desk, interactive=not args.json and sys.stdin.isatty())
        ids = [store.find(args.record).id] if args.record else [r.id for r in store.list(RecordState.APPROVED)]
        if not ids and not args.json:  # --json: stdout is the JSON document alone
            print(translate("print.none_approved"))
        from kiosk.cli.progress import CommandProgress

        with CommandProgress(translate("progress.print"), len(ids) if len(ids) > 1 else 0) as bar:
            for rid in ids:
                results.append(_print_one(station, rid, quiet=args.json))
                bar.advance()
        levels = station.stock().levels(printer)
    if args.json:
        print_json({"results": [{k: v for k, v in r.items() if k != "error"} for r in results],
                    "tray_checks": trays, "stock": levels.as_dict()})
    else:
        for code, params in levels.warnings:
            print(translate(code, **params), file=sys.stderr)
        if len(ids) > 1:
            ok = sum(1 for r in results if r["printed"])
            print(translate("print.batch_done", printed=ok, failed=len(results) - ok))
    failed = [r for r in results if not r["printed"]]
    if args.record and failed:  # one record: its refusal or fault is the command's error line
        raise failed[0]["error"]
    return 1 if failed else 0


def _print_one(station: Any, rid: str, *, quiet: bool) -> dict[str, Any]:
    who = station.print_desk().resident(rid)

    def progress(done: int, total: int, stage: str) -> None:
        if not quiet:
            print(translate("print.progress", done=done, total=total, stage=_stage(stage)), file=sys.stderr, flush=True)

    if not quiet:
        print(translate("print.printing", name=who.name, nik=who.nik), file=sys.stderr)
    try:
        outcome = station.print(rid, actor=actor(), progress=progress)
    except (KioskError, DeviceError) as exc:
        if not quiet:
            print(translate("print.not_printed", name=who.name, nik=who.nik, reason=describe(exc)), file=sys.stderr)
        return {"record_id": rid, "name": who.name, "printed": False, "code": exc.code, "message": describe(exc),
                "error": exc}
    if not quiet:
        print(translate("print.printed", name=who.name, nik=who.nik, job=outcome.job))
    return {"record_id": rid, "name": who.name, "printed": True, "job": outcome.job, "permit_id": outcome.permit_id}


def _stock(args: argparse.Namespace) -> tuple[Config, Any]:
    from kiosk.printer.stock import Stock

    cfg = config_from(args)
    return cfg, Stock(store_from(cfg), cfg.stock)


def cmd_stock(args: argparse.Namespace) -> int:
    cfg, stock = _stock(args)
    levels = stock.levels(None)  # the book and the printer's last report: the figures the UI shows
    if args.json:
        print_json(levels.as_dict())
        return 0
    for code, params in levels.lines():
        print(translate(code, **params))
    return 0


def cmd_stock_add(args: argparse.Namespace) -> int:
    _, stock = _stock(args)
    stock.add_cards(args.count, actor=actor())
    return _stock_done(args, stock, translate("stock.added", count=args.count))


def cmd_stock_ribbon(args: argparse.Namespace) -> int:
    _, stock = _stock(args)
    stock.load_ribbon(args.count, actor=actor())
    return _stock_done(args, stock, translate("stock.ribbon_loaded", count=args.count))


def cmd_stock_spoil(args: argparse.Namespace) -> int:
    _, stock = _stock(args)
    record = stock.store.find(args.record).id if args.record else None
    stock.spoil(args.reason, actor=actor(), record_id=record)
    return _stock_done(args, stock, translate("stock.spoiled", reason=args.reason))


def _stock_done(args: argparse.Namespace, stock: Any, line: str) -> int:
    """An action's outcome: the line, or with --json the stock levels after it."""
    if args.json:
        print_json({"done": line, "stock": stock.levels(None).as_dict()})
    else:
        print(line)
    return 0
