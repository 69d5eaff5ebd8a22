"""``kiosk init``, ``kiosk purge``, ``kiosk export``, ``kiosk central import``.

(``kiosk audit verify`` and ``kiosk audit checkpoint`` live with ``kiosk audit`` in records.py.)
"""

from __future__ import annotations

import argparse
import getpass
import logging
import importlib
import os
import sys
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kiosk.cli.context import config_from, print_json, store_from
from kiosk.errors import InputError, KioskError
from kiosk.i18n import translate
from kiosk.ops import stationkey
from kiosk.ops.audit import checkpoint_if_due
from kiosk.ops.export import ImportResult, Ingest, SealPacket, export_queued, find_batches, import_batch
from kiosk.ops.logs import attach_station_log
from kiosk.ops.provision import provision_station
from kiosk.ops.retention import purge_expired
from kiosk.store import RecordStore

#: where the real packet sealer lives once issue 5 is merged: "module:function(cfg, store) -> SealPacket"
PACKET_SEALER = "kiosk.central.packet:sealer_for_station"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("init", help="provision a new station (data folder, keys, first supervisor)")
    p.add_argument("--data", type=Path, help="station data folder (default: station.data_dir of the config)")
    p.add_argument("--user", default="supervisor", help="name of the first supervisor account")
    p.add_argument("--accounts", type=Path, help="accounts file (default: <data>/accounts.toml, or accounts.file"
                                                 " of the config when --data is not given)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("purge", help="purge biometrics of finished records past the retention period")
    p.add_argument("--dry-run", action="store_true", help="only list what would be purged")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_purge)

    p = sub.add_parser("export", help="write queued records to a folder (USB stick) for the central")
    p.add_argument("--to", type=Path, required=True, metavar="DIR", help="folder to write the batch into")
    p.add_argument("--again", action="store_true", help="include records already exported but not yet confirmed")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_export)

    if "central" not in sub.choices:  # issue 5's `kiosk central` owns the name once merged
        p = sub.add_parser("central", help="local central registry tools")
        add_import_command(p.add_subparsers(dest="central_command", required=True, metavar="ACTION"))


def add_import_command(central_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``kiosk central import DIR``: for the lead to attach under the real ``kiosk central``."""
    p = central_sub.add_parser("import", help="import an offline export folder from a station")
    p.add_argument("folder", type=Path, help="a batch folder, or a folder (USB stick) holding batches")
    p.add_argument("--data", type=Path, help="central data folder (default: central.local.data_dir of the config)")
    p.add_argument("--station-key", type=Path, metavar="PEM",
                   help="trust this station public key (default: <data>/stations/<station id>.pub)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_central_import)


def language_from_config(args: argparse.Namespace) -> None:
    """Use the config's language when there is a readable config; these commands must not need one."""
    if getattr(args, "lang", None) is None:
        try:
            config_from(args, attach_log=False)
        except KioskError:
            pass


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
        accounts = args.accounts or data_dir / "accounts.toml"
        language_from_config(args)
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
        checkpoint_if_due(store, stationkey.load_or_create(cfg.station.data_dir), cfg.audit.checkpoint_every)
    if args.json:
        print_json({"dry_run": result.dry_run, "days": cfg.retention.days,
                    "records": [c.__dict__ for c in result.purged]})
        return 0
    for c in result.purged:
        print(f"{c.record_id}  {translate('state.' + c.state):12}  {c.finished_at[:19]}  {c.samples}")
    key = "ops.purge_dry_run" if result.dry_run else "ops.purge_done"
    print(translate(key, count=len(result.purged), days=cfg.retention.days))
    return 0


# -- export / import ------------------------------------------------------------------------------


def packet_sealer(cfg: Any, store: RecordStore) -> SealPacket:
    module, _, name = PACKET_SEALER.partition(":")
    try:
        factory = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise KioskError("ops.export_unavailable") from None
    return factory(cfg, store)  # type: ignore[no-any-return]


def cmd_export(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    store = store_from(cfg)
    seal = packet_sealer(cfg, store)
    key = stationkey.load(cfg.station.data_dir)
    result = export_queued(store, args.to, seal_packet=seal, key=key, station_id=cfg.station.id,
                           actor=os.environ.get("USER", "cli"), again=args.again)
    checkpoint_if_due(store, key, cfg.audit.checkpoint_every)
    if args.json:
        print_json({"batch": result.batch, "folder": str(result.folder), "records": list(result.records),
                    "bytes": result.bytes})
    else:
        print(translate("ops.export_done", count=len(result.records), folder=str(result.folder)))
    return 0


def spool_ingest(central_dir: Path) -> Ingest:
    """Hand verified packets to the central by dropping them in ``<central>/inbox/<id>.pkt``.

    Idempotent on the record id: a packet already in the inbox is left alone. NOTE for the
    lead: replace with the local central's own ingest (kiosk.central, issue 5) at merge.
    """
    inbox = central_dir / "inbox"
    inbox.mkdir(parents=True, exist_ok=True, mode=0o700)

    def ingest(record_id: str, data: bytes) -> None:
        target = inbox / f"{record_id}.pkt"
        if target.exists():
            return
        tmp = inbox / f".{record_id}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(target)

    return ingest


def station_keys(central_dir: Path, trusted: Path | None) -> Any:
    def lookup(station_id: str) -> Ed25519PublicKey | None:
        if trusted is not None:
            return stationkey.load_public(trusted)
        if "/" in station_id or station_id.startswith("."):
            return None
        path = central_dir / "stations" / f"{station_id}.pub"
        return stationkey.load_public(path) if path.is_file() else None

    return lookup


def cmd_central_import(args: argparse.Namespace) -> int:
    if args.data is not None:
        central_dir = args.data.absolute()
        language_from_config(args)
    else:
        central_dir = config_from(args, attach_log=False).central.local.data_dir
    attach_station_log(central_dir)
    lookup = station_keys(central_dir, args.station_key)
    ingest = spool_ingest(central_dir)
    results: list[ImportResult] = [import_batch(b, station_key=lookup, ingest=ingest) for b in find_batches(args.folder)]
    if not results:
        raise InputError("ops.import_nothing", path=str(args.folder))
    refused = sum(len(r.refused) for r in results)
    if args.json:
        print_json([{"batch": r.batch, "station_id": r.station_id, "accepted": list(r.accepted),
                     "refused": [{"record_id": rid, "code": code} for rid, code in r.refused]} for r in results])
    else:
        for r in results:
            print(translate("ops.import_done", batch=r.batch, station=r.station_id, accepted=len(r.accepted),
                            refused=len(r.refused)))
            for rid, code in r.refused:
                print(f"  {rid}: {translate(code, record_id=rid)}")
    return 1 if refused else 0
