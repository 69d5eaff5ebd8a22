"""Face checks: a good portrait passes every check; each degraded portrait fails its own check."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import pytest

from device_mocks import faces
from kiosk.capture.face import FaceAnalyzer, analyze_face
from kiosk.capture.face_capture import AutoCapture, encode_token, face_sample, token_image
from kiosk.capture.report import CaptureError
from kiosk.capture.thresholds import FaceThresholds


@pytest.fixture(scope="module")
def good() -> np.ndarray:
    return faces.portrait()


def test_good_portrait_passes_every_check(good: np.ndarray) -> None:
    analysis = analyze_face(good)
    assert analysis.report.failed_names == ()
    names = {c.name for c in analysis.report.checks}
    assert names == {"face_count", "eyes", "eye_line", "head_size", "centering", "roll", "yaw", "sharpness",
                     "exposure", "dynamic_range", "illumination", "background", "stillness"}


# degraded sample -> (check that must fail, guidance code it must carry)
DEGRADED: dict[str, tuple[Callable[[np.ndarray], np.ndarray], str, str]] = {
    "no_face": (lambda g: faces.empty_frame(), "face_count", "face.not_found"),
    "two_faces": (lambda g: faces.two_faces(), "face_count", "face.one_person"),
    "glasses_glare": (lambda g: faces.portrait(glare=1.0), "eyes", "face.eyes_not_visible"),
    "eyes_high": (lambda g: faces.portrait(eyes_at=(320, 110)), "eye_line", "face.eyes_too_high"),
    "eyes_low": (lambda g: faces.portrait(eyes_at=(320, 290)), "eye_line", "face.eyes_too_low"),
    "small": (lambda g: faces.portrait(scale=1.0), "head_size", "face.move_closer"),
    "large": (lambda g: faces.portrait(scale=3.0), "head_size", "face.move_back"),
    "off_centre": (lambda g: faces.portrait(offset_x=150), "centering", "face.off_centre_right"),
    "off_centre_left": (lambda g: faces.portrait(offset_x=-150), "centering", "face.off_centre_left"),
    "rolled": (lambda g: faces.portrait(roll_deg=18), "roll", "face.straighten"),
    "turned": (lambda g: faces.turned(g, 30), "yaw", "face.turn"),
    "blurred": (lambda g: faces.blurred(g), "sharpness", "face.blurred"),
    "dark": (lambda g: faces.dark(g), "exposure", "face.too_dark"),
    "bright": (lambda g: faces.bright(g, 1.5), "exposure", "face.too_bright"),
    "flat": (lambda g: faces.flat_contrast(g), "dynamic_range", "face.low_contrast"),
    "side_lit": (lambda g: faces.side_lit(), "illumination", "face.shadow_left"),
    "background": (lambda g: faces.portrait(background=faces.patterned_background()), "background",
                   "face.background"),
}


@pytest.mark.parametrize("name", sorted(DEGRADED))
def test_degraded_portrait_fails_its_check(good: np.ndarray, name: str) -> None:
    make, check, code = DEGRADED[name]
    report = analyze_face(make(good)).report
    assert check in report.failed_names
    assert report.check(check).code == code
    assert (code, report.check(check).params) in report.guidance()


def test_degradations_leave_unrelated_geometry_alone(good: np.ndarray) -> None:
    # a photometric degradation must not be reported as a pose or position problem
    for make in (faces.blurred, faces.flat_contrast):
        failed = analyze_face(make(good)).report.failed_names
        assert not {"eye_line", "head_size", "centering", "roll", "background"} & set(failed)


def test_motion_between_frames_fails_hold_still(good: np.ndarray) -> None:
    analyzer = FaceAnalyzer()
    assert analyzer.analyze(good).report.passed
    still = analyzer.analyze(faces.shifted(good, 1))
    assert still.report.check("stillness").passed
    moved = analyzer.analyze(faces.shifted(good, 25))
    assert moved.report.check("stillness").passed is False
    assert moved.report.check("stillness").code == "face.hold_still"


def test_tracking_gives_the_same_face_as_a_full_search(good: np.ndarray) -> None:
    tracked = FaceAnalyzer(track=True)
    tracked.analyze(good)
    a = tracked.analyze(faces.shifted(good, 4)).face
    b = analyze_face(faces.shifted(good, 4)).face
    assert a is not None and b is not None
    assert abs(a.eye_mid[0] - b.eye_mid[0]) < 6 and abs(a.eye_mid[1] - b.eye_mid[1]) < 6


def test_tracking_loses_a_face_that_left_and_finds_a_new_one(good: np.ndarray) -> None:
    analyzer = FaceAnalyzer()
    analyzer.analyze(good)
    assert analyzer.analyze(faces.empty_frame()).faces_found == 0
    assert analyzer.analyze(faces.portrait(offset_x=-150)).faces_found == 1


def test_auto_capture_fires_after_n_passing_frames_and_keeps_sharpest(good: np.ndarray) -> None:
    th = FaceThresholds(auto_capture_frames=4)
    auto = AutoCapture(th)
    soft = faces.blurred(good, 0.8)  # still passes, but less sharp than the original
    frames = [soft, soft, good, soft]
    results = [auto.feed(f) for f in frames]
    assert [cap is not None for _, cap in results] == [False, False, False, True]
    captured = results[-1][1]
    assert captured is not None and not captured.report.manual
    assert np.array_equal(captured.image, good)


def test_auto_capture_restarts_the_count_on_a_failing_frame(good: np.ndarray) -> None:
    auto = AutoCapture(FaceThresholds(auto_capture_frames=3))
    for frame in (good, good, faces.blurred(good), good, good):
        _, cap = auto.feed(frame)
        assert cap is None
    assert auto.streak == 2
    assert auto.feed(good)[1] is not None


def test_manual_capture_records_failed_checks(good: np.ndarray) -> None:
    auto = AutoCapture()
    auto.feed(faces.dark(good))
    cap = auto.manual()
    assert cap.report.manual is True
    assert "exposure" in cap.report.failed_names
    assert '"manual": true' in cap.report.to_json()


def test_manual_capture_without_any_frame_is_refused() -> None:
    with pytest.raises(CaptureError) as err:
        AutoCapture().manual()
    assert err.value.code == "face.no_frame"


def test_token_image_puts_eyes_at_iso_token_positions(good: np.ndarray) -> None:
    frame = faces.portrait(roll_deg=6)
    face = analyze_face(frame).face
    assert face is not None
    token = token_image(frame, face, width=480)
    assert token.shape == (640, 480, 3)
    again = FaceAnalyzer(track=False).analyze(token).face
    assert again is not None and again.has_eyes
    # ISO/IEC 19794-5 token: eye midpoint at (W/2, 0.6 W), eyes W/4 apart, level
    assert abs(again.eye_mid[0] - 240) < 12
    assert abs(again.eye_mid[1] - 288) < 12
    assert abs(again.eye_distance - 120) < 14
    assert abs(again.roll_deg) < 4


@pytest.mark.parametrize("fmt,magic", [("jpeg", b"\xff\xd8\xff"), ("jp2", b"\x00\x00\x00\x0cjP  ")])
def test_face_sample_is_encoded_token_with_report(good: np.ndarray, fmt: str, magic: bytes) -> None:
    auto = AutoCapture(FaceThresholds(auto_capture_frames=1))
    _, cap = auto.feed(good)
    assert cap is not None
    sample = face_sample(cap, FaceThresholds(token_format=fmt, token_width=240))
    assert sample.data.startswith(magic)
    decoded = cv2.imdecode(np.frombuffer(sample.data, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (320, 240, 3)
    assert (sample.width, sample.height) == (240, 320)
    assert sample.report.passed


def test_unknown_token_format_is_refused(good: np.ndarray) -> None:
    with pytest.raises(CaptureError):
        encode_token(good, "gif")


def test_token_without_detected_eyes_uses_face_box_estimate(good: np.ndarray) -> None:
    from kiosk.capture.face import FaceGeometry

    face = analyze_face(good).face
    assert face is not None
    estimated = FaceGeometry(face.box, None, None)
    token = token_image(good, estimated, width=240)
    assert token.shape == (320, 240, 3)
    # the estimate lands near the real eyes: the token still shows a face with eyes near the mark
    again = analyze_face(cv2.resize(token, (480, 640))).face
    assert again is not None
    assert abs(again.eye_mid[1] / 2 - 0.6 * 240) < 25


def test_auto_capture_on_a_resident_sitting_down_fires_once_settled() -> None:
    frames = faces.approach(40, settle=0.5)
    auto = AutoCapture(FaceThresholds(auto_capture_frames=5))
    fired = [i for i, f in enumerate(frames) if auto.feed(f)[1] is not None]
    assert len(fired) == 1
    # for the first 15 frames (0..14) the face is still too small or more than 5 % of the width
    # off-centre: the capture may come at the earliest 5 passing frames after that
    assert fired[0] >= 14 + 5
    assert auto.captured is not None and auto.captured.report.passed


def test_second_person_stepping_in_is_noticed_while_tracking(good: np.ndarray) -> None:
    analyzer = FaceAnalyzer(full_search_every=10)
    assert analyzer.analyze(good).faces_found == 1
    # the tracked face stays where it was; a second face appears on the right
    crowd = faces.two_faces()
    crowd[:, :320] = faces.portrait(scale=1.4, eyes_at=(640 * 0.28, 480 * 0.40))[:, :320]
    counts = [analyzer.analyze(crowd).faces_found for _ in range(10)]
    assert 2 in counts


def test_auto_capture_confirms_with_a_whole_frame_search(good: np.ndarray) -> None:
    class NearSighted(FaceAnalyzer):
        """Pretends every frame passes (as a tracker looking only near the face might)."""

        def analyze(self, image: np.ndarray, previous: object = None):  # type: ignore[override]
            return super().analyze(good)

    auto = AutoCapture(FaceThresholds(auto_capture_frames=2), analyzer=NearSighted())
    crowd = faces.two_faces()
    assert auto.feed(crowd)[1] is None
    confirm, cap = auto.feed(crowd)
    assert cap is None and confirm.faces_found == 2 and auto.streak == 0


def test_manual_capture_with_hidden_eyes_still_gives_a_token() -> None:
    auto = AutoCapture()
    auto.feed(faces.portrait(glare=1.0))
    cap = auto.manual()
    assert cap.report.failed_names == ("eyes",) and cap.report.manual
    sample = face_sample(cap, FaceThresholds(token_width=240))
    assert sample.data[:3] == b"\xff\xd8\xff" and not sample.report.passed
