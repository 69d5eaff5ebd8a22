"""``kiosk print RECORD | --approved`` and ``kiosk stock [add N | spoil --reason R | ribbon N]``."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from kiosk.cli.arguments import JSON_HELP, count
from kiosk.cli.context import config_from, print_json, store_from
from kiosk.config import Config
from kiosk.devices.errors import DeviceError
from kiosk.devices.protocols import CardPrinter
from kiosk.errors import KioskError
from kiosk.i18n import describe, translate
from kiosk.store import RecordStore
from kiosk.store.states import RecordState


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("print", help="print approved cards (only with the central's permit)")
    p.add_argument("record", nargs="?", help="record id (or a unique prefix)")
    p.add_argument("--approved", action="store_true", help="print every approved record that has a permit")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_print)

    p = sub.add_parser("stock", help="card and ribbon stock")
    ssub = p.add_subparsers(dest="stock_command", metavar="ACTION")
    ap = ssub.add_parser("add", help="blank cards received")
    ap.add_argument("count", type=count, help="how many blank cards were received")
    ap.add_argument("--json", action="store_true", help=JSON_HELP)
    ap.set_defaults(func=cmd_stock_add)
    rp = ssub.add_parser("ribbon", help="a new ribbon was loaded (prints it holds)")
    rp.add_argument("count", type=count, help="how many prints the new ribbon holds")
    rp.add_argument("--json", action="store_true", help=JSON_HELP)
    rp.set_defaults(func=cmd_stock_ribbon)
    sp = ssub.add_parser("spoil", help="a card was spoiled or thrown away")
    sp.add_argument("--reason", required=True, help="what happened to the card")
    sp.add_argument("--json", action="store_true", help=JSON_HELP)
    sp.add_argument("--record", help="the record whose card it was, if any")
    sp.set_defaults(func=cmd_stock_spoil)
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_stock)


def actor() -> str:
    return os.environ.get("KIOSK_OPERATOR") or os.environ.get("USER") or "cli"


def _stage(stage: str) -> str:
    text = translate(f"print.stage.{stage}")
    return stage if text == f"print.stage.{stage}" else text


def cmd_print(args: argparse.Namespace) -> int:
    from kiosk.errors import InputError
    from kiosk.printer.stock import Stock
    from kiosk.station import Station

    if not args.record and not args.approved:
        raise InputError("print.which")
    cfg = config_from(args)
    results: list[dict[str, Any]] = []
    with Station(cfg) as station:
        store, gate = station.store, station.print_gate()
        printer = station.open_printer(actor=actor())  # resolves prints a crash interrupted
        for record_id, outcome in station.recovered:
            key = "print.recovered_reusable" if outcome == "permit_reusable" else "print.recovered_spoiled"
            print(translate(key, record=record_id), file=sys.stderr)
        ids = [store.find(args.record).id] if args.record else [r.id for r in store.list(RecordState.APPROVED)]
        if not ids and not args.json:  # --json: stdout is the JSON document alone
            print(translate("print.none_approved"))
        from kiosk.cli.progress import CommandProgress

        with CommandProgress(translate("progress.print"), len(ids) if len(ids) > 1 else 0) as bar:
            for rid in ids:
                results.append(_print_one(gate, store, printer, rid, quiet=args.json))
                bar.advance()
        levels = Stock(store, cfg.stock).levels(printer)
    warnings = [translate(code, **params) for code, params in levels.warnings]
    if args.json:
        print_json({"results": results, "stock": levels.as_dict()})
    else:
        for w in warnings:
            print(w, file=sys.stderr)
        if len(ids) > 1:
            ok = sum(1 for r in results if r["printed"])
            print(translate("print.batch_done", printed=ok, failed=len(results) - ok))
    failed = [r for r in results if not r["printed"]]
    if args.record and failed:  # one record: its refusal or fault is the command's error line
        raise failed[0]["error"]
    return 1 if failed else 0


def _print_one(gate: Any, store: RecordStore, printer: CardPrinter, rid: str, *, quiet: bool) -> dict[str, Any]:
    ident = store.identity(rid)

    def progress(done: int, total: int, stage: str) -> None:
        if not quiet:
            print(translate("print.progress", done=done, total=total, stage=_stage(stage)), file=sys.stderr, flush=True)

    if not quiet:
        print(translate("print.printing", name=ident.full_name, nik=ident.nik), file=sys.stderr)
    try:
        outcome = gate.print_record(rid, printer, actor=actor(), progress=progress)
    except (KioskError, DeviceError) as exc:
        if not quiet:
            print(translate("print.failed", record=rid, reason=describe(exc)), file=sys.stderr)
        return {"record_id": rid, "printed": False, "code": exc.code, "message": describe(exc), "error": exc}
    if not quiet:
        print(translate("print.printed", name=ident.full_name, nik=ident.nik, job=outcome.job))
    return {"record_id": rid, "printed": True, "job": outcome.job, "permit_id": outcome.permit_id}


def _stock(args: argparse.Namespace) -> tuple[Config, Any]:
    from kiosk.printer.stock import Stock

    cfg = config_from(args)
    return cfg, Stock(store_from(cfg), cfg.stock)


def cmd_stock(args: argparse.Namespace) -> int:
    cfg, stock = _stock(args)
    levels = stock.levels(None)
    if args.json:
        print_json(levels.as_dict())
        return 0
    print(translate("stock.levels", cards=levels.cards, cards_source=translate(f"stock.source_{levels.cards_source}"),
                    printed=levels.printed, spoiled=levels.spoiled))
    if levels.ribbon_panels is None:
        print(translate("stock.ribbon_unknown"))
    else:
        print(translate("stock.ribbon", ribbon=levels.ribbon_panels,
                        ribbon_source=translate(f"stock.source_{levels.ribbon_source}")))
    for code, params in levels.warnings:
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
