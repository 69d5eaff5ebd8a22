"""Worker-side helpers that ask devices and the network for their state (no Textual widgets)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from kiosk.devices.errors import DeviceError
from kiosk.errors import KioskError
from kiosk.tui.messages import DeviceProblem, DeviceReport

log = logging.getLogger(__name__)

#: one lock per device for opening it: the screens' workers open devices from several threads (the
#: home screen's poll and the face step's camera worker opened the camera at the same time, and the
#: second open stopped the first one's reader before it had started: tui_day)
_open_locks: dict[int, threading.Lock] = {}
_open_locks_guard = threading.Lock()


def _opening(dev: Any) -> threading.Lock:
    with _open_locks_guard:
        return _open_locks.setdefault(id(dev), threading.Lock())


def device_report(devices: Any, name: str, *, open_first: bool = False) -> DeviceReport:
    """Ask one configured device for its status; every failure becomes a report, never an exception.

    ``open_first``: open a closed device before asking (the home screen shows whether the station is
    ready to enroll, which a closed device cannot tell)."""
    try:
        dev = devices.get(name)
    except ImportError as exc:
        log.info("driver for %s not importable: %s", name, exc)
        return DeviceReport(name, "?", None, "tui.device.driver_missing", {"module": exc.name or str(exc)})
    except KioskError as exc:
        return DeviceReport(name, "?", None, exc.code, dict(exc.params))
    try:
        if open_first:
            open_device(dev)
        return DeviceReport(name, dev.kind, dev.status())
    except DeviceError as exc:
        return DeviceReport(name, dev.kind, None, exc.code, dict(exc.params))
    except Exception as exc:  # a driver bug must not take the home screen down
        log.exception("status of %s failed", name)
        return DeviceReport(name, dev.kind, None, "error.unexpected", {"kind": type(exc).__name__})


def open_device(dev: Any) -> None:
    """Open a device if needed (in a worker; one thread at a time per device)."""
    with _opening(dev):
        if not dev.is_open:
            dev.open()


def reopen_device(dev: Any) -> None:
    """After an error (e.g. unplugged and plugged back): close, then open again."""
    with _opening(dev):
        try:
            dev.close()
        except Exception:  # closing a vanished device may fail; opening again is what matters
            log.debug("close before reopen failed", exc_info=True)
        dev.open()


def device_of_kind(devices: Any, kind: str, missing: str) -> Any:
    """The station's device of one kind for a capture step.

    Raises FeatureUnavailable (``missing`` names what is not configured, or ``driver`` when the
    driver module is not installed), or the KioskError the registry raised (bad config, mock start)."""
    from kiosk.tui.services import FeatureUnavailable

    try:
        dev = devices.of_kind(kind)
    except ImportError as exc:
        log.info("driver for %s not importable: %s", kind, exc)
        raise FeatureUnavailable(feature="driver") from None
    if dev is None:
        raise FeatureUnavailable(feature=missing)
    return dev


def worker_failure(kind: str, exc: BaseException) -> DeviceProblem:
    """Any failure inside a capture worker becomes a message: the app never crashes, the draft stays."""
    if not isinstance(exc, KioskError):
        log.exception("unexpected failure in the %s worker", kind)
    return DeviceProblem(kind, exc)
