"""The pad mocks' scenes (issue 11 §2): a person signs once per request; the stress scene never
stops. And the drivers drop a backlog with ``discard_pending`` without a word to the pad."""

from __future__ import annotations

import pytest

from device_mocks.pen_stream import PenReportStream


def reports_until_quiet(stream: PenReportStream, limit: int = 20_000) -> int:
    """Reports handed out before the stream times out once (the pen is away)."""
    count = 0
    while count < limit:
        try:
            stream.next_report(0)
        except Exception:  # pyusb's timeout: nothing due
            return count
        count += 1
    return count


def stream(scene: str) -> PenReportStream:
    # a report rate far above real time so the test does not wait for the pen
    return PenReportStream(lambda s: b"x", width_mm=100, height_mm=50, rate_hz=1e9, pause_s=0.0, scene=scene)


def test_a_person_signs_only_when_asked_and_once_per_request() -> None:
    pad = stream("person")
    assert reports_until_quiet(pad) == 0  # nobody asked yet: the pen stays away
    pad.request()
    one = reports_until_quiet(pad)
    assert one > 100 and pad.signatures_started == 1
    assert reports_until_quiet(pad) == 0  # signed once, then waits to be asked again
    pad.request()
    assert reports_until_quiet(pad) > 100 and pad.signatures_started == 2


def test_the_stress_scene_never_stops() -> None:
    pad = stream("endless")
    assert reports_until_quiet(pad, limit=5_000) == 5_000
    assert pad.signatures_started >= 2


def test_an_unknown_scene_is_refused() -> None:
    with pytest.raises(ValueError):
        stream("sleepy")


def test_the_wacom_mock_asks_the_person_when_its_screen_is_cleared() -> None:
    from device_mocks.wacom_stu import FakeWacomStu

    pad = FakeWacomStu(scene="person", rate_hz=1e9, pause_s=0.0)
    assert pad.stream.requested == 0
    pad.set_feature(0x20, b"\x20\x00")  # ClearScreen (report id first)
    assert pad.stream.requested == 1


def test_the_hid_driver_drops_its_backlog_on_discard_pending_and_a_person_signs_when_asked() -> None:
    """The real HID digitizer driver on the mock: minutes of points queued before the signature
    step are gone after ``discard_pending``; the next signature is the one the person was asked for."""
    from device_mocks.hid_digitizer import FakeHidDigitizer
    from tests.devices.contract_signature import wait_until
    from tests.devices.test_hid_digitizer import make_rig

    device = FakeHidDigitizer(seed=3, rate_hz=2000, pause_s=0.0, speed_mm_s=400, scene="person")
    drv, handle = make_rig(device)
    try:
        drv.open()
        device.request_signature()
        wait_until(lambda: device.stream.signatures_started == 1 and drv._points.qsize() > 50)
        wait_until(lambda: reports_idle(device))
        assert drv._points.qsize() > 50  # the backlog: nobody read it
        drv.discard_pending()
        assert drv.read_points(timeout_s=0.05) == []
        device.request_signature()
        wait_until(lambda: device.stream.signatures_started == 2)
        got: list = []
        wait_until(lambda: bool(got.extend(drv.read_points(timeout_s=0.05))) or len(got) > 50)
    finally:
        drv.close()
        handle.close()


def reports_idle(device: object) -> bool:
    stream = device.stream  # type: ignore[attr-defined]
    return stream._index >= len(stream._samples) and not stream.requested
