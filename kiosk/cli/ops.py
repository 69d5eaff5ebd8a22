"""``kiosk init``, ``kiosk purge``, ``kiosk export``.

(``kiosk audit verify`` and ``kiosk audit checkpoint`` live with ``kiosk audit`` in records.py;
the import of an export, ``kiosk central import``, lives with ``kiosk central`` in central.py.)
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from pathlib import Path

from kiosk.central.keys import StationKeys
from kiosk.config import Config
from kiosk.cli.context import config_from, print_json, store_from
from kiosk.errors import InputError, KioskError
from kiosk.i18n import local_time, translate
from kiosk.ops.audit import checkpoint_if_due
from kiosk.ops.export import export_queued
from kiosk.ops.logs import attach_station_log
from kiosk.ops.provision import provision_station
from kiosk.ops.retention import purge_expired


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("init")
    p.add_argument("--data", type=Path)
    p.add_argument("--user", default="supervisor")
    p.add_argument("--accounts", type=Path)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("purge")
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_purge)

    p = sub.add_parser("export")
    p.add_argument("--to", type=Path, required=True, metavar="DIR")
    p.add_argument("--again", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_export)


def _readable_config(args: argparse.Namespace) -> "Config | None":
    """The config (its language set) if one can be read; ``init --data`` must work without one."""
    try:
        return config_from(args, attach_log=False)
    except KioskError:
        return None


# -- init ---------------------------------------------------------------------------------------


def read_new_password() -> str:
    """Asked twice. On a terminal with getpass (no echo); from two stdin lines otherwise (tests, scripts)."""
    if sys.stdin.isatty():
        first = getpass.getpass(translate("ops.password_prompt") + " ")
        second = getpass.getpass(translate("ops.password_again") + " ")
    else:
        lines = sys.stdin.read().splitlines()
        if len(lines) < 2:
            raise InputError("ops.password_twice")
        first, second = lines[0], lines[1]
    if first != second:
        raise InputError("ops.password_mismatch")
    return first


def cmd_init(args: argparse.Namespace) -> int:
    if args.data is not None:
        data_dir = args.data.absolute()
        cfg = _readable_config(args)
        # the config's own accounts file when the config describes this folder: the login and
        # `kiosk users` read accounts.file, so the first supervisor must be written there
        same_station = cfg is not None and cfg.station.data_dir == data_dir.resolve()
        accounts = args.accounts or (cfg.accounts.file if same_station and cfg else data_dir / "accounts.toml")

    else:
        cfg = config_from(args, attach_log=False)
        data_dir, accounts = cfg.station.data_dir, args.accounts or cfg.accounts.file
    from kiosk.ops.provision import existing_station

    found = existing_station(data_dir, accounts)
    if found is not None:  # refuse before asking for a password
        from kiosk.ops.provision import ProvisionError

        raise ProvisionError("ops.station_exists", path=str(found))
    password = read_new_password()
    done = provision_station(data_dir, user=args.user, password=password, accounts=accounts)
    if args.data is not None and cfg is not None and done.accounts != cfg.accounts.file:
        print(translate("ops.accounts_elsewhere", configured=str(cfg.accounts.file), written=str(done.accounts)),
              file=sys.stderr)
    attach_station_log(done.data_dir)
    logging.getLogger("kiosk.ops").info("station provisioned", extra={"data_dir": str(done.data_dir),
                                                                      "station_key": done.fingerprint})
    info = {"data_dir": str(done.data_dir), "database": str(done.database), "data_key": str(done.data_key),
            "station_key": str(done.station_key), "station_pub": str(done.station_pub),
            "fingerprint": done.fingerprint, "accounts": str(done.accounts), "user": args.user}
    if args.json:
        print_json(info)
    else:
        print(translate("ops.init_done", **info))
    return 0


# -- purge --------------------------------------------------------------------------------------


def cmd_purge(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    store = store_from(cfg)
    result = purge_expired(store, cfg.retention.days, actor=os.environ.get("USER", "cli"), dry_run=args.dry_run)
    if result.purged and not result.dry_run:
        checkpoint_if_due(store, StationKeys.init(cfg.station.data_dir).signing, cfg.audit.checkpoint_every)
    if args.json:
        print_json({"dry_run": result.dry_run, "days": cfg.retention.days,
                    "records": [c.__dict__ for c in result.purged]})
        return 0
    for c in result.purged:
        print(f"{c.record_id}  {translate('state.' + c.state):12}  {local_time(c.finished_at)}  {c.samples}")
    key = "ops.purge_dry_run" if result.dry_run else "ops.purge_done"
    print(translate(key, count=len(result.purged), days=cfg.retention.days))
    return 0


# -- export -------------------------------------------------------------------------------------


def cmd_export(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    store = store_from(cfg)
    from kiosk.sync.worker import sealer_for_station

    # the packets the sync worker stores and would upload, sealed here if not yet (no connection)
    seal = sealer_for_station(cfg, store)
    key = StationKeys.load(cfg.station.data_dir).signing
    from kiosk.cli.progress import CommandProgress
    from kiosk.ops.export import exportable

    with CommandProgress(translate("progress.export"), len(exportable(store, again=args.again))) as bar:
        result = export_queued(store, args.to, seal_packet=seal, key=key, station_id=cfg.station.id,
                               actor=os.environ.get("USER", "cli"), again=args.again, on_packet=bar.update)
    checkpoint_if_due(store, key, cfg.audit.checkpoint_every)
    if args.json:
        print_json({"batch": result.batch, "folder": str(result.folder), "records": list(result.records),
                    "bytes": result.bytes})
    else:
        print(translate("ops.export_done", count=len(result.records), folder=str(result.folder)))
    return 0
