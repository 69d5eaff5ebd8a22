"""What is attached to this machine: serial ports, USB devices, video devices.

Used by ``kiosk devices`` and the technician screens. Nothing here opens a device; a missing
libusb backend is reported (``usb_note``), never raised.
"""

from __future__ import annotations

import glob
import os
from dataclasses import asdict, dataclass
from typing import Any

from kiosk.devices.known_ids import lookup


@dataclass(frozen=True)
class AttachedSerial:
    device: str
    description: str
    vid: str = ""
    pid: str = ""
    serial_number: str = ""
    known: str = ""


@dataclass(frozen=True)
class AttachedUsb:
    bus: int
    address: int
    vid: str
    pid: str
    known: str = ""
    kind: str = ""


@dataclass(frozen=True)
class Attached:
    serial: tuple[AttachedSerial, ...]
    usb: tuple[AttachedUsb, ...]
    #: catalog code when USB could not be listed (``diag.usb_no_backend``, ``diag.usb_error``)
    usb_note: str | None
    usb_note_detail: str
    video: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"serial": [asdict(s) for s in self.serial], "usb": [asdict(u) for u in self.usb],
                "usb_note": self.usb_note, "usb_note_detail": self.usb_note_detail, "video": list(self.video)}


def serial_ports() -> list[AttachedSerial]:
    from serial.tools import list_ports

    out = []
    for port in sorted(list_ports.comports(), key=lambda p: p.device):
        known = lookup(port.vid, port.pid)
        out.append(AttachedSerial(
            device=port.device, description=port.description or "",
            vid=f"{port.vid:04x}" if port.vid is not None else "", pid=f"{port.pid:04x}" if port.pid is not None else "",
            serial_number=port.serial_number or "", known=known.name if known else ""))
    return out


def usb_devices() -> tuple[list[AttachedUsb], str | None, str]:
    """USB devices via pyusb; (devices, note code, detail) — the note says why the list is empty."""
    try:
        import usb.core

        found = list(usb.core.find(find_all=True) or [])
    except ImportError as exc:
        return [], "diag.usb_error", str(exc)
    except Exception as exc:  # pyusb's NoBackendError and USBError: libusb missing or unusable
        name = type(exc).__name__
        return [], "diag.usb_no_backend" if name == "NoBackendError" else "diag.usb_error", f"{name}: {exc}"[:120]
    out = []
    for dev in found:
        known = lookup(dev.idVendor, dev.idProduct)
        out.append(AttachedUsb(bus=int(dev.bus or 0), address=int(dev.address or 0), vid=f"{dev.idVendor:04x}",
                               pid=f"{dev.idProduct:04x}", known=known.name if known else "",
                               kind=known.kind if known else ""))
    return sorted(out, key=lambda u: (u.bus, u.address)), None, ""


def video_devices(pattern: str = "/dev/video*") -> list[str]:
    return sorted(p for p in glob.glob(pattern) if os.path.exists(p))


def attached() -> Attached:
    usb, note, detail = usb_devices()
    return Attached(tuple(serial_ports()), tuple(usb), note, detail, tuple(video_devices()))
