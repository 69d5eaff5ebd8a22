"""``kiosk central adjudication list|resolve``: same-person cases held at the central.

A record whose fingers match an approved record under another NIK is not decided until an
officer looks at both: ``distinct`` (two people: approve), ``same_person`` (reject the new
record) or ``delete_earlier`` (delete the earlier record, whose station is told, and
approve the new one)."""

from __future__ import annotations

import argparse
from pathlib import Path

from kiosk.i18n import translate


def register(csub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ap = csub.add_parser("adjudication")
    asub = ap.add_subparsers(dest="adjudication_command", metavar="ACTION", required=True)
    lp = asub.add_parser("list")
    lp.add_argument("--all", action="store_true")
    lp.add_argument("--json", action="store_true")
    lp.set_defaults(func=cmd_list)
    rp = asub.add_parser("resolve")
    rp.add_argument("case")
    rp.add_argument("verdict", choices=["distinct", "same_person", "delete_earlier"])
    rp.add_argument("--note", default="")
    rp.add_argument("--officer", default="central")
    rp.set_defaults(func=cmd_resolve)
    for p in (lp, rp):
        p.add_argument("--data", type=Path, dest="import_data", metavar="DATA")


def _registry(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from kiosk.central.registry import CentralRegistry
    from kiosk.cli.central import central_data_dir

    args.data = None
    return CentralRegistry(central_data_dir(args), decision_delay_s=0.0)


def cmd_list(args: argparse.Namespace) -> int:
    from kiosk.cli.context import print_json

    reg = _registry(args)
    try:
        cases = reg.adjudications(None if args.all else "open")
    finally:
        reg.close()
    if args.json:
        print_json(cases)
        return 0
    if not cases:
        print(translate("adjudication.none"))
    for c in cases:
        print(translate("adjudication.line", case=c["case_id"][:8], score=c["score"], nik=c["nik"], name=c["name"],
                        station=c["station_id"], earlier_nik=c["earlier_nik"] or "?",
                        earlier_name=c["earlier_name"], earlier_station=c["earlier_station"] or "?",
                        status=c["verdict"] or c["status"]))
    return 0


def cmd_resolve(args: argparse.Namespace) -> int:
    from kiosk.central.abis.dedup import Verdict

    reg = _registry(args)
    try:
        reg.resolve_adjudication(args.case, Verdict(args.verdict), actor=args.officer, note=args.note)
    finally:
        reg.close()
    print(translate("adjudication.resolved", case=args.case, verdict=translate(f"adjudication.verdict.{args.verdict}")))
    return 0
