"""``kiosk devices`` (what is configured and attached) and ``kiosk diag`` (technician checks).

``kiosk diag [DEVICE]`` runs, per configured device: open, info, self-test, one test capture
(kind-specific: a finger image, a camera frame, pen points, the printer's supplies — never a
printed card), close; each step timed. Exit 0 only when every step of every device passed.
``--hexdump`` adds the device's last protocol exchange. Devices come from config.toml through
:func:`kiosk.composition.device_set`, which starts the mocks of a simulated station.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Callable

from kiosk.cli.arguments import JSON_HELP
from kiosk.cli.context import config_from, print_json
from kiosk.devices.base import Device
from kiosk.devices.discovery import attached
from kiosk.devices.protocols import Camera, CardPrinter, FingerprintScanner, SignaturePad
from kiosk.composition import device_set
from kiosk.devices.registry import DeviceSet
from kiosk.errors import InputError, KioskError
from kiosk.i18n import describe, translate


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("devices", help="configured devices with their status, and what is attached")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_devices)

    p = sub.add_parser("diag", help="check devices: open, info, self-test, one test capture")
    p.add_argument("device", nargs="?", help="only this configured device")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.add_argument("--hexdump", action="store_true", help="show each device's last protocol exchange")
    p.add_argument("--capture-timeout", type=float, default=10.0, metavar="S",
                   help="seconds the test capture waits (default 10)")
    p.set_defaults(func=cmd_diag)


def _error(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, KioskError):
        return {"code": exc.code, "params": {k: str(v) for k, v in exc.params.items()}, "message": describe(exc)}
    return {"code": "error.unexpected", "params": {"kind": type(exc).__name__}, "message": describe(exc)}


def _configured_status(devices: DeviceSet, name: str) -> dict[str, Any]:
    row: dict[str, Any] = {"name": name}
    dev_cfg = devices.cfg.device(name)
    assert dev_cfg is not None
    row.update(driver=dev_cfg.driver, mock=dev_cfg.mock)
    try:
        drv = devices.get(name)
        row["kind"] = drv.kind
        with drv:
            status = drv.status()
            info = drv.info()
        row.update(state=str(status.state), reason=status.reason,
                   info={"vendor": info.vendor, "model": info.model, "serial": info.serial, "firmware": info.firmware})
    except Exception as exc:  # any failure is this device's status, the listing goes on
        err = _error(exc)
        row.update(state="absent" if err["code"] == "device.absent" else "error", reason=err["code"], error=err)
    return row


def cmd_devices(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    with device_set(cfg) as devices:
        configured = [_configured_status(devices, n) for n in devices.names()]
    found = attached()
    if args.json:
        print_json({"configured": configured, "attached": found.as_dict()})
        return 0
    print(translate("diag.configured"))
    if not configured:
        print("  " + translate("diag.none"))
    for row in configured:
        state = translate(f"diag.state.{row['state']}")
        line = f"  {row['name']:14} {row.get('kind', '?'):12} {row['driver']:10} {state}"
        if row.get("mock"):
            line += f"  ({translate('diag.mock', mock=row['mock'])})"
        print(line)
        if "info" in row:
            print(f"      {row['info']['vendor']} {row['info']['model']} {row['info']['serial']}".rstrip())
        if "error" in row:
            print(f"      {row['error']['message']}")
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


def capture_summary(drv: Device, timeout_s: float) -> str:
    """One capture in the device's own way; a short description of what came back."""
    if isinstance(drv, FingerprintScanner):
        img = drv.capture(0, timeout_s=timeout_s)
        h, w = img.pixels.shape[:2]
        return f"{w}x{h} px, {img.ppi} ppi"
    if isinstance(drv, Camera):
        frame = drv.latest(timeout_s=timeout_s)
        h, w = frame.image.shape[:2]
        return f"{w}x{h} frame #{frame.seq}"
    if isinstance(drv, SignaturePad):
        points = drv.read_points(timeout_s=min(timeout_s, 0.5))
        width, height = drv.writing_area_mm()
        return f"{len(points)} points, {width:.0f}x{height:.0f} mm"
    if isinstance(drv, CardPrinter):
        s = drv.supplies()
        return f"cards {s.cards_in_hopper}, ribbon {s.ribbon_panels_left}"
    return "-"


def _diag_one(devices: DeviceSet, name: str, capture_timeout: float, hexdump: bool) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    drv: Device | None = None

    def step(code: str, fn: Callable[[], str]) -> bool:
        started = time.monotonic()
        try:
            detail = fn()
        except Exception as exc:  # a failed step is the result; diag goes on to tell the rest
            steps.append({"step": code, "ok": False, "seconds": round(time.monotonic() - started, 4), **_error(exc)})
            return False
        steps.append({"step": code, "ok": True, "seconds": round(time.monotonic() - started, 4), "detail": detail})
        return True

    def build() -> str:
        nonlocal drv
        drv = devices.get(name)
        return f"{type(drv).__name__}"

    def open_() -> str:
        assert drv is not None
        drv.open()
        return translate(f"diag.state.{drv.status().state}")

    def info() -> str:
        assert drv is not None
        i = drv.info()
        return f"{i.vendor} {i.model} {i.serial} {i.firmware}".strip()

    def self_test() -> str:
        assert drv is not None
        result = drv.self_test()
        parts = [f"{translate(code)}: {'ok' if ok else 'FAIL'} ({detail})" for code, ok, detail in result.checks]
        if not result.passed:
            raise KioskError("diag.self_test_failed", device=name, checks="; ".join(parts))
        return "; ".join(parts)

    ok = step("build", build) and step("open", open_)
    if ok:
        step("info", info)
        step("self_test", self_test)
        step("capture", lambda: capture_summary(drv, capture_timeout))  # type: ignore[arg-type]
        step("close", lambda: (drv.close(), "")[1])  # type: ignore[union-attr]
    row: dict[str, Any] = {"name": name, "kind": drv.kind if drv else None, "ok": all(s["ok"] for s in steps),
                           "steps": steps}
    if hexdump and drv is not None:
        row["hexdump"] = drv.last_exchange()
    return row


def cmd_diag(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    names = [d.name for d in cfg.devices]
    if args.device is not None and args.device not in names:
        raise InputError("diag.unknown_device", device=args.device, known=", ".join(names) or "-")
    chosen = [args.device] if args.device else names
    with device_set(cfg) as devices:
        rows = [_diag_one(devices, n, args.capture_timeout, args.hexdump) for n in chosen]
    all_ok = bool(rows) and all(r["ok"] for r in rows)
    if args.json:
        print_json({"ok": all_ok, "devices": rows})
        return 0 if all_ok else 1
    if not rows:
        print(translate("diag.no_devices"))
    for row in rows:
        print(f"{row['name']} ({row['kind'] or '?'}): {translate('diag.pass' if row['ok'] else 'diag.fail')}")
        for s in row["steps"]:
            mark = "ok  " if s["ok"] else "FAIL"
            text = s.get("detail") if s["ok"] else s["message"]
            print(f"  [{mark}] {translate('diag.step.' + s['step']):22} {s['seconds'] * 1000:8.1f} ms  {text}")
        if "hexdump" in row:
            print("  " + translate("diag.hexdump"))
            for line in (row["hexdump"] or translate("diag.none")).splitlines():
                print(f"    {line}")
    print(translate("diag.summary_ok" if all_ok else "diag.summary_failed"))
    return 0 if all_ok else 1
