"""``kiosk sync``, ``kiosk queue``, ``kiosk simulate``, ``kiosk keys``."""

from __future__ import annotations

import argparse
import hashlib
import signal
import sys
from typing import Any

from kiosk.cli.arguments import positive_count, seed, share
from kiosk.cli.context import config_from, print_json, store_from
from kiosk.errors import InputError
from kiosk.i18n import translate


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("sync")
    p.add_argument("--once", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("queue")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_queue)
    qsub = p.add_subparsers(dest="queue_command", metavar="ACTION")
    dp = qsub.add_parser("delete-request")
    dp.add_argument("record")
    dp.add_argument("--reason", default="resident confirmed identity; earlier record is wrong")
    dp.add_argument("--actor", default="operator")
    dp.add_argument("--json", action="store_true")
    dp.set_defaults(func=cmd_delete_request)
    rp = qsub.add_parser("retry")
    rp.add_argument("record")
    rp.add_argument("--actor", default="operator")
    rp.add_argument("--json", action="store_true")
    rp.set_defaults(func=cmd_retry)

    p = sub.add_parser("simulate")
    ssub = p.add_subparsers(dest="simulate_command", required=True, metavar="ACTION")
    ep = ssub.add_parser("enroll")
    ep.add_argument("--count", type=positive_count, required=True)
    ep.add_argument("--seed", type=seed, default=0)
    ep.add_argument("--repeat-share", type=share, default=0.0, metavar="SHARE")
    ep.add_argument("--repeat-seed", type=seed, default=None, metavar="SEED")
    ep.add_argument("--district")
    ep.add_argument("--json", action="store_true")
    ep.set_defaults(func=cmd_simulate_enroll)

    p = sub.add_parser("keys")
    ksub = p.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    ip = ksub.add_parser("init")
    ip.add_argument("--json", action="store_true")
    ip.set_defaults(func=cmd_keys_init)


class ProgressBar:
    """A one-line progress bar on stderr, drawn only on a terminal."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()

    def __call__(self, p: Any) -> None:
        if not self.tty or p.total == 0:
            return
        width = 30
        filled = int(width * p.done / p.total)
        net = translate(f"network.{p.network.state}")
        text = translate("sync.progress", done=p.done, total=p.total)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {text}  {p.bytes_sent / 1e6:.1f} MB  {net}   ")
        sys.stderr.flush()
        if p.phase == "idle":
            sys.stderr.write("\n")


def cmd_sync(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    from kiosk.ops.sdnotify import ServiceWatchdog, notify
    from kiosk.station import Station

    bar = ProgressBar()
    # under systemd: pings while passes keep ending (each reports "idle"); a pass may take a
    # full backoff plus a few request timeouts
    watchdog = ServiceWatchdog(stale_after=cfg.central.backoff_cap_s + 4 * cfg.central.timeout_s + 30)

    def progress(p: Any) -> None:
        watchdog.beat()
        bar(p)

    station = Station(cfg)
    worker = station.sync_worker(on_progress=progress)
    # SIGTERM stops cleanly between requests; SIGKILL is survived by design (state in SQLite)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop_event.set())
    if not args.once:
        watchdog.start()
        notify("READY=1", f"STATUS=syncing with {cfg.central.url}")
    try:
        if args.once:
            report = worker.run_once()
            if args.json:
                print_json({"report": report, "network": worker.network().to_dict()})
            else:
                print(translate("sync.pass_done", **report))
            return 1 if report["deferred"] else 0
        worker.run_forever()
        notify("STOPPING=1")
        print(translate("sync.stopped"))
        return 0
    finally:
        watchdog.stop()
        worker.close()
        station.close()


def cmd_queue(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    from kiosk.sync.status_words import status_lines
    from kiosk.sync.worker import queue_status

    status = queue_status(store_from(cfg))
    if args.json:
        print_json(status)
        return 0
    print(translate("queue.title"))
    for line in status_lines(status):
        print(line)
    return 0


def cmd_delete_request(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    from kiosk.sync.worker import request_deletion

    store = store_from(cfg)
    rec = store.find(args.record)
    status = request_deletion(store, rec.id, reason=args.reason, actor=args.actor)
    if args.json:
        print_json({"record_id": rec.id, "deletion_requested": True, "status": status})
    else:
        # a record the central has not called a duplicate yet: the request waits for that answer
        print(translate("sync.deletion_waiting" if status == "waiting" else "sync.deletion_requested",
                        record_id=rec.id))
    return 0


def cmd_retry(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    from kiosk.sync.worker import retry_refused

    store = store_from(cfg)
    rec = store.find(args.record)
    retry_refused(store, rec.id, actor=args.actor)
    if args.json:
        print_json({"record_id": rec.id, "retry": True})
    else:
        print(translate("sync.retry_recorded", record_id=rec.id))
    return 0


def cmd_simulate_enroll(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    from kiosk.sync.synthetic import enroll_residents

    from kiosk.cli.progress import CommandProgress

    try:
        with CommandProgress(translate("progress.simulate"), args.count) as bar:
            run = enroll_residents(store_from(cfg), args.count, district=args.district or cfg.station.region,
                                   seed=args.seed, repeat_share=args.repeat_share, repeat_seed=args.repeat_seed,
                                   on_record=bar.update)
    except ValueError as exc:
        raise InputError("request.bad_fields", reason=str(exc)) from None
    ids = run.created
    if args.json:
        print_json({"created": ids, "repeats": [{"record_id": r.record_id, "kind": r.kind, "of_seed": r.of_seed,
                                                 "of_index": r.of_index} for r in run.repeats]})
    else:
        print(translate("simulate.done", count=len(ids)))
    return 0


def cmd_keys_init(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    from kiosk.central.keys import CentralKeys, StationKeys, public_pem

    station = StationKeys.init(cfg.station.data_dir)
    fingerprint = hashlib.sha256(public_pem(station.public)).hexdigest()[:32]
    out: dict[str, Any] = {"station_public_key": str(station.public_path), "fingerprint": fingerprint,
                           "created": station.created}
    if cfg.central.url == "local":
        central = CentralKeys.init(cfg.central.local.data_dir)
        out["central_keys"] = str(central.folder)
    if args.json:
        print_json(out)
        return 0
    print(translate("keysinit.station", path=out["station_public_key"]))
    print(translate("keysinit.fingerprint", fingerprint=fingerprint))
    if "central_keys" in out:
        print(translate("keysinit.central", path=out["central_keys"]))
    return 0
