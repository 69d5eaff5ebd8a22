"""The HID digitizer driver against its pyusb mock: the signature-pad contract, descriptor
handling, and property tests that random or corrupted reports and descriptors only ever give
DeviceProtocolError."""

from __future__ import annotations

import errno
import struct
from typing import Any, Iterator

import pytest
import usb.core
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from device_mocks.hid_digitizer import (PEN_REPORT_ID, REPORT_DESCRIPTOR, FakeHidDigitizer, encode_pen,
                                        hid_class_descriptor)
from device_mocks.pen_stream import PenSample
from device_mocks.usb_backend import UsbMockHandle
from kiosk.devices.errors import DeviceAbsent, DeviceProtocolError
from kiosk.devices.hid_digitizer import HidDigitizerSignatureDriver, pen_layout
from tests.devices.contract_signature import Rig, SignaturePadContract


def make_rig(device: FakeHidDigitizer, **params: Any) -> tuple[HidDigitizerSignatureDriver, UsbMockHandle]:
    handle = UsbMockHandle("test_hid", device)
    drv = HidDigitizerSignatureDriver("signature", HidDigitizerSignatureDriver.Params(
        usb_backend=handle.backend_name, read_timeout_ms=20, **params))
    return drv, handle


class TestHidDigitizerContract(SignaturePadContract):
    @pytest.fixture
    def rig(self) -> Iterator[Rig]:
        drv, handle = make_rig(FakeHidDigitizer(seed=7, rate_hz=1000, pause_s=0.2, speed_mm_s=400))

        def make(**params: Any) -> HidDigitizerSignatureDriver:
            return HidDigitizerSignatureDriver("signature-2", HidDigitizerSignatureDriver.Params(
                usb_backend=handle.backend_name, read_timeout_ms=20, **params))

        yield Rig(drv, handle, make)
        drv.close()
        handle.close()


LAYOUT = pen_layout(REPORT_DESCRIPTOR, device="pad")


def test_layout_of_the_mock_descriptor_finds_the_pen_not_the_mouse() -> None:
    assert LAYOUT.report_id == PEN_REPORT_ID
    assert LAYOUT.input_ids == {1, 2}
    assert LAYOUT.report_bytes == 8
    assert LAYOUT.x.length_mm == pytest.approx(152.0)
    assert LAYOUT.y.length_mm == pytest.approx(95.0)
    assert LAYOUT.tip is not None and LAYOUT.in_range is not None and LAYOUT.pressure is not None


def test_decode_scales_counts_to_millimetres_and_pressure() -> None:
    point = LAYOUT.decode(struct.pack("<BBHHH", 2, 0x11, 15200, 9500, 4095), 1.0, device="pad")
    assert point is not None
    assert (point.x, point.y, point.pressure, point.tip) == (pytest.approx(76.0), pytest.approx(47.5), 1.0, True)


def test_decode_of_a_mouse_report_gives_no_point() -> None:
    assert LAYOUT.decode(bytes([1, 0, 5, 5]), 1.0, device="pad") is None


def test_pen_out_of_range_is_not_touching() -> None:
    point = LAYOUT.decode(struct.pack("<BBHHH", 2, 0x01, 10, 10, 500), 1.0, device="pad")
    assert point is not None and point.tip is False and point.pressure == 0.0


def test_open_by_vendor_and_product_reports_a_descriptor_without_pen_precisely() -> None:
    class NoPen(FakeHidDigitizer):
        def control_in(self, request_type: int, request: int, value: int, index: int, length: int) -> bytes:
            return bytes.fromhex("05 01 09 02 a1 01 09 30 15 00 25 7f 75 08 95 01 81 02 c0")

    device = NoPen()
    drv, handle = make_rig(device, vendor_id=device.vendor_id, product_id=device.product_id)
    with handle, pytest.raises(DeviceProtocolError) as caught:
        drv.open()
    assert caught.value.code == "signature.no_pen"


def test_auto_detect_skips_a_device_without_pen_and_finds_none() -> None:
    class NoPen(FakeHidDigitizer):
        def control_in(self, request_type: int, request: int, value: int, index: int, length: int) -> bytes:
            return bytes.fromhex("05 01 09 02 a1 01 09 30 15 00 25 7f 75 08 95 01 81 02 c0")

    drv, handle = make_rig(NoPen())
    with handle, pytest.raises(DeviceAbsent):
        drv.open()
    assert handle.device.kernel_driver == {0: True, 1: True}  # probing gave the interface back


def test_auto_detect_never_touches_the_boot_keyboard_interface() -> None:
    drv, handle = make_rig(FakeHidDigitizer(rate_hz=1000))
    with handle, drv:
        assert handle.device.kernel_driver[1] is True
        assert 1 not in handle.device.claimed


def test_descriptor_without_units_uses_configured_size() -> None:
    # X/Y with logical ranges only: no physical range, no unit
    desc = bytes.fromhex("05 0d 09 02 a1 01 09 42 15 00 25 01 75 01 95 01 81 02 75 07 81 03"
                         "05 01 09 30 09 31 26 ff 0f 75 10 95 02 81 02 c0")
    with pytest.raises(DeviceProtocolError) as caught:
        pen_layout(desc, device="pad")
    assert caught.value.code == "signature.no_physical_size"
    layout = pen_layout(desc, device="pad", width_mm=100.0, height_mm=50.0)
    assert not layout.numbered and layout.report_bytes == 5
    point = layout.decode(bytes([1]) + struct.pack("<HH", 4095, 0), 0.0, device="pad")
    assert point is not None and (point.x, point.y, point.tip, point.pressure) == (pytest.approx(100.0), 0.0, True, 1.0)


reports = st.binary(max_size=24)


@given(reports)
@settings(max_examples=400, deadline=None)
def test_random_input_reports_give_a_point_none_or_protocol_error(report: bytes) -> None:
    try:
        point = LAYOUT.decode(report, 0.0, device="pad")
    except DeviceProtocolError as err:
        assert err.device == "pad" and err.code == "signature.bad_report"
        return
    if point is not None:
        assert 0 <= point.x <= 152.0 and 0 <= point.y <= 95.0 and 0 <= point.pressure <= 1


samples = st.builds(PenSample, st.floats(0, 152), st.floats(0, 95), st.floats(0, 1), st.booleans(), st.booleans())


@given(samples, st.integers(0, 7), st.integers(0, 255), st.integers(1, 8))
@settings(max_examples=300, deadline=None)
def test_corrupted_pen_reports_give_a_point_or_protocol_error(sample: PenSample, at: int, value: int,
                                                              cut: int) -> None:
    report = bytearray(encode_pen(sample))
    report[at] = value
    for corrupted in (bytes(report), bytes(report[:cut])):
        try:
            LAYOUT.decode(corrupted, 0.0, device="pad")
        except DeviceProtocolError:
            pass


@given(st.binary(max_size=300))
@settings(max_examples=400, deadline=None)
def test_random_descriptors_give_a_layout_or_protocol_error(descriptor: bytes) -> None:
    try:
        pen_layout(descriptor, device="pad")
    except DeviceProtocolError as err:
        assert err.device == "pad"


@given(st.integers(0, len(REPORT_DESCRIPTOR) - 1), st.integers(0, 255), st.integers(0, len(REPORT_DESCRIPTOR)))
@settings(max_examples=400, deadline=None)
def test_corrupted_real_descriptor_gives_a_layout_or_protocol_error(at: int, value: int, cut: int) -> None:
    corrupted = bytearray(REPORT_DESCRIPTOR)
    corrupted[at] = value
    for candidate in (bytes(corrupted), bytes(corrupted[:cut])):
        try:
            layout = pen_layout(candidate, device="pad")
        except DeviceProtocolError:
            continue
        assert layout.x.length_mm > 0 and layout.y.length_mm > 0


@given(st.binary(min_size=1, max_size=120))
@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_a_pad_serving_a_random_descriptor_fails_to_open_with_a_typed_error(descriptor: bytes) -> None:
    class Broken(FakeHidDigitizer):
        def control_in(self, request_type: int, request: int, value: int, index: int, length: int) -> bytes:
            return descriptor

    device = Broken(rate_hz=1000)
    device.interfaces[0].extra_descriptors = hid_class_descriptor(len(descriptor))
    drv, handle = make_rig(device, vendor_id=device.vendor_id, product_id=device.product_id)
    with handle:
        try:
            drv.open()
        except DeviceProtocolError:
            assert not drv.is_open
        else:
            drv.close()


class Forbidden(FakeHidDigitizer):
    """Another HID device this station may not open (no udev rule for it)."""

    def __init__(self) -> None:
        super().__init__(vendor_id=0x1234, product_id=0x0001, serial="OTHER")


def forbid_open(backend: Any, device: FakeHidDigitizer) -> None:
    original = backend.open_device

    def open_device(dev: Any) -> Any:
        if dev is device:
            raise usb.core.USBError("Access denied (insufficient permissions)", -3, errno.EACCES)
        return original(dev)

    backend.open_device = open_device


def test_a_forbidden_device_is_skipped_when_the_pad_is_there() -> None:
    forbidden = Forbidden()
    drv, handle = make_rig(FakeHidDigitizer(rate_hz=1000))
    handle.backend.devices.insert(0, forbidden)
    forbid_open(handle.backend, forbidden)
    with handle, drv:
        assert drv.info().serial == "HDP0001"


def test_only_a_forbidden_device_gives_access_denied_not_absent() -> None:
    forbidden = Forbidden()
    drv, handle = make_rig(forbidden)
    forbid_open(handle.backend, forbidden)
    with handle, pytest.raises(DeviceAbsent) as caught:
        drv.open()
    assert caught.value.code == "usb.access_denied" and caught.value.device == "signature"
