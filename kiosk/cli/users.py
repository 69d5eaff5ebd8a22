"""``kiosk users add NAME --role ROLE`` and ``kiosk users list``.

The password is asked twice on the terminal (never on the command line, where ``ps`` and the
shell history would keep it). When stdin is not a terminal (scripts, tests) it is read as two
lines from stdin.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from kiosk.accounts import AccountInputError, AccountStore, Role
from kiosk.cli.context import config_from, print_json
from kiosk.i18n import translate


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("users")
    usub = p.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    ap = usub.add_parser("add")
    ap.add_argument("name")
    ap.add_argument("--role", required=True, choices=[r.value for r in Role])
    ap.add_argument("--json", action="store_true")
    ap.set_defaults(func=cmd_add)
    lp = usub.add_parser("list")
    lp.add_argument("--json", action="store_true")
    lp.set_defaults(func=cmd_list)


def _ask_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass(translate("accounts.cli.password") + " ")
        second = getpass.getpass(translate("accounts.cli.password_again") + " ")
    else:
        first = sys.stdin.readline().rstrip("\n")
        second = sys.stdin.readline().rstrip("\n")
    if first != second:
        raise AccountInputError("accounts.password_mismatch")
    return first


def cmd_add(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    store = AccountStore(cfg.accounts)
    if store.get(args.name) is not None:  # fail before asking for a password
        raise AccountInputError("accounts.exists", name=args.name)
    acct = store.add(args.name, args.role, _ask_password())
    if args.json:
        print_json({"name": acct.name, "role": acct.role.value, "created_at": acct.created_at})
        return 0
    print(translate("accounts.cli.added", name=acct.name, role=translate("accounts.role." + acct.role.value)))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    store = AccountStore(cfg.accounts)
    store.ensure_demo(cfg.station.simulated)  # the demo operator exists only while simulated
    accounts = store.list()
    if args.json:
        print_json([{"name": a.name, "role": a.role.value, "created_at": a.created_at,
                     "locked": store.is_locked(a)} for a in accounts])
    elif not accounts:
        print(translate("accounts.cli.none"))
    else:
        for a in accounts:
            print(f"{a.name:20} {translate('accounts.role.' + a.role.value):12} {a.created_at}")
    return 0
