"""libusb errors become the project's typed device errors; backends are found by name."""

from __future__ import annotations

import errno

import pytest
import usb.core

from device_mocks.usb_backend import FakeUsbBackend
from kiosk.devices.errors import DeviceAbsent, DeviceBusy, DeviceProtocolError, DeviceTimeout
from kiosk.devices.usb import register_backend, resolve_backend, unregister_backend, usb_error


@pytest.mark.parametrize("exc, kind, code", [
    (usb.core.USBError("No such device", -4, errno.ENODEV), DeviceAbsent, "device.absent"),
    (usb.core.USBError("Entity not found", -5, None), DeviceAbsent, "device.absent"),
    (usb.core.USBTimeoutError("Operation timed out", -7, errno.ETIMEDOUT), DeviceTimeout, "device.timeout"),
    (usb.core.USBError("Resource busy", -6, errno.EBUSY), DeviceBusy, "device.busy"),
    (usb.core.USBError("Access denied", -3, errno.EACCES), DeviceAbsent, "usb.access_denied"),
    (usb.core.USBError("Pipe error", -9, errno.EPIPE), DeviceProtocolError, "usb.stall"),
    (usb.core.USBError("Input/Output Error", -1, errno.EIO), DeviceProtocolError, "usb.io_error"),
])
def test_libusb_errors_map_to_typed_errors_naming_the_device(exc: usb.core.USBError, kind: type,
                                                            code: str) -> None:
    err = usb_error(exc, device="signature", usb_id="056a:00a5", action="read report")
    assert type(err) is kind and err.code == code
    assert err.device == "signature" and err.params["usb"] == "056a:00a5"


def test_backends_are_resolved_by_name_and_unknown_names_are_absent() -> None:
    backend = FakeUsbBackend()
    register_backend("mock:test:1", backend)
    try:
        assert resolve_backend("mock:test:1", device="pad") is backend
    finally:
        unregister_backend("mock:test:1")
    with pytest.raises(DeviceAbsent) as caught:
        resolve_backend("mock:test:1", device="pad")
    assert caught.value.code == "usb.unknown_backend"
