"""``kiosk local-match list|decide``: records the station's own fingerprint check held before upload.

``decide RECORD same_person|same_person_keep_new|different_people --supervisor NAME`` asks the supervisor's
password (no echo on a terminal; one stdin line otherwise) and calls the same core function
as the TUI's modal (:func:`kiosk.dedup.local_hold.decide_local_match`).
"""

from __future__ import annotations

import argparse
import getpass
import sys

from kiosk.cli.context import config_from, print_json, store_from
from kiosk.i18n import translate


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("local-match")
    msub = p.add_subparsers(dest="local_match_command", required=True, metavar="ACTION")
    lp = msub.add_parser("list")
    lp.add_argument("--json", action="store_true")
    lp.set_defaults(func=cmd_list)
    dp = msub.add_parser("decide")
    dp.add_argument("record")
    dp.add_argument("verdict", choices=["same_person", "same_person_keep_new", "different_people"])
    dp.add_argument("--supervisor", required=True)
    dp.add_argument("--note", default="")
    dp.add_argument("--json", action="store_true")
    dp.set_defaults(func=cmd_decide)


def cmd_list(args: argparse.Namespace) -> int:
    from kiosk.dedup.local_hold import held_matches, match_view

    store = store_from(config_from(args))
    try:
        views = [match_view(store, h) for h in held_matches(store)]
    finally:
        store.close()
    if args.json:
        print_json(views)
        return 0
    if not views:
        print(translate("dedup_flow.cli.none"))
    for v in views:
        new, old = v["new"], v["earlier"]
        print(translate("dedup_flow.cli.line", record=new["record_id"][:8], name=new["name"], nik=new["nik"],
                        date=new["created_at"], earlier=old["record_id"][:8], earlier_name=old["name"],
                        earlier_nik=old["nik"], earlier_date=old["created_at"], score=v["score"],
                        fingers=", ".join(v["fingers"])))
    return 0


def _password() -> str:
    if sys.stdin.isatty():
        return getpass.getpass(translate("dedup_flow.cli.password") + " ")
    return sys.stdin.readline().rstrip("\n")


def cmd_decide(args: argparse.Namespace) -> int:
    from kiosk.accounts import AccountStore, Role
    from kiosk.dedup.local_hold import NotSupervisor, decide_local_match

    cfg = config_from(args)
    account = AccountStore(cfg.accounts).authenticate(args.supervisor, _password())
    if account.role is not Role.SUPERVISOR:
        raise NotSupervisor(name=account.name)
    store = store_from(cfg)
    try:
        rec = store.find(args.record)
        state = decide_local_match(store, rec.id, args.verdict, supervisor=account.name, note=args.note)
    finally:
        store.close()
    if args.json:
        print_json({"record_id": rec.id, "verdict": args.verdict, "state": state.value, "decided_by": account.name})
        return 0
    print(translate("dedup_flow.cli.decided", record=rec.id[:8], verdict=translate(f"dedup_flow.verdict.{args.verdict}")))
    return 0
