"""The contract every signature-pad driver keeps, run against each driver and its wire mock.

A test module subclasses :class:`SignaturePadContract` and provides the ``rig`` fixture: the
driver (closed) pointed at a fresh mock through its pyusb backend. The mock streams a seeded
signature fast (1 kHz) so each test takes well under a second.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import pytest

from device_mocks.pen_stream import signature_samples, strokes_of
from device_mocks.usb_backend import UsbMockHandle
from kiosk.devices.base import DeviceState
from kiosk.devices.errors import DeviceAbsent, DeviceNotOpen, DeviceProtocolError
from kiosk.devices.protocols import PenPoint, SignaturePad


@dataclass
class Rig:
    driver: SignaturePad
    handle: UsbMockHandle
    #: builds another driver on the same mock with extra params (e.g. a different serial)
    make_driver: Callable[..., SignaturePad]
    interface: int = 0

    @property
    def device(self) -> Any:
        return self.handle.device


def read_until(driver: SignaturePad, done: Callable[[list[PenPoint]], bool], timeout_s: float = 10.0) -> list[PenPoint]:
    points: list[PenPoint] = []
    deadline = time.monotonic() + timeout_s
    while not done(points):
        if time.monotonic() > deadline:
            raise AssertionError(f"stream did not complete in {timeout_s}s ({len(points)} points)")
        points += driver.read_points(timeout_s=0.05)
    return points


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


def lifts(points: list[PenPoint]) -> int:
    return sum(1 for a, b in zip(points, points[1:]) if a.tip and not b.tip)


def strokes(points: list[PenPoint]) -> list[list[PenPoint]]:
    out: list[list[PenPoint]] = []
    current: list[PenPoint] = []
    for p in points:
        if p.tip:
            current.append(p)
        elif current:
            out.append(current)
            current = []
    return out


class SignaturePadContract:
    """Subclasses provide ``rig`` and may override :meth:`screen_was_cleared`."""

    @pytest.fixture
    def rig(self) -> Rig:  # pragma: no cover - provided by each driver's test module
        raise NotImplementedError

    def screen_was_cleared(self, rig: Rig, clears_before: int) -> bool | None:
        """Whether the pad's own screen was cleared (None: the pad has no screen)."""
        return None

    # -- lifecycle -----------------------------------------------------------------------------
    def test_open_claims_interface_and_close_gives_it_back_to_the_kernel(self, rig: Rig) -> None:
        rig.driver.open()
        assert rig.driver.is_open
        assert rig.interface in rig.device.claimed
        assert rig.device.kernel_driver[rig.interface] is False
        rig.driver.close()
        assert not rig.driver.is_open
        assert rig.interface not in rig.device.claimed
        assert rig.device.kernel_driver[rig.interface] is True

    def test_status_is_ready_when_open_and_closed_after_close(self, rig: Rig) -> None:
        assert rig.driver.status().state is DeviceState.CLOSED
        with rig.driver:
            assert rig.driver.status().state is DeviceState.READY
        assert rig.driver.status().state is DeviceState.CLOSED

    def test_info_names_vendor_model_serial_and_writing_area(self, rig: Rig) -> None:
        with rig.driver:
            info = rig.driver.info()
            width, height = rig.driver.writing_area_mm()
        assert info.vendor and info.model
        assert info.serial == rig.device.strings[3]
        assert info.extra["writing_area_mm"] == [round(width, 2), round(height, 2)]
        assert width == pytest.approx(rig.device.stream.width_mm, rel=1e-3)
        assert height == pytest.approx(rig.device.stream.height_mm, rel=1e-3)

    def test_self_test_passes_on_a_healthy_pad(self, rig: Rig) -> None:
        with rig.driver:
            read_until(rig.driver, lambda pts: len(pts) > 5)
            result = rig.driver.self_test()
        assert result.passed, result.checks
        assert len(result.checks) >= 3

    def test_self_test_fails_when_the_pad_is_unplugged(self, rig: Rig) -> None:
        with rig.driver:
            rig.device.unplug()
            result = rig.driver.self_test()
        assert not result.passed
        assert ("signature.check.present", False) in [(code, ok) for code, ok, _ in result.checks]

    # -- the stream ----------------------------------------------------------------------------
    def test_points_rebuild_the_signature_strokes_inside_the_writing_area(self, rig: Rig) -> None:
        with rig.driver:
            width, height = rig.driver.writing_area_mm()
            points = read_until(rig.driver, lambda pts: lifts(pts) >= 3)
        stream = rig.device.stream  # the first signature the pad drew since it was opened
        drawn = strokes_of(signature_samples(stream.seed, stream.width_mm, stream.height_mm, rate_hz=stream.rate_hz,
                                             speed_mm_s=stream.speed_mm_s))
        got = strokes(points)[:3]  # a batch may run into the next signature
        assert len(got) == len(drawn) == 3
        for mine, theirs in zip(got, drawn):
            assert len(mine) == len(theirs)  # no report lost or invented
            assert mine[0].x == pytest.approx(theirs[0].x_mm, abs=0.05)
            assert mine[0].y == pytest.approx(theirs[0].y_mm, abs=0.05)
            assert mine[len(mine) // 2].pressure == pytest.approx(theirs[len(theirs) // 2].pressure, abs=0.01)
        for p in points:
            assert 0.0 <= p.x <= width and 0.0 <= p.y <= height
            assert 0.0 <= p.pressure <= 1.0
            assert p.tip or p.pressure == 0.0
        assert all(a.timestamp <= b.timestamp for a, b in zip(points, points[1:]))

    def test_read_points_returns_empty_list_when_pen_is_away(self, rig: Rig) -> None:
        rig.device.stream.pause()
        with rig.driver:
            assert rig.driver.read_points(timeout_s=0.05) == []

    def test_clear_drops_buffered_points_and_clears_the_pad(self, rig: Rig) -> None:
        with rig.driver:
            read_until(rig.driver, lambda pts: len(pts) > 3)
            time.sleep(0.05)  # more points buffer up
            rig.device.stream.pause()
            wait_until(lambda: rig.driver.status().params["reports"] == rig.device.stream.reports_sent)
            clears_before = getattr(rig.device, "clears", 0)
            rig.driver.clear()
            assert rig.driver.read_points(timeout_s=0.1) == []
            cleared = self.screen_was_cleared(rig, clears_before)
            assert cleared in (None, True)
            rig.device.stream.resume()
            assert read_until(rig.driver, lambda pts: len(pts) > 3)  # the retry streams again

    # -- faults --------------------------------------------------------------------------------
    def test_unplug_raises_device_absent_naming_the_device(self, rig: Rig) -> None:
        with rig.driver:
            read_until(rig.driver, lambda pts: len(pts) > 3)
            rig.device.unplug()
            with pytest.raises(DeviceAbsent) as caught:
                read_until(rig.driver, lambda pts: False, timeout_s=3)
            assert caught.value.device == rig.driver.name
            assert caught.value.params["usb"] == f"{rig.device.vendor_id:04x}:{rig.device.product_id:04x}"
            assert rig.driver.status().state is DeviceState.ABSENT
            with pytest.raises(DeviceAbsent):
                rig.driver.read_points(timeout_s=0.01)  # it stays absent until reopened

    def test_replug_and_reopen_recovers_the_stream(self, rig: Rig) -> None:
        rig.driver.open()
        rig.device.unplug()
        with pytest.raises(DeviceAbsent):
            read_until(rig.driver, lambda pts: False, timeout_s=3)
        rig.device.plug()
        rig.driver.close()
        rig.driver.open()
        try:
            assert rig.driver.status().state is DeviceState.READY
            assert read_until(rig.driver, lambda pts: lifts(pts) >= 1)
        finally:
            rig.driver.close()

    def test_open_with_the_pad_unplugged_raises_device_absent(self, rig: Rig) -> None:
        rig.device.unplug()
        with pytest.raises(DeviceAbsent) as caught:
            rig.driver.open()
        assert caught.value.device == rig.driver.name
        assert not rig.driver.is_open

    def test_another_serial_is_not_opened(self, rig: Rig) -> None:
        other = rig.make_driver(serial="NOT-THIS-ONE")
        with pytest.raises(DeviceAbsent):
            other.open()

    def test_calls_on_a_closed_driver_raise_device_not_open(self, rig: Rig) -> None:
        calls: list[Callable[[], object]] = [rig.driver.read_points, rig.driver.clear, rig.driver.writing_area_mm,
                                             rig.driver.info, rig.driver.self_test]
        for call in calls:
            with pytest.raises(DeviceNotOpen) as caught:
                call()
            assert caught.value.device == rig.driver.name

    def test_malformed_reports_are_dropped_and_counted(self, rig: Rig) -> None:
        with rig.driver:
            for kind in ("short", "wrong_id", "garbage"):
                rig.device.inject_malformed(kind)
            points = read_until(rig.driver, lambda pts: lifts(pts) >= 1)
            assert rig.driver.status().params["bad_reports"] == 3
            assert rig.driver.status().state is DeviceState.READY
        assert strokes(points)

    def test_a_stream_of_garbage_raises_protocol_error(self, rig: Rig) -> None:
        rig.device.malformed_every = 1
        with rig.driver:
            with pytest.raises(DeviceProtocolError) as caught:
                read_until(rig.driver, lambda pts: False, timeout_s=3)
            assert caught.value.device == rig.driver.name
            assert rig.driver.status().state is DeviceState.ERROR
