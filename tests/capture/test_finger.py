"""Finger checks, exceptions, wrong-finger detection and storage formats."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from device_mocks.fingerprints import FingerprintGenerator
from kiosk.capture.finger import (ALL_FINGERS, FingerPosition, FingerprintEngine, FingerSlot, decode_finger_image,
                                  duplicate_report, encode_finger_image, find_duplicates, finger_sample, live_report,
                                  pairwise_scores, slots_for_policy)
from kiosk.capture.finger_exceptions import ExceptionReason, check_exception
from kiosk.capture.iso19794_2 import MinutiaPoint, decode_iso_19794_2, encode_iso_19794_2
from kiosk.capture.report import CaptureError
from kiosk.capture.thresholds import FingerThresholds
from kiosk.config import PolicyConfig

SEED = 11


@pytest.fixture(scope="module")
def gen() -> FingerprintGenerator:
    return FingerprintGenerator(SEED)


@pytest.fixture(scope="module")
def engine() -> FingerprintEngine:
    return FingerprintEngine()


@pytest.fixture(scope="module")
def ten_print(gen: FingerprintGenerator, engine: FingerprintEngine) -> dict[int, object]:
    """Minutiae of a resident's ten fingers (finger ids 101..110), first impression each."""
    return {pos: engine.minutiae(gen.impression(100 + pos, 0)) for pos in ALL_FINGERS}


@pytest.fixture(scope="module")
def ten_print_scores(ten_print: dict[int, object]) -> dict[tuple[int, int], int]:
    return pairwise_scores(ten_print)


# -- quality ---------------------------------------------------------------------------------


def test_good_impression_passes_nfiq2_and_live_checks(gen: FingerprintGenerator, engine: FingerprintEngine) -> None:
    a = engine.assess(gen.impression(1, 0), position=2)
    assert a.report.passed, a.report.to_json()
    assert a.report.score == a.nfiq2 >= FingerThresholds().min_nfiq2


def test_poor_impression_fails_nfiq2(gen: FingerprintGenerator, engine: FingerprintEngine) -> None:
    a = engine.assess(gen.impression(1, 0, quality=0.1), position=2)
    check = a.report.check("nfiq2")
    assert not check.passed and check.code == "finger.low_quality"
    assert check.params["score"] == a.nfiq2 < check.params["minimum"]


def test_partial_contact_fails_foreground(gen: FingerprintGenerator) -> None:
    img = gen.impression(1, 0)
    assert live_report(img).check("foreground").passed
    partial = img.copy()
    partial[:, : img.shape[1] * 6 // 10] = 245  # only 40 % of the glass touched
    check = live_report(partial).check("foreground")
    assert not check.passed and check.code == "finger.place_fully"


def test_empty_sensor_reports_no_finger() -> None:
    check = live_report(np.full((288, 256), 245, np.uint8)).check("foreground")
    assert not check.passed and check.code == "finger.no_finger"


def test_noisy_impression_fails_orientation_certainty(gen: FingerprintGenerator) -> None:
    img = gen.impression(1, 0)
    assert live_report(img).check("orientation_certainty").passed
    noisy = np.clip(img + np.random.default_rng(0).normal(0, 70, img.shape), 0, 255).astype(np.uint8)
    check = live_report(noisy).check("orientation_certainty")
    assert not check.passed and check.code == "finger.smudged"


def test_smudged_impression_fails_ridge_clarity(gen: FingerprintGenerator) -> None:
    assert live_report(gen.impression(2, 0)).check("ridge_clarity").passed
    check = live_report(gen.impression(2, 0, quality=0.3)).check("ridge_clarity")
    assert not check.passed and check.code == "finger.unclear"


def test_best_of_attempts_is_kept_and_attempts_are_limited(gen: FingerprintGenerator,
                                                           engine: FingerprintEngine) -> None:
    slot = FingerSlot(position=3, max_attempts=3, min_nfiq2=101)  # unreachable: uses all attempts
    scores = []
    for q in (0.2, 1.0, 0.4):
        a = engine.assess(gen.impression(5, len(scores), quality=q), position=3)
        scores.append(a.nfiq2)
        slot.add(a)
    assert slot.best is not None and slot.best.nfiq2 == max(scores)
    assert slot.exhausted and slot.done and not slot.good_enough
    with pytest.raises(CaptureError) as err:
        slot.add(engine.assess(gen.impression(5, 9), position=3))
    assert err.value.code == "finger.no_attempts_left"


def test_slot_refuses_attempt_for_another_finger(gen: FingerprintGenerator, engine: FingerprintEngine) -> None:
    with pytest.raises(CaptureError) as err:
        FingerSlot(position=1).add(engine.assess(gen.impression(1, 0), position=2))
    assert err.value.code == "finger.wrong_slot"


def test_slots_follow_policy() -> None:
    slots = slots_for_policy(PolicyConfig(required_fingers=(2, 7), attempts_per_finger=4))
    assert sorted(slots) == [2, 7] and all(s.max_attempts == 4 for s in slots.values())
    with pytest.raises(CaptureError):
        slots_for_policy(PolicyConfig(required_fingers=(11,)))


def test_bad_position_is_refused(gen: FingerprintGenerator, engine: FingerprintEngine) -> None:
    with pytest.raises(CaptureError) as err:
        engine.assess(gen.impression(1, 0), position=0)
    assert err.value.code == "finger.bad_position"


# -- exceptions ------------------------------------------------------------------------------


def test_exception_needing_supervisor_is_refused_without_one() -> None:
    policy = PolicyConfig(supervisor_exceptions=("amputated", "scarred"))
    with pytest.raises(CaptureError) as err:
        check_exception(policy, 3, "amputated", operator="op1")
    assert err.value.code == "finger.supervisor_required"
    with pytest.raises(CaptureError) as err:
        check_exception(policy, 3, "amputated", operator="op1", supervisor="op1")
    assert err.value.code == "finger.supervisor_not_operator"
    ok = check_exception(policy, 3, "amputated", operator="op1", supervisor="sup")
    assert ok.needs_supervisor and ok.approved_by == "sup" and ok.reason is ExceptionReason.AMPUTATED


def test_exception_not_needing_supervisor_passes_alone() -> None:
    d = check_exception(PolicyConfig(supervisor_exceptions=("amputated",)), 4, "bandaged", operator="op1",
                        supervisor="sup")
    assert not d.needs_supervisor and d.approved_by is None


def test_unknown_exception_reason_is_refused() -> None:
    with pytest.raises(CaptureError) as err:
        check_exception(PolicyConfig(), 1, "lost", operator="op")
    assert err.value.code == "finger.bad_exception_reason"


# -- genuine vs impostor and the wrong-finger check --------------------------------------------

# measured with seed 11 (10 fingers, 2 impressions): genuine 168..230, impostor 8..36
GENUINE_FLOOR = 60
IMPOSTOR_CEILING = 40


def test_genuine_and_impostor_scores_separate(gen: FingerprintGenerator, engine: FingerprintEngine,
                                              ten_print: dict[int, object],
                                              ten_print_scores: dict[tuple[int, int], int]) -> None:
    second = {pos: engine.minutiae(gen.impression(100 + pos, 1)) for pos in ALL_FINGERS}
    genuine = [FingerprintEngine.compare(ten_print[p], second[p]) for p in ALL_FINGERS]
    impostor = list(ten_print_scores.values())
    assert min(genuine) >= GENUINE_FLOOR, sorted(genuine)
    assert max(impostor) <= IMPOSTOR_CEILING, sorted(impostor)
    assert min(genuine) > max(impostor)


def test_normal_ten_print_has_no_duplicates(ten_print: dict[int, object],
                                            ten_print_scores: dict[tuple[int, int], int]) -> None:
    threshold = FingerThresholds().duplicate_score
    assert max(ten_print_scores.values()) < threshold
    assert find_duplicates(ten_print, threshold) == []
    assert duplicate_report(ten_print).passed


def test_right_index_captured_twice_is_flagged(gen: FingerprintGenerator, engine: FingerprintEngine,
                                               ten_print: dict[int, object]) -> None:
    slip = dict(ten_print)
    # the classic slip: slot 3 (right middle) holds a second touch of the right index (slot 2)
    slip[3] = engine.minutiae(gen.impression(100 + 2, 1))
    dups = find_duplicates(slip, FingerThresholds().duplicate_score)
    assert [(d.first, d.second) for d in dups] == [(2, 3)]
    report = duplicate_report(slip)
    assert report.failed[0].code == "finger.same_finger" and report.failed[0].params["first"] == 2


# -- storage ---------------------------------------------------------------------------------


def test_iso_template_header_and_round_trip(gen: FingerprintGenerator, engine: FingerprintEngine) -> None:
    a = engine.assess(gen.impression(3, 0), position=int(FingerPosition.LEFT_INDEX))
    data = a.template()
    assert data[:8] == b"FMR\x00 20\x00"
    assert int.from_bytes(data[8:12], "big") == len(data)
    assert int.from_bytes(data[14:16], "big") == 256 and int.from_bytes(data[16:18], "big") == 288
    assert int.from_bytes(data[18:20], "big") == 197  # 500 ppi in pixels per centimetre
    rec = decode_iso_19794_2(data)
    assert rec.position == 7 and rec.quality == a.nfiq2 and rec.ppi == 500
    pts = a.points()
    assert len(rec.points) == len(pts) > 10
    assert all((r.x, r.y, r.kind) == (p.x, p.y, p.kind) for r, p in zip(rec.points, pts))
    assert all(abs((r.angle - p.angle + 180) % 360 - 180) <= 0.71 for r, p in zip(rec.points, pts))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 0x3FFF), st.integers(0, 0x3FFF), st.floats(0, 359.9),
                          st.sampled_from(["ending", "bifurcation"]), st.integers(0, 100)), max_size=40),
       st.integers(1, 10), st.integers(0, 100))
def test_iso_template_encoder_round_trips(raw: list[tuple[int, int, float, str, int]], position: int,
                                          quality: int) -> None:
    pts = [MinutiaPoint(x, y, a, k, q) for x, y, a, k, q in raw]
    rec = decode_iso_19794_2(encode_iso_19794_2(pts, width=400, height=500, position=position, quality=quality))
    assert (rec.width, rec.height, rec.position, rec.quality) == (400, 500, position, quality)
    assert [(p.x, p.y, p.kind, p.quality) for p in rec.points] == [(p.x, p.y, p.kind, p.quality) for p in pts]


@given(st.binary(max_size=64))
def test_iso_template_decoder_refuses_garbage(data: bytes) -> None:
    with pytest.raises(CaptureError):
        decode_iso_19794_2(data)


@pytest.mark.parametrize("fmt", ["wsq", "png"])
def test_finger_image_round_trip(gen: FingerprintGenerator, fmt: str) -> None:
    img = gen.impression(4, 0)
    data = encode_finger_image(img, fmt)
    assert data[:2] == b"\xff\xa0" if fmt == "wsq" else data[:8] == b"\x89PNG\r\n\x1a\n"
    back = decode_finger_image(data)
    assert back.shape == img.shape
    if fmt == "png":
        assert np.array_equal(back, img)
    else:
        err = back.astype(float) - img
        psnr = 10 * np.log10(255 ** 2 / np.mean(err ** 2))
        assert psnr > 28 and len(data) < img.size / 5  # lossy but faithful, and compressed


def test_finger_sample_bundles_image_template_and_score(gen: FingerprintGenerator,
                                                        engine: FingerprintEngine) -> None:
    best = engine.assess(gen.impression(6, 0), position=1)
    sample = finger_sample(best, FingerThresholds(image_format="png"))
    assert sample.image_format == "png" and sample.nfiq2 == best.nfiq2
    assert decode_iso_19794_2(sample.template).position == 1


def test_scanner_capture_is_brought_to_500_ppi(gen: FingerprintGenerator, engine: FingerprintEngine) -> None:
    from kiosk.devices.protocols import FingerImage

    img = gen.impression(7, 0)
    at_1000 = cv2.resize(img, (512, 576), interpolation=cv2.INTER_CUBIC)
    a = engine.assess_capture(FingerImage(pixels=at_1000, ppi=1000, position=4))
    assert a.image.shape == (288, 256) and a.position == 4
    native = engine.assess_capture(FingerImage(pixels=img, ppi=508, position=4))
    assert native.image is img
