"""libusb errors as the project's typed device errors, from one table.

pyusb raises ``usb.core.USBError`` with ``errno`` (the POSIX code the libusb1 backend maps to)
and ``backend_error_code`` (libusb.h's ``LIBUSB_ERROR_*``), and ``USBTimeoutError`` for
timeouts. Backends fill one, the other or both, so each row of :data:`ERROR_TABLE` matches on
either. References: libusb.h (``enum libusb_error``) and pyusb's ``usb/backend/libusb1.py``
(``_libusb_errno`` table).
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Callable

import usb.core

from kiosk.devices.errors import DeviceAbsent, DeviceBusy, DeviceError, DeviceProtocolError, DeviceTimeout

# libusb error codes (libusb.h), as pyusb's libusb1 backend puts them in backend_error_code
LIBUSB_ERROR_IO = -1
LIBUSB_ERROR_ACCESS = -3
LIBUSB_ERROR_NO_DEVICE = -4
LIBUSB_ERROR_NOT_FOUND = -5
LIBUSB_ERROR_BUSY = -6
LIBUSB_ERROR_TIMEOUT = -7
LIBUSB_ERROR_PIPE = -9


@dataclass(frozen=True)
class ErrorRule:
    """One row: the errnos and libusb codes it matches, and the typed error it becomes."""

    what: str
    errnos: frozenset[int]
    libusb_codes: frozenset[int]
    make: Callable[[str, dict[str, str]], DeviceError]

    def matches(self, exc: usb.core.USBError) -> bool:
        return exc.errno in self.errnos or exc.backend_error_code in self.libusb_codes


def _rule(what: str, errnos: set[int], codes: set[int], make: Callable[[str, dict[str, str]], DeviceError]) -> ErrorRule:
    return ErrorRule(what, frozenset(errnos), frozenset(codes), make)


#: first matching row wins; anything else is ``usb.io_error``
ERROR_TABLE: tuple[ErrorRule, ...] = (
    _rule("timeout", {errno.ETIMEDOUT}, {LIBUSB_ERROR_TIMEOUT},
          lambda device, p: DeviceTimeout(device=device, **p)),
    # the device left the bus (unplugged, or reset by the kernel)
    _rule("gone", {errno.ENODEV, errno.ENOENT, errno.ESHUTDOWN}, {LIBUSB_ERROR_NO_DEVICE, LIBUSB_ERROR_NOT_FOUND},
          lambda device, p: DeviceAbsent(device=device, **p)),
    # another program (or the kernel's driver) holds the interface
    _rule("busy", {errno.EBUSY}, {LIBUSB_ERROR_BUSY}, lambda device, p: DeviceBusy(device=device, **p)),
    _rule("access", {errno.EACCES, errno.EPERM}, {LIBUSB_ERROR_ACCESS},
          lambda device, p: DeviceAbsent("usb.access_denied", device=device, **p)),
    # the device stalled the request: it refuses what we asked (unsupported report or command)
    _rule("stall", {errno.EPIPE}, {LIBUSB_ERROR_PIPE},
          lambda device, p: DeviceProtocolError("usb.stall", device=device, **p)),
)


def classify(exc: usb.core.USBError) -> str:
    """The name of the table row ``exc`` matches ("timeout", "gone", ...; "io" otherwise)."""
    if isinstance(exc, usb.core.USBTimeoutError):
        return "timeout"
    for rule in ERROR_TABLE:
        if rule.matches(exc):
            return rule.what
    return "io"


def is_timeout(exc: usb.core.USBError) -> bool:
    return classify(exc) == "timeout"


def is_gone(exc: usb.core.USBError) -> bool:
    """True when libusb says the device left the bus (unplugged, or reset by the kernel)."""
    return classify(exc) == "gone"


def is_access_denied(exc: usb.core.USBError) -> bool:
    return classify(exc) == "access"


def usb_error(exc: usb.core.USBError, *, device: str, usb_id: str, action: str) -> DeviceError:
    """Translate a pyusb error into the project's typed device error.

    ``usb_id`` ("vvvv:pppp") and ``action`` (what the driver was doing) go into the params so
    the technician's log says which device and which step failed.
    """
    params = {"usb": usb_id, "action": action}
    what = classify(exc)
    for rule in ERROR_TABLE:
        if rule.what == what:
            return rule.make(device, params)
    detail = str(exc.strerror or exc)[:120]
    return DeviceProtocolError("usb.io_error", device=device, detail=detail, **params)
