"""The one USB transport (kiosk/devices/usb): libusb errors become typed device errors from one table,
backends are found by one kind of name, and UsbLink finds, claims and moves bytes for pads and printer."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
import usb.core

from device_mocks.evolis import EvolisMock, EvolisUsbDevice, usb_mock
from device_mocks.usb_backend import FakeUsbBackend, UsbMockHandle
from device_mocks.usb_backend import timeout as usb_timeout
from kiosk.devices.errors import DeviceAbsent, DeviceBusy, DeviceProtocolError, DeviceTimeout
from kiosk.devices.usb import UsbLink, register_backend, resolve_backend, unregister_backend, usb_error
from kiosk.printer.evolis import EvolisPrinterDriver


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


# ---- the one transport: UsbLink, shared by the pads and the printer ---------------------------

def test_link_claims_from_the_kernel_driver_and_gives_it_back(tmp_path: Path) -> None:
    device = EvolisUsbDevice(EvolisMock(tmp_path / "evolis"))
    with UsbMockHandle("link", device) as handle:
        link = UsbLink("printer", backend_name=handle.backend_name)
        found = link.find(lambda d: d.idVendor == 0x0F49)
        assert found is not None
        link.attach(found)
        assert device.kernel_driver[0] is True  # usblp holds a freshly plugged printer
        link.claim(0)
        assert device.kernel_driver[0] is False and 0 in device.claimed
        assert link.write(0x02, b"\x1bRsn\r", 1000) == 5
        assert link.read(0x81, 64, 1000) == b"EVM0000001\r"
        assert link.read(0x81, 64, 10) == b""  # a read timeout is no data, not an error
        link.release()
        assert device.kernel_driver[0] is True and not device.claimed


def test_link_translates_an_unplug_into_device_absent(tmp_path: Path) -> None:
    device = EvolisUsbDevice(EvolisMock(tmp_path / "evolis"))
    with UsbMockHandle("link", device) as handle:
        link = UsbLink("printer", backend_name=handle.backend_name)
        link.attach(link.find(lambda d: True))
        link.claim(0)
        device.unplug()
        with pytest.raises(DeviceAbsent) as caught:
            link.write(0x02, b"\x1bRsn\r", 1000)
        assert caught.value.params["usb"] == "0f49:1001" and caught.value.params["action"] == "write"


def test_the_printer_names_its_mock_backend_the_way_the_pads_do(tmp_path: Path) -> None:
    """One meaning of usb_backend: a registered name. The old "module:factory" form is not imported."""
    mock = EvolisMock(tmp_path / "evolis")
    with usb_mock(mock) as handle:
        assert handle.overrides["usb_backend"].startswith("mock:evolis:")
        drv = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(usb_backend=handle.backend_name,
                                                                        timeout_s=0.5))
        with drv:
            assert drv.info().serial == mock.serial
    old_style = EvolisPrinterDriver("printer", EvolisPrinterDriver.Params(
        usb_backend="device_mocks.evolis:station_backend", timeout_s=0.2))
    with pytest.raises(DeviceAbsent) as caught:
        old_style.open()
    assert caught.value.code == "usb.unknown_backend"


def test_timeout_errors_from_the_fake_backend_match_libusb(tmp_path: Path) -> None:
    exc = usb_timeout()
    assert isinstance(usb_error(exc, device="d", usb_id="x", action="read"), DeviceTimeout)
