"""One claimed USB interface: find the device, claim it, move bytes, give it back.

Every pyusb driver (the signature pads, the Evolis printer's USB connection) goes through
:class:`UsbLink`, so finding, claiming, endpoint I/O and error translation are written once:

- :meth:`UsbLink.find`: the first device the driver's ``match`` accepts, on the backend named
  by ``usb_backend`` (:mod:`kiosk.devices.usb.backends`);
- :meth:`UsbLink.claim`: detach the kernel's driver (usbhid, usblp) if it holds the interface
  (given back on release), then claim it;
- :meth:`UsbLink.read` / :meth:`UsbLink.write`: bulk or interrupt transfers on an endpoint
  (pyusb picks the transfer type from the endpoint descriptor); a timeout on read is ``b""``;
- :meth:`UsbLink.call`: any other pyusb call (control transfers, descriptors), every
  ``USBError`` translated by :func:`kiosk.devices.usb.errors.usb_error`.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

import usb.core
import usb.util

from kiosk.devices.errors import DeviceAbsent, DeviceProtocolError
from kiosk.devices.usb.backends import resolve_backend
from kiosk.devices.usb.errors import is_gone, is_timeout, usb_error

T = TypeVar("T")


class UsbLink:
    """The USB side of one driver. ``device`` is the configured name (for errors)."""

    def __init__(self, device: str, *, backend_name: str = "") -> None:
        self.device = device
        self.backend_name = backend_name
        self.dev: usb.core.Device | None = None
        self.interface: int | None = None
        self.usb_id = "????:????"
        self._detached = False

    # -- errors --------------------------------------------------------------------------------
    def call(self, action: str, fn: Callable[[], T]) -> T:
        """Run one pyusb call, turning its errors into typed device errors."""
        try:
            return fn()
        except usb.core.USBError as exc:
            raise usb_error(exc, device=self.device, usb_id=self.usb_id, action=action) from exc
        except (ValueError, NotImplementedError) as exc:
            # pyusb raises ValueError when descriptors don't hold what was asked
            raise DeviceProtocolError(device=self.device, usb=self.usb_id, action=action,
                                      detail=str(exc)[:120]) from exc

    # -- finding -------------------------------------------------------------------------------
    def backend(self) -> Any:
        return resolve_backend(self.backend_name, device=self.device)

    def find(self, match: Callable[[usb.core.Device], bool], *, wanted: str = "any") -> usb.core.Device | None:
        """The first device ``match`` accepts (None if none). A device that refuses to be looked
        at (no permission) is skipped; if nothing matched, that refusal is what is raised."""
        backend = self.backend()
        refused: usb.core.USBError | None = None
        try:
            for dev in usb.core.find(find_all=True, backend=backend):
                try:
                    if match(dev):
                        return dev  # type: ignore[no-any-return]
                except usb.core.USBError as exc:
                    if not is_gone(exc):  # gone = unplugged while we looked at it
                        refused = exc
        except usb.core.USBError as exc:
            raise usb_error(exc, device=self.device, usb_id=wanted, action="enumerate") from exc
        except usb.core.NoBackendError:
            raise DeviceAbsent("usb.no_libusb", device=self.device) from None
        if refused is not None:
            raise usb_error(refused, device=self.device, usb_id=wanted, action="probe")
        return None

    def attach(self, dev: usb.core.Device) -> None:
        """Use ``dev`` (found by :meth:`find`) from now on."""
        self.dev = dev
        self.usb_id = f"{dev.idVendor:04x}:{dev.idProduct:04x}"

    def still_present(self) -> bool:
        """Is the attached device still on the bus (same ids, same address)? Enumerates only:
        probing it again would fight our own claim on its interface."""
        dev = self.dev
        if dev is None:
            return False
        found = usb.core.find(backend=self.backend(), idVendor=dev.idVendor, idProduct=dev.idProduct,
                              custom_match=lambda d: (d.bus, d.address) == (dev.bus, dev.address))
        return found is not None

    # -- claiming ------------------------------------------------------------------------------
    def claim(self, interface: int) -> None:
        dev = self.require()
        if self.call("kernel driver", lambda: dev.is_kernel_driver_active(interface)):
            # the OS bound its driver (usbhid, usblp); take it so data reaches us, give it back on release
            self.call("detach kernel driver", lambda: dev.detach_kernel_driver(interface))
            self._detached = True
        self.call("claim interface", lambda: usb.util.claim_interface(dev, interface))
        self.interface = interface

    def release(self) -> None:
        """Give the interface back (and the kernel's driver); an unplugged device is fine."""
        dev, self.dev = self.dev, None
        if dev is None:
            return
        try:
            if self.interface is not None:
                usb.util.release_interface(dev, self.interface)
                if self._detached:
                    dev.attach_kernel_driver(self.interface)
        except (usb.core.USBError, NotImplementedError):
            pass  # unplugged: nothing left to release
        finally:
            self._detached = False
            self.interface = None
            usb.util.dispose_resources(dev)

    def require(self) -> usb.core.Device:
        if self.dev is None:
            raise DeviceAbsent(device=self.device, usb=self.usb_id)
        return self.dev

    # -- transfers -----------------------------------------------------------------------------
    def read(self, endpoint: Any, size: int, timeout_ms: int) -> bytes:
        """Up to ``size`` bytes from an IN endpoint (address or descriptor); b"" on timeout."""
        dev = self.require()
        try:
            return bytes(dev.read(endpoint, size, timeout=max(1, timeout_ms)))
        except usb.core.USBError as exc:
            if is_timeout(exc):
                return b""
            raise usb_error(exc, device=self.device, usb_id=self.usb_id, action="read") from exc

    def write(self, endpoint: Any, data: bytes, timeout_ms: int) -> int:
        dev = self.require()
        return int(self.call("write", lambda: dev.write(endpoint, data, timeout=max(1, timeout_ms))))


def find_endpoint(intf: Any, direction: int, transfer: int | None = None) -> Any:
    """The first endpoint of ``intf`` going ``direction`` (usb.util.ENDPOINT_IN/OUT), of
    ``transfer`` type (usb.util.ENDPOINT_TYPE_*) when given."""
    for ep in intf:
        if usb.util.endpoint_direction(ep.bEndpointAddress) != direction:
            continue
        if transfer is None or usb.util.endpoint_type(ep.bmAttributes) == transfer:
            return ep
    return None

