"""The Wacom STU driver against its pyusb mock: the signature-pad contract, the STU feature
reports, and property tests that random or corrupted reports only give DeviceProtocolError."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from device_mocks.pen_stream import PenSample
from device_mocks.usb_backend import UsbMockHandle
from device_mocks.wacom_stu import MODELS, FakeWacomStu
from kiosk.devices.errors import DeviceAbsent, DeviceProtocolError
from kiosk.devices.wacom_stu import Capability, WacomStuSignatureDriver, decode_pen_report
from tests.devices.contract_signature import Rig, SignaturePadContract, lifts, read_until


def make_rig(device: FakeWacomStu, **params: Any) -> tuple[WacomStuSignatureDriver, UsbMockHandle]:
    handle = UsbMockHandle("test_stu", device)
    drv = WacomStuSignatureDriver("signature", WacomStuSignatureDriver.Params(
        usb_backend=handle.backend_name, read_timeout_ms=20, **params))
    return drv, handle


class TestWacomStuContract(SignaturePadContract):
    @pytest.fixture(params=sorted(MODELS))
    def rig(self, request: pytest.FixtureRequest) -> Iterator[Rig]:
        drv, handle = make_rig(FakeWacomStu(request.param, seed=11, rate_hz=1000, pause_s=0.2, speed_mm_s=400))

        def make(**params: Any) -> WacomStuSignatureDriver:
            return WacomStuSignatureDriver("signature-2", WacomStuSignatureDriver.Params(
                usb_backend=handle.backend_name, read_timeout_ms=20, **params))

        yield Rig(drv, handle, make)
        drv.close()
        handle.close()

    def screen_was_cleared(self, rig: Rig, clears_before: int) -> bool | None:
        return bool(rig.device.clears == clears_before + 1 and rig.device.ink == [])


CAP = Capability(10800, 6480, 1023, 800, 480, 200, 2540, 0x0F)


def test_open_reads_capability_clears_screen_and_turns_inking_on() -> None:
    drv, handle = make_rig(FakeWacomStu("STU-540", rate_hz=1000))
    with handle, drv:
        pad = handle.device
        assert pad.clears == 1 and pad.inking is True
        assert pad.area == (0, 0, 799, 479)
        assert drv.writing_area_mm() == (pytest.approx(108.0), pytest.approx(64.8))
        info = drv.info()
        assert (info.model, info.firmware) == ("STU-540", "1.08")
        read_until(drv, lambda pts: len(pts) > 20)
        assert pad.ink  # the pad shows what is being signed
    assert pad.inking is False and pad.ink == []  # closing leaves the pad blank


def test_inking_off_keeps_the_pad_screen_empty() -> None:
    drv, handle = make_rig(FakeWacomStu("STU-530", rate_hz=1000), inking=False)
    with handle, drv:
        read_until(drv, lambda pts: len(pts) > 20)
        assert handle.device.inking is False and handle.device.ink == []


def test_time_count_sequence_reports_stream_the_same_signature() -> None:
    drv, handle = make_rig(FakeWacomStu("STU-430", rate_hz=1000), time_count_reports=True)
    with handle, drv:
        points = read_until(drv, lambda pts: lifts(pts) >= 1)
        assert handle.device.option_mode == 3
        assert any(entry.data[:1] == b"\x34" for entry in drv.log.entries())
    assert points[0].tip and 0 < points[0].x < 96.0


def test_open_waits_for_the_boot_image_before_clearing_the_screen() -> None:
    """SDK: after plug-in the status is Image_Boot; ClearScreen is sent only once it is Ready."""
    pad = FakeWacomStu("STU-540", rate_hz=1000, boot_s=0.4)
    drv, handle = make_rig(pad)
    with handle, drv:
        assert pad.status_code == 0 and pad.clears == 1 and pad.refused == []
        assert pad.inking is True


def test_a_pad_that_never_leaves_the_boot_image_is_busy_not_refused() -> None:
    pad = FakeWacomStu("STU-530", boot_s=60.0)
    drv, handle = make_rig(pad, ready_timeout_ms=200)
    with handle, pytest.raises(DeviceProtocolError) as caught:
        drv.open()
    assert caught.value.code == "signature.stu_busy" and caught.value.params["status"] == 4
    assert not drv.is_open and not handle.device.claimed and pad.refused == []


def test_a_left_over_result_code_does_not_fail_open() -> None:
    """The SDK never reads lastResultCode after a command; a stale non-zero one is no refusal."""
    class Stale(FakeWacomStu):
        def set_feature(self, report_id: int, data: bytes) -> None:
            super().set_feature(report_id, data)
            self.last_result = 0x15  # ErrorCode_GraphicsWrongParameters from an earlier command

    drv, handle = make_rig(Stale("STU-530", rate_hz=1000))
    with handle, drv:
        assert handle.device.clears == 1
        read_until(drv, lambda pts: len(pts) > 5)


@pytest.mark.parametrize("model,product_id", [("STU-541", 0x00A9), ("STU-430V", 0x00A6)])
def test_newer_models_are_found_without_a_product_id(model: str, product_id: int) -> None:
    drv, handle = make_rig(FakeWacomStu(model, rate_hz=1000))
    with handle, drv:
        assert drv.usb_id == f"056a:{product_id:04x}" and drv.info().model == model


@pytest.mark.parametrize("sw", range(1, 8))
def test_any_non_zero_switch_value_is_touching(sw: int) -> None:
    """SDK ``decodeReport_unsafe(PenData)``: sw = (byte >> 4) & 0x07, non-zero if touching."""
    report = bytes([0x01, 0x80 | (sw << 4) | 0x01, 0x00, 0x10, 0x00, 0x08, 0x00])
    point = decode_pen_report(report, CAP, 1.0, device="pad")
    assert point is not None and point.tip and point.pressure == pytest.approx(256 / 1023)


def test_switch_zero_in_proximity_is_hovering() -> None:
    point = decode_pen_report(bytes([0x01, 0x80, 0x00, 0x10, 0x00, 0x08, 0x00]), CAP, 1.0, device="pad")
    assert point is not None and not point.tip


def test_pad_sending_switch_value_two_still_signs() -> None:
    drv, handle = make_rig(FakeWacomStu("STU-430", rate_hz=1000, sw_value=2))
    with handle, drv:
        points = read_until(drv, lambda pts: lifts(pts) >= 1)
    assert any(p.tip for p in points)


def test_a_product_id_that_is_not_present_is_absent() -> None:
    drv, handle = make_rig(FakeWacomStu("STU-530"), product_id=0x00A8)
    with handle, pytest.raises(DeviceAbsent) as caught:
        drv.open()
    assert caught.value.params["usb"] == "056a:00a8"


def test_pen_data_decodes_big_endian_coordinates_and_pressure() -> None:
    point = decode_pen_report(bytes([0x01, 0x93, 0xFF, 0x2A, 0x30, 0x19, 0x50]), CAP, 2.0, device="pad")
    assert point is not None
    assert point.tip and point.pressure == 1.0
    assert point.x == pytest.approx(0x2A30 * 0.01) and point.y == pytest.approx(0x1950 * 0.01)


def test_capability_round_trips() -> None:
    assert Capability.decode(CAP.encode(), device="pad") == CAP


@given(st.binary(max_size=20))
@settings(max_examples=400, deadline=None)
def test_random_input_reports_give_a_point_none_or_protocol_error(report: bytes) -> None:
    try:
        point = decode_pen_report(report, CAP, 0.0, device="pad")
    except DeviceProtocolError as err:
        assert err.code == "signature.bad_report" and err.device == "pad"
        return
    if point is not None:
        assert 0 <= point.x <= 108.0 and 0 <= point.y <= 64.8 and 0 <= point.pressure <= 1


samples = st.builds(PenSample, st.floats(0, 108), st.floats(0, 64.8), st.floats(0, 1), st.booleans(), st.booleans())


@given(samples, st.integers(0, 6), st.integers(0, 255), st.integers(0, 7))
@settings(max_examples=300, deadline=None)
def test_corrupted_pen_reports_give_a_point_or_protocol_error(sample: PenSample, at: int, value: int, cut: int) -> None:
    report = bytearray(FakeWacomStu("STU-530").encode(sample))
    report[at] = value
    for corrupted in (bytes(report), bytes(report[:cut])):
        try:
            decode_pen_report(corrupted, CAP, 0.0, device="pad")
        except DeviceProtocolError:
            pass


@given(st.binary(max_size=20))
@settings(max_examples=300, deadline=None)
def test_random_capability_reports_give_a_capability_or_protocol_error(report: bytes) -> None:
    try:
        cap = Capability.decode(report, device="pad")
    except DeviceProtocolError:
        return
    assert cap.resolution > 0 and cap.max_x > 0
