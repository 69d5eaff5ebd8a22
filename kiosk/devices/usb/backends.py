"""The one way to name a pyusb backend: ``usb_backend`` in config.toml.

``""`` is the system's libusb. Any other value is the name of an in-process backend
(``usb.backend.IBackend``: the device mocks of a simulated station, tests) registered here
with :func:`register_backend`; a mock's ``start_for_station`` returns that name as the
``usb_backend`` override and the driver looks it up when it opens. The driver code that runs
is then the same as on hardware: only the object under ``usb.core.find(backend=...)`` differs.

A pyusb backend is a Python object, so it cannot be written into a TOML file; naming it is
the whole job of this registry. (An earlier printer-only convention imported
``"module:factory"`` strings; that second meaning of ``usb_backend`` is gone.)
"""

from __future__ import annotations

import threading

import usb.backend

from kiosk.devices.errors import DeviceAbsent

_backends: dict[str, usb.backend.IBackend] = {}
_lock = threading.Lock()


def register_backend(name: str, backend: usb.backend.IBackend) -> None:
    """Make an in-process backend available to drivers under ``name``."""
    if not name:
        raise ValueError("an in-process USB backend needs a name ('' is the system's libusb)")
    with _lock:
        _backends[name] = backend


def unregister_backend(name: str) -> None:
    with _lock:
        _backends.pop(name, None)


def resolve_backend(name: str, *, device: str) -> usb.backend.IBackend:
    """The backend called ``name``; "" means the system's libusb.

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
