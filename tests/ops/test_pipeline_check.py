"""kiosk.ops.pipeline_check: the start-up self-test of the enrollment pipeline on built-in samples.

The portrait it uses is the head of NASA's public-domain portrait of Eileen Collins (as
device_mocks/data/astronaut_head.png ships it); the finger is drawn from a seeded pattern.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from kiosk.capture import finger
from kiosk.capture.thresholds import QualityThresholds
from kiosk.ops import pipeline_check
from kiosk.ops.pipeline_check import PipelineSelfTest, run_pipeline_check, synthetic_finger, synthetic_signature

CHECKS = ["finger", "face", "signature", "card", "packet"]


@pytest.fixture(scope="module")
def results() -> list[pipeline_check.PipelineCheck]:
    return run_pipeline_check(QualityThresholds())


def test_every_check_passes_on_the_built_in_samples(results: list[pipeline_check.PipelineCheck]) -> None:
    assert [r.name for r in results] == CHECKS
    assert [(r.name, r.reason) for r in results if not r.passed] == []


def test_the_synthetic_finger_is_the_same_every_time_and_differs_by_seed() -> None:
    a, b, other = synthetic_finger(), synthetic_finger(), synthetic_finger(seed=12)
    assert a.shape == pipeline_check.FINGER_SHAPE and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, other)


def test_the_synthetic_signature_passes_the_signature_checks() -> None:
    from kiosk.capture.signature import assess_signature

    assert assess_signature(synthetic_signature()).passed


def test_a_codec_that_does_not_round_trip_fails_the_finger_check_and_the_rest_goes_on(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(finger, "decode_finger_image", lambda data: np.zeros(pipeline_check.FINGER_SHAPE, np.uint8))
    with caplog.at_level(logging.WARNING, logger="kiosk.selftest"):
        results = {r.name: r for r in run_pipeline_check(QualityThresholds())}
    assert not results["finger"].passed and "round trip" in results["finger"].reason
    assert all(results[name].passed for name in CHECKS if name != "finger")
    logged = [r for r in caplog.records if r.name == "kiosk.selftest" and r.levelno == logging.WARNING]
    assert [getattr(r, "check", None) for r in logged] == ["finger"]  # the technician's log names it


def test_a_check_that_raises_is_reported_never_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: PipelineSelfTest) -> None:
        raise OSError("nfiq2 model missing")

    monkeypatch.setattr(PipelineSelfTest, "face", broken)
    results = {r.name: r for r in run_pipeline_check(QualityThresholds())}
    assert results["face"].reason == "OSError: nfiq2 model missing"
    assert results["packet"].passed  # sealed without the face token


def test_the_self_test_writes_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    test = PipelineSelfTest(QualityThresholds())
    test.signature()
    test.packet()
    assert list(tmp_path.iterdir()) == []
