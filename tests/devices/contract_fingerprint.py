"""The contract every fingerprint-scanner driver passes against its wire-level mock.

How to add your driver + mock pair (e.g. SBI):

1. Write a factory ``def make_<x>_rig(tmp_path: Path) -> FingerprintRig`` (in your own test
   module, e.g. ``tests/devices/sbi_rig.py``): start your mock, build your driver (closed) pointed
   at it, and return an object with the attributes/methods of :class:`FingerprintRig`.
2. Add one line to :data:`RIGS` below: ``"sbi": "tests.devices.sbi_rig:make_sbi_rig"``.

``tests/devices/test_fingerprint_contract.py`` runs every test of :class:`FingerprintContract`
once per entry of :data:`RIGS` (the ``rig`` fixture is parametrized over it).

What the contract fixes: ``status()`` of a closed device is ``CLOSED`` (it does not raise);
``info``/``self_test``/``capture`` on a closed device raise DeviceNotOpen; a capture without a
finger ends with ``DeviceFault('no_finger')`` near its timeout; a set cancel event ends it with
CaptureCancelled; after an unplug every call raises DeviceAbsent naming the device, and
``open()`` once the device is back makes it work again.
"""

from __future__ import annotations

import importlib
import threading
import time
from pathlib import Path
from typing import Iterator, Protocol

import numpy as np
import pytest

from kiosk.devices.base import DeviceState
from kiosk.devices.errors import CaptureCancelled, DeviceAbsent, DeviceFault, DeviceNotOpen
from kiosk.devices.protocols import FingerprintScanner
from kiosk.i18n import describe


class FingerprintRig(Protocol):
    #: a fresh, closed driver pointed at the running mock
    driver: FingerprintScanner

    def finger_absent(self, absent: bool) -> None:
        """From now on the sensor sees no finger (True) or a finger (False)."""

    def unplug(self) -> None:
        """The device vanishes (cable pulled)."""

    def replug(self) -> None:
        """The device is back at the same configured address/port."""

    def close(self) -> None:
        """Stop the mock (the driver is closed by the suite)."""


#: rig name -> "module:factory"; each factory takes tmp_path and returns a FingerprintRig
RIGS: dict[str, str] = {
    "zfm": "tests.devices.zfm_rig:make_zfm_rig",
    "sbi": "tests.devices.sbi_rig:make_sbi_rig",
}


@pytest.fixture(params=sorted(RIGS))
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FingerprintRig]:
    module, _, name = RIGS[request.param].partition(":")
    made: FingerprintRig = getattr(importlib.import_module(module), name)(tmp_path)
    try:
        yield made
    finally:
        try:
            if made.driver.is_open:
                made.driver.close()
        finally:
            made.close()


class FingerprintContract:
    def test_open_close_and_context_manager(self, rig: FingerprintRig) -> None:
        d = rig.driver
        assert not d.is_open
        d.open()
        assert d.is_open
        d.close()
        assert not d.is_open
        with d as same:
            assert same is d and d.is_open
        assert not d.is_open

    def test_calls_when_closed_raise_device_not_open(self, rig: FingerprintRig) -> None:
        d = rig.driver
        assert d.status().state == DeviceState.CLOSED
        for call in (d.info, d.self_test, lambda: d.capture(timeout_s=0.2)):
            with pytest.raises(DeviceNotOpen) as err:
                call()
            assert err.value.device == d.name

    def test_info_names_vendor_and_model(self, rig: FingerprintRig) -> None:
        with rig.driver as d:
            info = d.info()
        assert info.vendor and info.model

    def test_status_is_ready_when_open(self, rig: FingerprintRig) -> None:
        with rig.driver as d:
            assert d.status().state == DeviceState.READY

    def test_self_test_passes_with_named_checks(self, rig: FingerprintRig) -> None:
        with rig.driver as d:
            result = d.self_test()
        assert result.passed, result.checks
        assert result.checks and all(ok for _, ok, _ in result.checks)

    def test_capture_returns_a_grey_finger_image(self, rig: FingerprintRig) -> None:
        with rig.driver as d:
            img = d.capture(3, timeout_s=5.0)
        assert img.pixels.dtype == np.uint8 and img.pixels.ndim == 2
        assert min(img.pixels.shape) >= 200
        assert img.ppi >= 500
        assert img.position == 3
        assert img.pixels.std() > 10  # ridges, not a blank frame

    def test_capture_without_finger_ends_with_no_finger_near_its_timeout(self, rig: FingerprintRig) -> None:
        rig.finger_absent(True)
        with rig.driver as d:
            started = time.monotonic()
            with pytest.raises(DeviceFault) as err:
                d.capture(timeout_s=0.3)
            took = time.monotonic() - started
        assert err.value.reason == "no_finger"
        assert 0.25 <= took < 3.0

    def test_cancel_ends_a_waiting_capture(self, rig: FingerprintRig) -> None:
        rig.finger_absent(True)
        cancel = threading.Event()
        with rig.driver as d:
            timer = threading.Timer(0.1, cancel.set)
            timer.start()
            started = time.monotonic()
            with pytest.raises(CaptureCancelled):
                d.capture(timeout_s=10.0, cancel=cancel)
            assert time.monotonic() - started < 3.0
            timer.join()
            rig.finger_absent(False)
            assert d.capture(timeout_s=5.0).pixels.size  # the device is usable after a cancel

    def test_unplug_raises_device_absent_naming_the_device(self, rig: FingerprintRig) -> None:
        with rig.driver as d:
            rig.unplug()
            for call in (lambda: d.capture(timeout_s=1.0), d.info):
                with pytest.raises(DeviceAbsent) as err:
                    call()
                assert err.value.device == d.name
                words = describe(err.value, "en")
                assert d.name in words and "plug" in words  # names the device and what to do
            assert d.status().state == DeviceState.ABSENT

    def test_open_while_unplugged_raises_device_absent(self, rig: FingerprintRig) -> None:
        rig.unplug()
        with pytest.raises(DeviceAbsent) as err:
            rig.driver.open()
        assert err.value.device == rig.driver.name

    def test_reconnect_recovers_after_replug(self, rig: FingerprintRig) -> None:
        d = rig.driver
        d.open()
        assert d.capture(timeout_s=5.0).pixels.size
        rig.unplug()
        with pytest.raises(DeviceAbsent):
            d.capture(timeout_s=1.0)
        rig.replug()
        d.open()
        assert d.status().state == DeviceState.READY
        assert d.capture(timeout_s=5.0).pixels.size
        d.close()
