"""Words for diagnostics: what the operator reads (short) and what the technician reads (where and why).

An operator sees one catalog sentence ("Device jari is not connected. Check the cable..."). A
technician also sees the device, where it is attached (serial port, USB vendor:product, HTTP
address, video source) and the operating system's error by errno name and text, e.g.
``jari @ /dev/ttyUSB0: device.absent; ENOENT: No such file or directory``.
"""

from __future__ import annotations

from typing import Any

from kiosk.devices.base import Worded
from kiosk.devices.errors import os_error_text
from kiosk.errors import KioskError
from kiosk.i18n import catalog, current_language, describe, translate


def where(params: Any, error_params: dict[str, Any] | None = None) -> str:
    """Where a device is attached, from its error (preferred: it names what was tried) or its
    driver parameters: a serial port or device path, an HTTP address, a video source, a USB id."""
    ep = error_params or {}
    for key in ("port", "path", "url"):
        if ep.get(key):
            return str(ep[key])
    get = lambda name, default=None: getattr(params, name, default)  # noqa: E731
    connection = get("connection")
    if connection in ("lp",) and get("device"):
        return str(get("device"))
    if isinstance(get("port"), str) and get("port"):
        return str(get("port"))
    if get("host") is not None and isinstance(get("port"), int):
        port = get("port") or f"{get('port_first')}-{get('port_last')}"
        return f"http://{get('host')}:{port}"
    if get("source") is not None:
        return f"video {get('source')}"
    if get("vendor_id") is not None:
        vid, pid = int(get("vendor_id") or 0), int(get("product_id") or 0)
        return f"USB {f'{vid:04x}' if vid else '*'}:{f'{pid:04x}' if pid else '*'}"
    for key in ("printer", "uri", "device"):
        if get(key):
            return str(get(key))
    return "-"


def technical_line(exc: BaseException, *, device: str = "", params: Any = None) -> str:
    """One line for the technician: device @ where: code (parameters); OS error."""
    if isinstance(exc, KioskError):
        p = {k: v for k, v in exc.params.items() if k not in ("os_error",)}
        device = str(p.pop("device", device) or device)
        place = where(params, exc.params)
        inner = ", ".join(f"{k}={v}" for k, v in p.items() if k not in ("port",))
        line = f"{device or '?'} @ {place}: {exc.code}" + (f" ({inner})" if inner else "")
        # drivers that do not name it themselves raised from the OS error: it is the context
        os_error = exc.params.get("os_error") or os_error_text(exc)
        return line + (f"; {os_error}" if os_error else "")
    os_error = os_error_text(exc)
    return f"{device or '?'} @ {where(params)}: {type(exc).__name__}: {exc}"[:300] + (f"; {os_error}" if os_error else "")


def error_words(exc: BaseException, *, device: str = "", params: Any = None) -> dict[str, Any]:
    """An error as diagnostics report it: code, parameters, the operator's sentence, the
    technician's line."""
    code = exc.code if isinstance(exc, KioskError) else "error.unexpected"
    raw = exc.params if isinstance(exc, KioskError) else {"kind": type(exc).__name__}
    return {"code": code, "params": {k: str(v) for k, v in raw.items()}, "message": describe(exc),
            "technical": technical_line(exc, device=device, params=params)}


def detail_words(detail: str) -> str:
    """A self-test or capture detail in the station's language: a :class:`Worded` detail or a
    catalog code is translated; anything else is a value (a number, a model name) and stays."""
    if isinstance(detail, Worded):
        return translate(detail.code, **detail.params)
    if detail and detail in catalog(current_language()):
        return translate(detail)
    return detail


def check_words(code: str) -> str:
    """A self-test check's name: its catalog entry, or the code when a driver has none yet."""
    return translate(code) if code in catalog("en") else code
