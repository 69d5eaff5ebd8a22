"""The diagnostics procedure: per device open, info, self-test, one test capture, close; each step
timed, every failure in words for the operator and in detail for the technician.

Used by ``kiosk diag`` in its own process, by the TUI's diagnostics screen step by step, and by a
running kiosk answering ``kiosk diag`` over its control socket (:mod:`kiosk.diagnostics.control`):
a device that is already open (the UI holds it) is used as it is and left open.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Protocol

from kiosk.devices.base import Device, Worded
from kiosk.devices.protocols import Camera, CardPrinter, FingerprintScanner, IrisScanner, SignaturePad
from kiosk.diagnostics.words import check_words, detail_words, error_words, where
from kiosk.errors import KioskError
from kiosk.i18n import translate

#: the steps of a full run, in order (catalog ``diag.step.<step>``)
STEPS = ("build", "open", "info", "self_test", "capture", "close")


class DeviceSource(Protocol):
    """What diagnostics need of a device set (kiosk.devices.registry.DeviceSet fits)."""

    def get(self, name: str) -> Device: ...
    def names(self) -> list[str]: ...


@dataclass
class StepResult:
    step: str
    ok: bool
    seconds: float
    #: on success: the detail in the station's language
    detail: str = ""
    #: on failure: code, params, message (operator), technical (technician)
    error: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"step": self.step, "ok": self.ok, "seconds": self.seconds}
        if self.ok:
            out["detail"] = self.detail
        else:
            out.update(self.error)
        return out


@dataclass
class DeviceDiagnosis:
    name: str
    kind: str | None
    where: str
    steps: list[StepResult]
    #: the device's last exchanges (decoded, with times), failures included
    exchanges: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.ok for s in self.steps)

    def as_dict(self, *, exchanges: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "where": self.where, "ok": self.ok,
                               "steps": [s.as_dict() for s in self.steps]}
        if exchanges:
            out["hexdump"] = self.exchanges
        return out


def timed(step: str, fn: Callable[[], str], *, device: str = "", params: Any = None,
          log: Any = None) -> StepResult:
    """Run one step; a failure is the result (with the technician's line kept in the device's log)."""
    started = time.monotonic()
    try:
        detail = fn()
    except Exception as exc:  # a failed step is the result; diagnostics go on to tell the rest
        result = StepResult(step, False, round(time.monotonic() - started, 4),
                            error=error_words(exc, device=device, params=params))
        if log is not None:
            log.failure(f"{step}: {result.error['technical']}")
        return result
    return StepResult(step, True, round(time.monotonic() - started, 4), detail=detail_words(detail))


def capture_summary(drv: Device, timeout_s: float) -> str:
    """One capture in the device's own way; what came back, in words (never a printed card)."""
    if isinstance(drv, FingerprintScanner):
        img = drv.capture(0, timeout_s=timeout_s)
        h, w = img.pixels.shape[:2]
        return Worded("diag.capture.finger", f"{w}x{h} px, {img.ppi} ppi", width=w, height=h, ppi=img.ppi)
    if isinstance(drv, IrisScanner):
        eyes = drv.capture_irises(timeout_s=timeout_s)
        h, w = eyes[0].pixels.shape[:2] if eyes else (0, 0)
        scores = [str(e.device_quality) if e.device_quality is not None else "-" for e in eyes]
        return Worded("diag.capture.iris", f"{len(eyes)} eyes, {w}x{h} px, device quality {'/'.join(scores)}",
                      eyes=len(eyes), width=w, height=h, quality="/".join(scores))
    if isinstance(drv, Camera):
        frame = drv.latest(timeout_s=timeout_s)
        h, w = frame.image.shape[:2]
        return Worded("diag.capture.frame", f"{w}x{h} frame #{frame.seq}", width=w, height=h, seq=frame.seq)
    if isinstance(drv, SignaturePad):
        points = drv.read_points(timeout_s=min(timeout_s, 0.5))
        width, height = drv.writing_area_mm()
        return Worded("diag.capture.pen", f"{len(points)} points, {width:.0f}x{height:.0f} mm", points=len(points),
                      width=f"{width:.0f}", height=f"{height:.0f}")
    if isinstance(drv, CardPrinter):
        s = drv.supplies()
        unknown = translate("diag.unknown")
        cards = unknown if s.cards_in_hopper is None else s.cards_in_hopper
        ribbon = unknown if s.ribbon_panels_left is None else s.ribbon_panels_left
        return Worded("diag.capture.printer", f"cards {cards}, ribbon {ribbon}", cards=cards, ribbon=ribbon)
    return "-"


def self_test_summary(drv: Device) -> str:
    """The driver's self-test in words; raises ``diag.self_test_failed`` naming the failed checks."""
    result = drv.self_test()
    parts = []
    for code, ok, detail in result.checks:
        words = detail_words(detail)
        parts.append(f"{check_words(code)}: {translate('diag.check_ok' if ok else 'diag.check_fail')}"
                     + (f" ({words})" if words else ""))
    if not result.passed:
        raise KioskError("diag.self_test_failed", device=drv.name, checks="; ".join(parts))
    return "; ".join(parts)


def info_summary(drv: Device) -> str:
    i = drv.info()
    return f"{i.vendor} {i.model} {i.serial} {i.firmware}".strip()


def diagnose(devices: DeviceSource, name: str, *, capture_timeout_s: float = 10.0) -> DeviceDiagnosis:
    """The full procedure for one configured device. A device already open (held by the running
    UI) is used as it is and stays open; one this run opened is closed again."""
    steps: list[StepResult] = []
    holder: list[Device] = []

    def build() -> str:
        holder.append(devices.get(name))
        return type(holder[0]).__name__

    steps.append(timed("build", build, device=name))
    if not holder:
        return DeviceDiagnosis(name, None, "-", steps)
    drv = holder[0]
    ctx: dict[str, Any] = {"device": name, "params": drv.params, "log": drv.log}
    was_open = drv.is_open

    def open_() -> str:
        if not was_open:
            drv.open()
        return translate(f"diag.state.{drv.status().state}")

    steps.append(timed("open", open_, **ctx))
    if steps[-1].ok:
        steps.append(timed("info", lambda: info_summary(drv), **ctx))
        steps.append(timed("self_test", lambda: self_test_summary(drv), **ctx))
        steps.append(timed("capture", lambda: capture_summary(drv, capture_timeout_s), **ctx))
        if not was_open:
            steps.append(timed("close", lambda: (drv.close(), "")[1], **ctx))
    return DeviceDiagnosis(name, drv.kind, where(drv.params), steps, exchanges=drv.log.hexdump())


@dataclass
class StatusRow:
    name: str
    driver: str
    mock: str | None
    kind: str | None = None
    where: str = "-"
    state: str = "error"
    reason: str | None = None
    info: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None or k in ("mock", "reason")}


def status_row(devices: DeviceSource, name: str, driver: str, mock: str | None) -> StatusRow:
    """A configured device's status and identity; a device this call opened is closed again."""
    row = StatusRow(name, driver, mock)
    drv: Device | None = None
    try:
        drv = devices.get(name)
        row.kind, row.where = drv.kind, where(drv.params)
        was_open = drv.is_open
        if not was_open:
            drv.open()
        try:
            status = drv.status()
            info = drv.info()
        finally:
            if not was_open:
                drv.close()
        row.state, row.reason = str(status.state), status.reason
        row.info = {"vendor": info.vendor, "model": info.model, "serial": info.serial, "firmware": info.firmware}
    except Exception as exc:  # any failure is this device's status, the listing goes on
        row.error = error_words(exc, device=name, params=drv.params if drv is not None else None)
        row.state, row.reason = ("absent" if row.error["code"] == "device.absent" else "error"), row.error["code"]
    return row
