"""``kiosk nik``, ``kiosk records``, ``kiosk audit``."""

from __future__ import annotations

import argparse
from typing import Any

from kiosk.cli.context import config_from, print_json, store_from
from kiosk.i18n import translate
from kiosk.nik import NikError, parse_nik
from kiosk.store import Record, RecordStore


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("nik", help="check a NIK and show its parts")
    p.add_argument("nik")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_nik)

    p = sub.add_parser("records", help="list or show enrollment records")
    rsub = p.add_subparsers(dest="records_command", required=True, metavar="ACTION")
    lp = rsub.add_parser("list", help="list records")
    lp.add_argument("--state", help="only records in this state")
    lp.add_argument("--json", action="store_true")
    lp.set_defaults(func=cmd_list)
    sp = rsub.add_parser("show", help="show one record")
    sp.add_argument("id", help="record id (or a unique prefix)")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_show)

    p = sub.add_parser("audit", help="show the audit trail")
    p.add_argument("--record", help="only entries of this record")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_audit)


def cmd_nik(args: argparse.Namespace) -> int:
    try:
        parsed = parse_nik(args.nik)
    except NikError as exc:
        if args.json:
            print_json({"valid": False, "code": exc.code, "params": exc.params, "message": translate(exc.code, **exc.params)})
            return 2
        raise
    if args.json:
        print_json({"valid": True, **parsed.as_dict()})
    else:
        for key, value in parsed.as_dict().items():
            print(f"{key:14} {value}")
    return 0


def _summary(store: RecordStore, rec: Record) -> dict[str, Any]:
    ident = store.identity(rec.id)
    return {"id": rec.id, "nik": ident.nik, "name": ident.full_name, "state": str(rec.state),
            "created_at": rec.created_at, "updated_at": rec.updated_at, "created_by": rec.created_by}


def cmd_list(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    store = store_from(cfg)
    state = args.state
    if state is not None:
        from kiosk.store import RecordState

        try:
            state = RecordState(state)
        except ValueError:
            from kiosk.errors import InputError

            raise InputError("cli.bad_state", state=state, allowed=", ".join(s.value for s in RecordState)) from None
    rows = [_summary(store, r) for r in store.list(state)]
    if args.json:
        print_json(rows)
    elif not rows:
        print(translate("cli.no_records"))
    else:
        for r in rows:
            print(f"{r['id']}  {r['nik']}  {translate('state.' + r['state']):12}  {r['created_at'][:19]}  {r['name']}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    store = store_from(cfg)
    rec = store.find(args.id)
    data = _summary(store, rec)
    data["identity"] = store.identity(rec.id).to_dict()
    data["samples"] = [{"kind": s.kind, "position": s.position, "format": s.format, "quality": s.quality,
                        "bytes": s.size, "captured_at": s.captured_at} for s in store.samples(rec.id)]
    data["exceptions"] = [{"position": e.position, "reason": e.reason, "approved_by": e.approved_by}
                          for e in store.exceptions(rec.id)]
    data["missing"] = store.missing(rec.id)
    if args.json:
        print_json(data)
        return 0
    for key in ("id", "state", "created_at", "updated_at", "created_by"):
        print(f"{key:12} {data[key]}")
    for key, value in data["identity"].items():
        print(f"{key:12} {value}")
    for s in data["samples"]:
        print(f"sample       {s['kind']}[{s['position']}] {s['format']} q={s['quality']} {s['bytes']} B")
    for e in data["exceptions"]:
        print(f"exception    finger {e['position']}: {e['reason']} (approved by {e['approved_by']})")
    if data["missing"]:
        print(f"missing      {', '.join(data['missing'])}")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    store = store_from(cfg)
    entries = store.audit(args.record)
    if args.json:
        print_json([e.__dict__ for e in entries])
        return 0
    for e in entries:
        move = f"{e.from_state or '-'} -> {e.to_state}" if e.to_state else ""
        print(f"#{e.seq:<5} {e.ts[:19]} {e.actor:10} {e.action:16} {e.record_id or '':36} {move} {e.reason}")
    return 0
