"""Capture by slap on the SBI slap scanner mock: each finger checked on its own (NFIQ 2, live
statistics) and against the others (wrong-finger check)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from device_mocks.sbi import SbiDeviceService
from kiosk.capture.finger import FingerprintEngine
from kiosk.capture.slap import capture_slap
from kiosk.devices.sbi import SbiFingerprintDriver


@pytest.fixture
def scanner(tmp_path: Path) -> Iterator[SbiFingerprintDriver]:
    svc = SbiDeviceService(tmp_path, seed=6, compression="png")
    drv = SbiFingerprintDriver("slap", SbiFingerprintDriver.Params(trusted_cert=svc.cert_path, port=svc.port,
                                                                   device_id=svc.device_id))
    drv.open()
    yield drv
    drv.close()
    svc.close()


def test_a_slap_gives_one_checked_sample_per_finger(scanner: SbiFingerprintDriver) -> None:
    result = capture_slap(scanner, 2, (5,), engine=FingerprintEngine(), timeout_s=5)
    assert list(result.assessments) == [2, 3, 4]
    assert all(a.nfiq2 > 0 and a.report.checks for a in result.assessments.values())
    assert result.duplicates.passed and result.passed == all(a.report.passed for a in result.assessments.values())
    assert [s.position for s in result.samples()] == [2, 3, 4]


def test_a_finger_already_in_the_record_is_flagged_as_the_same_finger(scanner: SbiFingerprintDriver) -> None:
    engine = FingerprintEngine()
    left = capture_slap(scanner, 1, engine=engine, timeout_s=5)
    # pretend the right thumb slot holds the left index print: the same finger placed twice
    captured = {1: left.assessments[7].minutiae}
    again = capture_slap(scanner, 1, engine=engine, captured=captured, timeout_s=5)
    assert not again.duplicates.passed and not again.passed
    assert 7 in again.failed_positions()
    pairs = {(c.params["first"], c.params["second"]) for c in again.duplicates.failed}
    assert (1, 7) in pairs
