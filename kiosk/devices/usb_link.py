"""What every pyusb driver shares: choosing the USB backend, and libusb errors as typed errors.

The backend is named in config.toml (``usb_backend = ""`` is the system's libusb). A pyusb
backend is a Python object and cannot be written into a TOML file, so in-process backends
(the device mocks of a simulated station, tests) are registered here under a name such as
``"mock:hid_digitizer:1"``; the mock's ``start_for_station`` returns that name as the
``usb_backend`` override and the driver looks it up when it opens. The driver code that runs
is then the same as on hardware: only the object under ``usb.core.find(backend=...)`` differs.
"""

from __future__ import annotations

import errno
import threading

import usb.backend
import usb.core

from kiosk.devices.errors import (DeviceAbsent, DeviceBusy, DeviceError, DeviceProtocolError,
                                  DeviceTimeout)

_backends: dict[str, usb.backend.IBackend] = {}
_lock = threading.Lock()

# libusb error codes (libusb.h), as pyusb's libusb1 backend puts them in backend_error_code
LIBUSB_ERROR_ACCESS = -3
LIBUSB_ERROR_NO_DEVICE = -4
LIBUSB_ERROR_NOT_FOUND = -5
LIBUSB_ERROR_BUSY = -6
LIBUSB_ERROR_TIMEOUT = -7
LIBUSB_ERROR_PIPE = -9


def register_backend(name: str, backend: usb.backend.IBackend) -> None:
    """Make an in-process backend available to drivers under ``name``."""
    with _lock:
        _backends[name] = backend


def unregister_backend(name: str) -> None:
    with _lock:
        _backends.pop(name, None)


def resolve_backend(name: str, *, device: str) -> usb.backend.IBackend | None:
    """The backend called ``name``; "" means the system's libusb (None lets pyusb pick it).

    An unknown name, or no libusb on this machine, raises DeviceAbsent: the device cannot be
    reached, and the catalog code says why.
    """
    if not name:
        import usb.backend.libusb1

        backend = usb.backend.libusb1.get_backend()
        if backend is None:
            raise DeviceAbsent("usb.no_libusb", device=device)
        return backend
    with _lock:
        backend = _backends.get(name)
    if backend is None:
        raise DeviceAbsent("usb.unknown_backend", device=device, backend=name)
    return backend


def is_timeout(exc: usb.core.USBError) -> bool:
    return (isinstance(exc, usb.core.USBTimeoutError) or exc.errno == errno.ETIMEDOUT
            or exc.backend_error_code == LIBUSB_ERROR_TIMEOUT)


def is_gone(exc: usb.core.USBError) -> bool:
    """True when libusb says the device left the bus (unplugged, or reset by the kernel)."""
    return exc.errno in (errno.ENODEV, errno.ENOENT, errno.ESHUTDOWN) or exc.backend_error_code in (
        LIBUSB_ERROR_NO_DEVICE, LIBUSB_ERROR_NOT_FOUND)


def usb_error(exc: usb.core.USBError, *, device: str, usb_id: str, action: str) -> DeviceError:
    """Translate a pyusb error into the project's typed device error.

    ``usb_id`` ("vvvv:pppp") and ``action`` (what the driver was doing) go into the params so
    the technician's log says which device and which step failed.
    """
    detail = str(exc.strerror or exc)[:120]
    if is_timeout(exc):
        return DeviceTimeout(device=device, usb=usb_id, action=action)
    if is_gone(exc):
        return DeviceAbsent(device=device, usb=usb_id, action=action)
    if exc.errno == errno.EBUSY or exc.backend_error_code == LIBUSB_ERROR_BUSY:
        return DeviceBusy(device=device, usb=usb_id, action=action)
    if exc.errno == errno.EACCES or exc.backend_error_code == LIBUSB_ERROR_ACCESS:
        return DeviceAbsent("usb.access_denied", device=device, usb=usb_id, action=action)
    if exc.errno == errno.EPIPE or exc.backend_error_code == LIBUSB_ERROR_PIPE:
        # the device stalled the request: it refuses what we asked (unsupported report)
        return DeviceProtocolError("usb.stall", device=device, usb=usb_id, action=action)
    return DeviceProtocolError("usb.io_error", device=device, usb=usb_id, action=action, detail=detail)
