"""``kiosk central``: run the local central registry (docs/central-api.yaml)."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from kiosk.errors import InputError
from kiosk.i18n import translate


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("central", help="run the local central registry")
    p.add_argument("--port", type=int, default=8470)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--data", type=Path, default=Path("var/central"), help="its database and keys")
    p.add_argument("--decision-delay", type=float, default=2.0, help="seconds before deciding on a packet")
    p.add_argument("--station", action="append", default=[], metavar="ID=PEM[:REGION]",
                   help="register a station's Ed25519 public key file (repeatable)")
    p.add_argument("--fault-rate", type=float, default=0.0, help="share of requests that fail (0..1)")
    p.add_argument("--fault-kinds", default="5xx,timeout,reset,lost_response")
    p.add_argument("--hang", type=float, default=15.0, help="seconds a 'timeout' fault holds the connection")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--bandwidth-kbps", type=float, default=0.0, help="cap on body bytes each way (0 = none)")
    p.add_argument("--outage", type=float, default=0.0, help="start with a total outage of this many seconds")
    p.add_argument("--seed", type=int)
    p.set_defaults(func=cmd_central)
    csub = p.add_subparsers(dest="central_command", metavar="ACTION")
    ip = csub.add_parser("import", help="ingest sealed packet files (*.kpkt) from a folder")
    ip.add_argument("folder", type=Path)
    ip.set_defaults(func=cmd_import)


def _registry(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from kiosk.central.keys import load_ed25519_public
    from kiosk.central.registry import CentralRegistry

    reg = CentralRegistry(args.data, decision_delay_s=args.decision_delay)
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
    print(translate("central.serving", url=server.url, data=str(args.data)), flush=True)
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
    from kiosk.central.packet import PacketError

    reg = _registry(args)
    count = refused = 0
    for path in sorted(args.folder.glob("*.kpkt")):
        try:
            reg.ingest_packet(path.read_bytes())
            count += 1
        except PacketError as exc:
            refused += 1
            print(f"{path.name}: {translate(exc.code, **exc.params)}")
    print(translate("central.imported", count=count, refused=refused))
    reg.close()
    return 0 if not refused else 1
