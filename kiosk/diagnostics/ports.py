"""The Port list: the serial ports the configuration names (what a technician must find) next to
the serial ports the machine has (pyserial's list, which leaves out pseudo-terminals and
unconfigured legacy ports). A configured port that does not exist is said so with the OS error."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kiosk.devices.discovery import AttachedSerial, serial_ports


@dataclass(frozen=True)
class ConfiguredPort:
    device: str
    port: str
    exists: bool
    #: where a symlink (a udev name, the mock's stable link) points
    resolves_to: str = ""
    #: errno name and text when the port cannot be found or read
    os_error: str = ""


def configured_ports(devices: list[tuple[str, Any]]) -> list[ConfiguredPort]:
    """``devices``: (configured name, driver parameters) of each device; those with a serial port
    (a path, not a pyserial URL such as ``loop://``) are listed."""
    import errno as errno_names

    out = []
    for name, params in devices:
        port = getattr(params, "port", None)
        if getattr(params, "connection", "serial") not in ("serial",) or not isinstance(port, str) or not port:
            continue
        path = port.split("://", 1)[1] if port.startswith("spy://") else port
        if "://" in path:
            out.append(ConfiguredPort(name, port, True, resolves_to=path))
            continue
        try:
            os.stat(path)
            resolved = str(Path(path).resolve())
            out.append(ConfiguredPort(name, port, True, resolves_to=resolved if resolved != path else ""))
        except OSError as exc:
            code = errno_names.errorcode.get(exc.errno or 0, str(exc.errno))
            out.append(ConfiguredPort(name, port, False, os_error=f"{code}: {exc.strerror}"))
    return out


def port_list(devices: list[tuple[str, Any]]) -> dict[str, Any]:
    system: list[AttachedSerial] = serial_ports()
    return {"configured": [asdict(p) for p in configured_ports(devices)], "system": [asdict(s) for s in system]}
