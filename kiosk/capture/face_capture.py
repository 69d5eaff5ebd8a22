"""From camera frames to the stored portrait.

:class:`AutoCapture` is fed frames and fires when every check of
:class:`~kiosk.capture.face.FaceAnalyzer` passed on N consecutive frames, keeping the sharpest of
them after a whole-frame re-check; :meth:`AutoCapture.manual` takes the current frame anyway and
records the failed checks. :func:`token_image` cuts the ISO/IEC 19794-5 token portrait (clause
8.4: fixed eye position and distance) and :func:`encode_token` stores it as JPEG or JPEG 2000
(ICAO 9303 part 10 allows both).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from kiosk.capture.face import FaceAnalysis, FaceAnalyzer, FaceGeometry
from kiosk.capture.report import CaptureError, QualityReport
from kiosk.capture.thresholds import FaceThresholds


@dataclass(frozen=True)
class FaceCapture:
    """The kept frame with its analysis; ``report.manual`` is True for a hand capture."""

    image: np.ndarray
    analysis: FaceAnalysis

    @property
    def report(self) -> QualityReport:
        return self.analysis.report


@dataclass
class AutoCapture:
    """Feed frames with :meth:`feed`; it returns a :class:`FaceCapture` once every check has
    passed on ``thresholds.auto_capture_frames`` consecutive frames (the sharpest of that run
    is kept). :meth:`manual` captures the latest frame as it is, failed checks recorded."""

    thresholds: FaceThresholds = field(default_factory=FaceThresholds)
    analyzer: FaceAnalyzer | None = None
    #: whole-frame analyzer that confirms the chosen frame (tracking only looks near the face)
    confirmer: FaceAnalyzer | None = None
    _run: list[tuple[np.ndarray, FaceAnalysis]] = field(default_factory=list)
    _latest: tuple[np.ndarray, FaceAnalysis] | None = None
    captured: FaceCapture | None = None

    def __post_init__(self) -> None:
        if self.analyzer is None:
            self.analyzer = FaceAnalyzer(self.thresholds)
        if self.confirmer is None:
            self.confirmer = FaceAnalyzer(self.thresholds, track=False)

    @property
    def streak(self) -> int:
        return len(self._run)

    def feed(self, image: np.ndarray) -> tuple[FaceAnalysis, FaceCapture | None]:
        """Analyse one frame; returns its analysis and the capture when it fires (once)."""
        assert self.analyzer is not None
        analysis = self.analyzer.analyze(image)
        self._latest = (image, analysis)
        if self.captured is not None:
            return analysis, None
        if analysis.report.passed:
            self._run.append((image, analysis))
        else:
            self._run.clear()
        if len(self._run) >= self.thresholds.auto_capture_frames:
            image_best, best = max(self._run, key=lambda r: r[1].sharpness)
            # tracking looked near the face only: confirm the chosen frame with a whole-frame
            # search (one face, all checks) before keeping it
            assert self.confirmer is not None
            confirm = self.confirmer.analyze(image_best, previous=best.face)
            if not confirm.report.passed:
                self._run.clear()
                return confirm, None
            self.captured = FaceCapture(image_best.copy(), best)
            return analysis, self.captured
        return analysis, None

    def manual(self) -> FaceCapture:
        """The operator presses capture: keep the latest frame, flagged manual."""
        if self._latest is None:
            raise CaptureError("face.no_frame")
        image, analysis = self._latest
        analysis = replace(analysis, report=replace(analysis.report, manual=True))
        self.captured = FaceCapture(image.copy(), analysis)
        return self.captured

    def reset(self) -> None:
        self._run.clear()
        self._latest = None
        self.captured = None
        assert self.analyzer is not None
        self.analyzer.reset()


# ------------------------------------------------------------------------------------------
# Token image


def token_image(image: np.ndarray, face: FaceGeometry, width: int = 480) -> np.ndarray:
    """ISO/IEC 19794-5 token portrait: width W, height W/0.75, eyes level, eye midpoint at
    (W/2, 0.6 W) and the eyes W/4 apart. Parts outside the frame are filled by edge pixels.

    Without detected eyes (a manual capture) the eye positions are estimated from the face box,
    so the operator still gets a portrait; its report says the eyes check failed."""
    height = int(round(width / 0.75))
    mx, my = face.eye_mid
    s = (width / 4.0) / face.eye_distance
    roll = face.roll_deg
    m = cv2.getRotationMatrix2D((mx, my), roll, s)  # undo the roll, scale to the token's eye distance
    m[0, 2] += width / 2 - mx
    m[1, 2] += 0.6 * width - my
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    return cv2.warpAffine(image, m, (width, height), flags=interp, borderMode=cv2.BORDER_REPLICATE)


def encode_token(token: np.ndarray, fmt: str = "jpeg", quality: int = 92) -> bytes:
    """JPEG (baseline) or JPEG 2000 bytes of a token image (ICAO 9303 part 10 allows both)."""
    if fmt == "jpeg":
        ok, buf = cv2.imencode(".jpg", token, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    elif fmt == "jp2":
        # compression ratio in per-mille of the raw size; 40 ~ 25:1, ample for a 480 x 640 portrait
        ok, buf = cv2.imencode(".jp2", token, [cv2.IMWRITE_JPEG2000_COMPRESSION_X1000, 40])
    else:
        raise CaptureError("face.format", format=fmt)
    if not ok:
        raise CaptureError("face.encode_failed", format=fmt)
    return buf.tobytes()


@dataclass(frozen=True)
class FaceSample:
    """What the record stores for the face: encoded token image, its format and the report."""

    data: bytes
    format: str
    width: int
    height: int
    report: QualityReport


def face_sample(capture: FaceCapture, thresholds: FaceThresholds | None = None) -> FaceSample:
    th = thresholds or FaceThresholds()
    if capture.analysis.face is None:
        raise CaptureError("face.not_found")
    token = token_image(capture.image, capture.analysis.face, th.token_width)
    data = encode_token(token, th.token_format, th.jpeg_quality)
    return FaceSample(data, th.token_format, token.shape[1], token.shape[0], capture.report)
