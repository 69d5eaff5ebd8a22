"""``kiosk devices`` (what is configured and attached) and ``kiosk diag`` (technician checks).

The procedure lives in :mod:`kiosk.diagnostics` (the TUI's diagnostics screen uses the same).
``kiosk diag [DEVICE]`` runs, per configured device: open, info, self-test, one test capture
(kind-specific: a finger image, a camera frame, pen points, the printer's supplies; never a
printed card), close; each step timed. Exit 0 only when every step of every device passed.
``--hexdump`` adds the device's last exchanges (decoded, with times, failures included);
``--bundle`` writes the diagnostics bundle.

While a kiosk runs on this station's data, its devices are its own: these commands ask it over its
control socket (:mod:`kiosk.diagnostics.control`) instead of opening the devices (or starting
mocks) themselves.
"""

from __future__ import annotations

import argparse
from typing import Any

from kiosk.cli.arguments import seconds
from kiosk.cli.context import config_from, print_json
from kiosk.config import Config
from kiosk.devices.discovery import attached
from kiosk.errors import InputError
from kiosk.i18n import translate


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("devices")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_devices)

    p = sub.add_parser("diag")
    p.add_argument("device", nargs="?")
    p.add_argument("--json", action="store_true")
    p.add_argument("--hexdump", action="store_true")
    p.add_argument("--bundle", action="store_true")
    p.add_argument("--capture-timeout", type=seconds, default=10.0, metavar="S")
    p.set_defaults(func=cmd_diag)


def _ask_running_kiosk(cfg: Config, request: dict[str, Any]) -> dict[str, Any] | None:
    """The running kiosk's answer, or None when no kiosk runs on this station's data. Raises
    ``instance.busy_devices`` when one runs but cannot be asked."""
    from kiosk.diagnostics.control import ask_running_kiosk

    return ask_running_kiosk(cfg.station.data_dir, request)


def _status_rows(cfg: Config) -> tuple[list[dict[str, Any]], str | None]:
    """(rows, running kiosk's description or None)."""
    answer = _ask_running_kiosk(cfg, {"op": "devices"})
    if answer is not None:
        return answer["configured"], answer["holder"]
    from kiosk.composition import device_set
    from kiosk.diagnostics.runner import status_row
    from kiosk.instance import StationLock

    # no kiosk runs: hold the station while this listing opens the devices (and starts mocks)
    with StationLock.acquire(cfg.station.data_dir, mode="kiosk devices"), device_set(cfg) as devices:
        return [status_row(devices, d.name, d.driver, d.mock).as_dict() for d in cfg.devices], None


def cmd_devices(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    configured, holder = _status_rows(cfg)
    found = attached()
    if args.json:
        print_json({"configured": configured, "attached": found.as_dict(), "held_by": holder})
        return 0
    if holder:
        print(translate("diag.asked_running", holder=holder))
    print(translate("diag.configured"))
    if not configured:
        print("  " + translate("diag.none"))
    for row in configured:
        state = translate(f"diag.state.{row['state']}")
        line = f"  {row['name']:14} {row.get('kind') or '?':12} {row['driver']:10} {state}"
        if row.get("mock"):
            line += f"  ({translate('diag.mock', mock=row['mock'])})"
        print(line)
        print(f"      {translate('diag.where', where=row.get('where', '-'))}")
        if row.get("info"):
            print(f"      {row['info']['vendor']} {row['info']['model']} {row['info']['serial']}".rstrip())
        if row.get("error"):
            print(f"      {row['error']['message']}")
            print(f"      {translate('diag.technical', line=row['error']['technical'])}")
    print(translate("diag.serial_ports"))
    for s in found.serial:
        print(f"  {s.device:16} {s.known or s.description}" + (f"  [{s.vid}:{s.pid}]" if s.vid else ""))
    if not found.serial:
        print("  " + translate("diag.none"))
    print(translate("diag.usb_devices"))
    if found.usb_note:
        print("  " + translate(found.usb_note, detail=found.usb_note_detail))
    for u in found.usb:
        print(f"  {u.bus:03}:{u.address:03}  {u.vid}:{u.pid}  {u.known}".rstrip())
    if not found.usb and not found.usb_note:
        print("  " + translate("diag.none"))
    print(translate("diag.video_devices"))
    for v in found.video:
        print(f"  {v}")
    if not found.video:
        print("  " + translate("diag.none"))
    return 0


def _diagnose_here(cfg: Config, chosen: list[str], capture_timeout: float, bundle: bool) -> tuple[list[dict[str, Any]], str]:
    from kiosk.composition import device_set
    from kiosk.diagnostics.runner import diagnose
    from kiosk.instance import StationLock

    with StationLock.acquire(cfg.station.data_dir, mode="kiosk diag"), device_set(cfg) as devices:
        rows = [diagnose(devices, n, capture_timeout_s=capture_timeout).as_dict(exchanges=True) for n in chosen]
        path = ""
        if bundle:
            from kiosk.cli.context import store_from
            from kiosk.diagnostics.bundle import write_bundle

            store = store_from(cfg)
            try:
                path = str(write_bundle(cfg, devices, store))
            finally:
                store.close()
    return rows, path


def cmd_diag(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    names = [d.name for d in cfg.devices]
    if args.device is not None and args.device not in names:
        raise InputError("diag.unknown_device", device=args.device, known=", ".join(names) or "-")
    chosen = [args.device] if args.device else names
    answer = _ask_running_kiosk(cfg, {"op": "diag", "devices": chosen, "capture_timeout_s": args.capture_timeout,
                                      "bundle": bool(args.bundle)})
    holder = answer["holder"] if answer is not None else None
    if answer is not None:
        rows, bundle_path = answer["devices"], answer.get("bundle", "")
    else:
        rows, bundle_path = _diagnose_here(cfg, chosen, args.capture_timeout, args.bundle)
    if not args.hexdump:
        for row in rows:
            row.pop("hexdump", None)
    all_ok = bool(rows) and all(r["ok"] for r in rows)
    if args.json:
        print_json({"ok": all_ok, "devices": rows, "held_by": holder, "bundle": bundle_path or None})
        return 0 if all_ok else 1
    if holder:
        print(translate("diag.asked_running", holder=holder))
    if not rows:
        print(translate("diag.no_devices"))
    for row in rows:
        print(f"{row['name']} ({row['kind'] or '?'}, {row.get('where', '-')}): "
              f"{translate('diag.pass' if row['ok'] else 'diag.fail')}")
        for s in row["steps"]:
            mark = "ok  " if s["ok"] else "FAIL"
            text = s.get("detail") if s["ok"] else s["message"]
            print(f"  [{mark}] {translate('diag.step.' + s['step']):22} {s['seconds'] * 1000:8.1f} ms  {text}")
            if not s["ok"]:
                print(f"  {'':29}{translate('diag.technical', line=s['technical'])}")
        if "hexdump" in row:
            print("  " + translate("diag.hexdump"))
            for line in (row["hexdump"] or translate("diag.none")).splitlines():
                print(f"    {line}")
    if bundle_path:
        print(translate("diag.bundle_written", path=bundle_path))
    print(translate("diag.summary_ok" if all_ok else "diag.summary_failed"))
    return 0 if all_ok else 1
