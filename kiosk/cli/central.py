"""``kiosk central``: run the local central registry (docs/central-api.yaml), and
``kiosk central import DIR``: take a station's offline export (``kiosk export``) into it."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from kiosk.cli.arguments import bounded_float, port, seconds, seed, share
from kiosk.errors import InputError, KioskError
from kiosk.i18n import translate


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("central")
    p.add_argument("--port", type=port, default=8470)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--data", type=Path)
    p.add_argument("--decision-delay", type=seconds, default=2.0)
    p.add_argument("--station", action="append", default=[], metavar="ID=PEM[:REGION]")
    p.add_argument("--fault-rate", type=share, default=0.0)
    p.add_argument("--fault-kinds", default="5xx,timeout,reset,lost_response")
    p.add_argument("--hang", type=seconds, default=15.0)
    p.add_argument("--latency-ms", type=bounded_float(0.0, 600_000.0), default=0.0)
    p.add_argument("--bandwidth-kbps", type=bounded_float(0.0, 10_000_000.0), default=0.0)
    p.add_argument("--outage", type=seconds, default=0.0)
    p.add_argument("--seed", type=seed)
    p.set_defaults(func=cmd_central)
    csub = p.add_subparsers(dest="central_command", metavar="ACTION")
    ip = csub.add_parser("import")
    ip.add_argument("folder", type=Path)
    ip.add_argument("--data", type=Path, dest="import_data", metavar="DATA")
    ip.add_argument("--station-key", type=Path, metavar="PEM")
    ip.add_argument("--json", action="store_true")
    ip.set_defaults(func=cmd_import)
    from kiosk.cli.adjudication import register as register_adjudication

    register_adjudication(csub)


def central_data_dir(args: argparse.Namespace) -> Path:
    """--data, else the config's local central folder, else var/central (no config needed)."""
    from kiosk.cli.context import config_from

    given = getattr(args, "import_data", None) or args.data
    try:
        cfg = config_from(args, attach_log=False)  # also sets the config's language
    except KioskError as exc:
        if exc.code != "config.not_found":
            raise  # a config that exists but is wrong gets its plain line, as everywhere else
        cfg = None
    if given is not None:
        return Path(given).absolute()
    return cfg.central.local.data_dir if cfg is not None else Path("var/central").absolute()


def _registry(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from kiosk.central.keys import load_ed25519_public
    from kiosk.central.registry import CentralRegistry

    reg = CentralRegistry(central_data_dir(args), decision_delay_s=args.decision_delay)
    for spec in args.station:
        ident, _, rest = spec.partition("=")
        pem, _, region = rest.partition(":")
        if not ident or not pem:
            raise InputError("request.bad_fields")
        reg.register_station(ident, load_ed25519_public(Path(pem)), region)
        print(translate("central.registered", station=ident))
    return reg


def cmd_central(args: argparse.Namespace) -> int:
    from kiosk.central.faults import FaultInjector
    from kiosk.central.server import CentralServer

    reg = _registry(args)
    faults = FaultInjector()
    settings = dict(rate=args.fault_rate, kinds=tuple(k for k in args.fault_kinds.split(",") if k), hang_s=args.hang,
                    latency_s=args.latency_ms / 1000, bandwidth_bps=int(args.bandwidth_kbps * 1000 / 8), seed=args.seed)
    if args.outage > 0:
        settings["outage_s"] = args.outage
    try:
        faults.set(**settings)
    except ValueError as exc:
        raise InputError("request.bad_fields", reason=str(exc)) from None
    server = CentralServer(reg, host=args.host, port=args.port, faults=faults).start()
    print(translate("central.serving", url=server.url, data=str(reg.data_dir)), flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    server.stop()
    reg.close()
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Manifest signature and file hashes first (kiosk.ops.export), then the registry's own
    idempotent ingest of each packet: importing a stick twice, or a stick whose records also
    arrived over the network, stores every record once."""
    from kiosk.central.keys import load_ed25519_public
    from kiosk.ops.export import import_folder
    from kiosk.ops.logs import attach_station_log
    from kiosk.cli.context import print_json

    reg = _registry(args)
    attach_station_log(reg.data_dir)
    try:
        override = None
        if args.station_key is not None:
            trusted = load_ed25519_public(args.station_key)
            override = lambda station_id: trusted  # noqa: E731
        results = import_folder(args.folder, reg, station_key=override)
    finally:
        reg.close()
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
                print(f"  {rid}: {translate(code, record_id=rid, record=rid, station=r.station_id)}")
    return 1 if refused else 0
