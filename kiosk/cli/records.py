"""``kiosk nik``, ``kiosk records``, ``kiosk audit``."""

from __future__ import annotations

import argparse
from typing import Any

from kiosk.cli.context import config_from, print_json, store_from
from kiosk.enroll.irises import EYE_WORDS
from kiosk.i18n import local_time, translate
from kiosk.nik import NikError, parse_nik
from kiosk.store import Record, RecordStore


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("nik")
    p.add_argument("nik")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_nik)

    p = sub.add_parser("records")
    rsub = p.add_subparsers(dest="records_command", required=True, metavar="ACTION")
    lp = rsub.add_parser("list")
    lp.add_argument("--state")
    lp.add_argument("--json", action="store_true")
    lp.set_defaults(func=cmd_list)
    sp = rsub.add_parser("show")
    sp.add_argument("id")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_show)

    p = sub.add_parser("audit")
    p.add_argument("--record")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_audit)
    asub = p.add_subparsers(dest="audit_command", metavar="ACTION")
    vp = asub.add_parser("verify")
    vp.add_argument("--json", action="store_true")
    vp.set_defaults(func=cmd_audit_verify)
    cp = asub.add_parser("checkpoint")
    cp.add_argument("--json", action="store_true")
    cp.set_defaults(func=cmd_audit_checkpoint)


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
        print_nik(parsed.as_dict())
    return 0


def print_nik(parts: dict[str, str]) -> None:
    """``kiosk nik`` for the operator: labels (and the sex) in the station's language."""
    shown = {"sex": lambda v: translate("nik.sex." + v),
             "birth_date": lambda v: f"{v[8:10]}-{v[5:7]}-{v[:4]}"}  # dd-mm-yyyy, as on the card
    rows = [(translate("nik.label." + key), shown.get(key, str)(value)) for key, value in parts.items()]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:{width}}  {value}")


def _summary(store: RecordStore, rec: Record) -> dict[str, Any]:
    from kiosk.ops.retention import is_purged

    if is_purged(store, rec.id):  # retention left only a stub: no identity to show
        return {"id": rec.id, "nik": "", "name": "", "state": str(rec.state), "created_at": rec.created_at,
                "updated_at": rec.updated_at, "created_by": rec.created_by, "purged": True}
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
            print(f"{r['id']}  {r['nik']}  {translate('state.' + r['state']):12}  {local_time(r['created_at'])}  {r['name']}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    store = store_from(cfg)
    rec = store.find(args.id)
    data = _summary(store, rec)
    data["identity"] = {} if data.get("purged") else store.identity(rec.id).to_dict()
    data["samples"] = [{"kind": s.kind, "position": s.position, "format": s.format, "quality": s.quality,
                        "bytes": s.size, "captured_at": s.captured_at} for s in store.samples(rec.id)]
    data["exceptions"] = [{"position": e.position, "reason": e.reason, "approved_by": e.approved_by}
                          for e in store.exceptions(rec.id)]
    data["iris_exceptions"] = [{"eye": e.eye, "reason": e.reason, "approved_by": e.approved_by}
                               for e in store.iris_exceptions(rec.id)]
    data["missing"] = store.missing(rec.id)
    if args.json:
        print_json(data)
        return 0
    print_record(data)
    return 0


def _eye_words(eye: int | str) -> str:
    """An eye label (1, 2) in words ("Mata kanan"); anything else as it is."""
    word = EYE_WORDS.get(int(eye)) if str(eye).isdigit() else None
    return translate("iris." + word) if word else str(eye)


def _missing_words(item: str) -> str:
    kind, _, pos = item.partition(":")
    if kind == "finger":
        return translate("records.line.missing_finger", position=pos)
    if kind == "supervisor":
        return translate("records.line.missing_supervisor", position=pos)
    if kind == "iris":
        return translate("records.line.missing_iris", eye=_eye_words(pos))
    if kind == "iris_supervisor":
        return translate("records.line.missing_iris_supervisor", eye=_eye_words(pos))
    return translate(f"records.kind.{kind}")


def print_record(data: dict[str, Any]) -> None:
    """``records show`` for the operator: every label from the catalog of the station's language."""
    rows: list[tuple[str, str]] = [(translate("records.label." + key), str(data[key]))
                                   for key in ("id", "state", "created_at", "updated_at", "created_by")]
    rows[1] = (rows[1][0], translate("state." + str(data["state"])))
    rows += [(translate("tui.field." + key), str(value)) for key, value in data["identity"].items()]
    rows += [(translate("records.label.sample"), translate(
        "records.line.sample", kind=translate("records.kind." + s["kind"]), position=s["position"], format=s["format"],
        quality="-" if s["quality"] is None else s["quality"], size=s["bytes"])) for s in data["samples"]]
    rows += [(translate("records.label.exception"), translate(
        "records.line.exception", position=e["position"], reason=translate("finger.exception." + e["reason"]),
        approved_by=e["approved_by"] or translate("records.line.not_approved"))) for e in data["exceptions"]]
    rows += [(translate("records.label.exception"), translate(
        "records.line.iris_exception", eye=_eye_words(e["eye"]), reason=translate("iris.reason." + e["reason"]),
        approved_by=e["approved_by"] or translate("records.line.not_approved"))) for e in data.get("iris_exceptions", [])]
    if data["missing"]:
        rows.append((translate("records.label.missing"), ", ".join(_missing_words(m) for m in data["missing"])))
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:{width}}  {value}")


def cmd_audit(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    store = store_from(cfg)
    entries = store.audit(args.record)
    if args.json:
        print_json([e.__dict__ for e in entries])
        return 0
    for e in entries:
        move = f"{e.from_state or '-'} -> {e.to_state}" if e.to_state else ""
        print(f"#{e.seq:<5} {local_time(e.ts)} {e.actor:10} {e.action:16} {e.record_id or '':36} {move} {e.reason}")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Exit status tells what broke: see kiosk.ops.audit.EXIT_CODES."""
    from kiosk.ops.audit import verify_audit_log
    from kiosk.central.keys import StationKeys
    from kiosk.ops.tables import ensure_ops_tables

    cfg = config_from(args)
    store = store_from(cfg)
    ensure_ops_tables(store)
    report = verify_audit_log(store, StationKeys.public_key_of(cfg.station.data_dir))
    if args.json:
        print_json(report.to_dict())
        return report.exit_code
    if report.ok:
        print(translate("ops.audit_ok", entries=report.entries, checkpoints=report.checkpoints))
        return 0
    for f in report.findings:
        print(translate("ops.audit_finding", kind=translate("ops.finding." + f.kind), seq=f.seq,
                        detail=translate(f.reason, **f.params)))
    return report.exit_code


def cmd_audit_checkpoint(args: argparse.Namespace) -> int:
    from kiosk.ops.audit import checkpoint
    from kiosk.central.keys import StationKeys
    from kiosk.ops.tables import ensure_ops_tables

    cfg = config_from(args)
    store = store_from(cfg)
    ensure_ops_tables(store)
    cp = checkpoint(store, StationKeys.load(cfg.station.data_dir).signing)
    if args.json:
        print_json(None if cp is None else cp.__dict__)
    elif cp is None:
        print(translate("ops.audit_empty"))
    else:
        print(translate("ops.audit_signed", seq=cp.seq, entries=cp.entries))
    return 0
