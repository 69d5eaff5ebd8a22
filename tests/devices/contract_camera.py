"""The camera contract: what every Camera driver must do, run against a driver + its mock.

Use it by subclassing :class:`CameraContract` in a ``test_*.py`` module and providing a ``rig``
fixture returning a :class:`CameraRig`: how to make a (closed) driver, and how to take the
camera away and give it back at the wire.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from kiosk.devices.base import DeviceState
from kiosk.devices.errors import DeviceAbsent, DeviceNotOpen, DeviceTimeout
from kiosk.devices.protocols import Camera


@dataclass
class CameraRig:
    make: Callable[[], Camera]
    unplug: Callable[[], None]
    plug: Callable[[], None]
    #: frame size the driver is configured for
    width: int
    height: int
    fps: float


class CameraContract:
    def test_open_close_and_context_manager(self, rig: CameraRig) -> None:
        cam = rig.make()
        assert cam.status().state is DeviceState.CLOSED
        with cam:
            assert cam.is_open and cam.status().state is DeviceState.READY
        assert not cam.is_open and cam.status().state is DeviceState.CLOSED
        with pytest.raises(DeviceNotOpen):
            cam.latest()

    def test_info_names_the_device_and_its_format(self, rig: CameraRig) -> None:
        with rig.make() as cam:
            info = cam.info()
            assert info.vendor and info.model and info.serial
            assert (info.extra["width"], info.extra["height"]) == (rig.width, rig.height)

    def test_self_test_passes(self, rig: CameraRig) -> None:
        with rig.make() as cam:
            result = cam.self_test()
            assert result.passed, result.checks

    def test_frames_have_the_configured_size(self, rig: CameraRig) -> None:
        with rig.make() as cam:
            frame = cam.latest()
            assert frame.image.shape == (rig.height, rig.width, 3) and frame.image.dtype.name == "uint8"

    def test_latest_frames_are_strictly_newer(self, rig: CameraRig) -> None:
        with rig.make() as cam:
            frames = [cam.latest()]
            for _ in range(5):
                frames.append(cam.latest(newer_than=frames[-1].seq))
            assert all(b.seq > a.seq and b.timestamp > a.timestamp for a, b in zip(frames, frames[1:]))

    def test_latest_is_never_a_stale_buffered_frame(self, rig: CameraRig) -> None:
        with rig.make() as cam:
            cam.latest()
            time.sleep(5 / rig.fps)  # frames pile up while nobody reads
            newest_read_before = cam.stats().frames - 1
            frame = cam.latest()
            assert frame.seq >= newest_read_before

    def test_frames_never_handed_out_are_counted_as_dropped(self, rig: CameraRig) -> None:
        with rig.make() as cam:
            first = cam.latest()
            dropped_before = cam.stats().dropped
            time.sleep(15 / rig.fps)
            second = cam.latest(newer_than=first.seq)
            stats = cam.stats()
            skipped = second.seq - first.seq - 1
            assert skipped >= 1
            # the frames between the two hand-outs were dropped (plus at most frames read since)
            assert skipped <= stats.dropped - dropped_before <= (stats.frames - 1) - first.seq - 1

    def test_waiting_for_a_frame_that_never_comes_times_out(self, rig: CameraRig) -> None:
        with rig.make() as cam:
            with pytest.raises(DeviceTimeout):
                cam.latest(timeout_s=0.2, newer_than=10**9)

    def test_disappearing_camera_raises_absent_naming_it_and_reopen_recovers(self, rig: CameraRig) -> None:
        cam = rig.make()
        cam.open()
        try:
            seq = cam.latest().seq
            rig.unplug()
            with pytest.raises(DeviceAbsent) as err:
                for _ in range(1000):
                    seq = cam.latest(timeout_s=2.0, newer_than=seq).seq
            assert err.value.device == cam.name
            assert cam.status().state is DeviceState.ABSENT
            with pytest.raises(DeviceAbsent):
                cam.latest()
            cam.close()
            with pytest.raises(DeviceAbsent):
                cam.open()
            rig.plug()
            cam.open()
            assert cam.latest().image.shape == (rig.height, rig.width, 3)
        finally:
            rig.plug()
            cam.close()
