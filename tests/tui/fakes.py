"""Test doubles for the device protocols: fast, in-process, with synthetic pictures that pass the
real capture checks (tests/tui/test_simulated_station.py drives the real drivers and mocks)."""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from device_mocks.fingerprints import FingerprintGenerator

from kiosk.devices.base import DeviceInfo, DeviceState, DeviceStatus, SelfTestResult
from kiosk.devices.errors import CaptureCancelled, DeviceAbsent
from kiosk.devices.protocols import Camera, CameraStats, FingerImage, FingerprintScanner, Frame, PenPoint, SignaturePad


class _FakeBase:
    name: str

    def _do_open(self) -> None:
        if getattr(self, "unplugged", False):
            raise DeviceAbsent(device=self.name)

    def _do_close(self) -> None:
        pass

    def info(self) -> DeviceInfo:
        return DeviceInfo("Fake", type(self).__name__, "SN1", "1.0")

    def status(self) -> DeviceStatus:
        if getattr(self, "unplugged", False):
            return DeviceStatus(DeviceState.ABSENT, "device.absent", {"device": self.name})
        return DeviceStatus(DeviceState.READY if self.is_open else DeviceState.CLOSED)  # type: ignore[attr-defined]

    def self_test(self) -> SelfTestResult:
        return SelfTestResult(True, (("fake.ok", True, ""),))


@functools.cache
def frontal_face() -> np.ndarray:
    """A synthetic resident facing the camera as the rules want (passes every face check)."""
    from device_mocks.faces import portrait

    return portrait()


_PRINTS = FingerprintGenerator(seed=3)


def finger_print(finger: int, impression: int) -> np.ndarray:
    """A synthetic 500 ppi fingerprint (NFIQ 2 well above the station's minimum); cached per finger."""
    return _print(finger, impression % 2)


@functools.cache
def _print(finger: int, impression: int) -> np.ndarray:
    return _PRINTS.impression(finger, impression, size=(288, 256))


class FakeCamera(_FakeBase, Camera):
    Params = dict

    def __init__(self, name: str = "camera") -> None:
        super().__init__(name, None)
        self.seq = 0
        self.unplugged = False
        #: a picture to show instead of the frontal face (tests of failing checks)
        self.image: np.ndarray | None = None

    def latest(self, *, timeout_s: float = 2.0, newer_than: int = -1) -> Frame:
        self.require_open()
        if self.unplugged:
            raise DeviceAbsent(device=self.name)
        time.sleep(0.01)
        self.seq += 1
        return Frame(frontal_face() if self.image is None else self.image, time.monotonic(), self.seq)

    def stats(self) -> CameraStats:
        return CameraStats(self.seq, 0, 5.0)


class FakeScanner(_FakeBase, FingerprintScanner):
    Params = dict

    def __init__(self, name: str = "scanner") -> None:
        super().__init__(name, None)
        self.unplugged = False
        #: when set, capture() blocks until ``release`` is set (or cancel)
        self.hold = False
        self.release = threading.Event()
        self.started = threading.Event()
        self.captures = 0
        #: the synthetic finger on the glass is position + this (tests make two slots alike)
        self.finger_offset = 0

    def capture(self, position: int = 0, *, timeout_s: float = 10.0,
                cancel: threading.Event | None = None) -> FingerImage:
        self.require_open()
        self.started.set()
        if self.hold:
            while not self.release.wait(0.02):
                if cancel is not None and cancel.is_set():
                    raise CaptureCancelled(device=self.name)
        if self.unplugged:
            raise DeviceAbsent(device=self.name)
        self.captures += 1
        return FingerImage(finger_print(position + self.finger_offset, self.captures), 500, position)


class FakePad(_FakeBase, SignaturePad):
    Params = dict

    def __init__(self, name: str = "pad") -> None:
        super().__init__(name, None)
        self.unplugged = False
        self.pending: list[PenPoint] = []
        self.lock = threading.Lock()
        self.clears = self.discards = 0

    def sign(self, count: int = 20, start: float = 0.0) -> None:
        """The resident signs: a zig-zag stroke of ``count`` pen reports from time ``start``."""
        with self.lock:
            self.pending += [PenPoint(10 + i * 3, 20 + (i % 2) * 10, 0.6, True, start + i) for i in range(count)]

    def read_points(self, *, timeout_s: float = 0.1) -> list[PenPoint]:
        self.require_open()
        if self.unplugged:
            raise DeviceAbsent(device=self.name)
        with self.lock:
            out, self.pending = self.pending, []
        if not out:
            time.sleep(min(timeout_s, 0.02))
        return out

    def clear(self) -> None:
        with self.lock:
            self.pending = []
        self.clears += 1

    def discard_pending(self) -> None:
        with self.lock:
            self.pending = []
        self.discards += 1

    def backlog(self, count: int) -> None:
        """The pad streamed ``count`` points before anyone read them (hours of a stuck pen)."""
        with self.lock:
            self.pending += [PenPoint(5 + (i % 900) / 10, 5 + (i % 400) / 10, 0.5, i % 50 != 49, float(i))
                             for i in range(count)]

    def writing_area_mm(self) -> tuple[float, float]:
        return (100.0, 50.0)


@dataclass
class FakeDeviceSet:
    """Stands in for kiosk.devices.registry.DeviceSet."""

    devices: dict[str, Any]

    def get(self, name: str) -> Any:
        return self.devices[name]

    def of_kind(self, kind: str) -> Any:
        return next((d for d in self.devices.values() if d.kind == kind), None)

    def names(self) -> list[str]:
        return list(self.devices)

    def close(self) -> None:
        for d in self.devices.values():
            if d.is_open:
                d.close()


def fake_devices() -> FakeDeviceSet:
    return FakeDeviceSet({"camera": FakeCamera(), "scanner": FakeScanner(), "pad": FakePad()})


