"""Face checks for an ICAO 9303 / ISO/IEC 19794-5 style portrait, per camera frame.

:class:`FaceAnalyzer` looks at one BGR frame and returns a :class:`FaceAnalysis`: where the
face and eyes are and a :class:`~kiosk.capture.report.QualityReport` with one
:class:`~kiosk.capture.report.Check` per requirement (eye line, head size, centring, roll,
yaw, sharpness, exposure, dynamic range, illumination, background, stillness). A failed
check carries the operator's guidance code (``face.move_closer``, ``face.too_dark`` ...).

Speed (30 fps camera, 2 cores): detection runs on a half-size grey image, and once a face
was seen only around its last position (plus a cheap whole-frame look every 15th frame for
a second person); eyes are searched in the eye band of the face only; photometric measures
use small fixed-size crops. See ``benchmarks/bench_capture.py``.

From frames to the stored portrait (auto-capture, the ISO/IEC 19794-5 token image):
:mod:`kiosk.capture.face_capture`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

from kiosk.capture.report import CaptureError, Check, QualityReport
from kiosk.capture.thresholds import FaceThresholds

#: detection works on frames scaled to this width (a 640 px frame is halved)
DETECT_WIDTH = 320
#: chin-to-crown length / height of the Haar face box. The box spans about brows to chin; on
#: the test portrait the hair top sits 0.54 box heights above it and the chin 0.25 below
#: (1.8 with hair); ICAO's crown is the skull top under the hair, hence 1.6
HEAD_PER_BOX = 1.6
#: photometric measures run on the face resized to this width (scale-independent values)
NORM_WIDTH = 128
#: the eye band of the face is searched at this width
EYE_BAND_WIDTH = 96

Box = tuple[int, int, int, int]  # x, y, w, h in frame pixels


@cache
def _cascade(name: str) -> cv2.CascadeClassifier:
    # cascades ship inside opencv-python-headless (cv2.data.haarcascades); never downloaded
    clf = cv2.CascadeClassifier(cv2.data.haarcascades + name)
    if clf.empty():
        raise CaptureError("face.model_missing", file=name)
    return clf


@dataclass(frozen=True)
class FaceGeometry:
    """Where the face is in the frame (pixels). Eyes are the subject's right eye first
    (it appears on the left of the image)."""

    box: Box
    right_eye: tuple[float, float] | None
    left_eye: tuple[float, float] | None

    @property
    def has_eyes(self) -> bool:
        return self.right_eye is not None and self.left_eye is not None

    @property
    def eye_mid(self) -> tuple[float, float]:
        if self.right_eye is None or self.left_eye is None:
            x, y, w, h = self.box
            return (x + w / 2, y + 0.38 * h)  # where eyes sit in a Haar face box
        return ((self.right_eye[0] + self.left_eye[0]) / 2, (self.right_eye[1] + self.left_eye[1]) / 2)

    @property
    def eye_distance(self) -> float:
        if self.right_eye is None or self.left_eye is None:
            return self.box[2] * 0.42
        return math.dist(self.right_eye, self.left_eye)

    @property
    def roll_deg(self) -> float:
        if self.right_eye is None or self.left_eye is None:
            return 0.0
        return math.degrees(math.atan2(self.left_eye[1] - self.right_eye[1], self.left_eye[0] - self.right_eye[0]))


@dataclass(frozen=True)
class FaceAnalysis:
    report: QualityReport
    #: geometry of the one face, None when there is not exactly one
    face: FaceGeometry | None
    faces_found: int
    #: sharpness of the face (Laplacian variance), used to pick the best frame
    sharpness: float = 0.0


class FaceAnalyzer:
    """Per-frame face checks. Keeps the last face position to search near it next frame."""

    def __init__(self, thresholds: FaceThresholds | None = None, *, track: bool = True,
                 full_search_every: int = 15) -> None:
        self.th = thresholds or FaceThresholds()
        self.track = track
        #: while tracking, search the whole frame every this many frames anyway, so a second
        #: person stepping in is noticed within half a second at 30 fps
        self.full_search_every = max(1, full_search_every)
        self._faces = _cascade("haarcascade_frontalface_default.xml")
        self._eyes = _cascade("haarcascade_eye.xml")
        self._last: FaceGeometry | None = None
        self._frames = 0

    def reset(self) -> None:
        self._last = None
        self._frames = 0

    # -- detection ---------------------------------------------------------------------------

    def _detect_faces(self, small: np.ndarray, scale: float) -> list[Box]:
        sh, sw = small.shape
        self._frames += 1
        if self.track and self._last is not None and not self._frames % self.full_search_every:
            # periodic look at the whole frame for someone else stepping in: anyone at least
            # half the resident's face size, on a frame shrunk so that size is the 24 px window
            w_last = self._last.box[2] / scale
            shrink = min(1.0, 48.0 / max(1.0, w_last))
            view = cv2.resize(small, (max(1, int(sw * shrink)), max(1, int(sh * shrink))),
                              interpolation=cv2.INTER_AREA) if shrink < 1.0 else small
            found = self._faces.detectMultiScale(view, 1.15, 4, minSize=(24, 24))
            k = scale / shrink
            return [(int(fx * k), int(fy * k), int(fw * k), int(fh * k)) for fx, fy, fw, fh in found]
        if self.track and self._last is not None:
            # search only around the last face (its box grown by a third on each side), shrunk
            # so the face is ~40 px (the Haar window is 24 px), for sizes 0.75-1.33x the last:
            # a face moves and grows little in 33 ms
            x, y, w, h = (int(v / scale) for v in self._last.box)
            x0, y0 = max(0, x - w // 3), max(0, y - h // 3)
            x1, y1 = min(sw, x + w + w // 3), min(sh, y + h + h // 3)
            shrink = min(1.0, 40.0 / max(1, w))
            roi = small[y0:y1, x0:x1]
            if shrink < 1.0:
                roi = cv2.resize(roi, (max(1, int(roi.shape[1] * shrink)), max(1, int(roi.shape[0] * shrink))),
                                 interpolation=cv2.INTER_AREA)
            found = self._faces.detectMultiScale(roi, 1.1, 3, minSize=(max(24, int(w * shrink * 0.75)),) * 2,
                                                 maxSize=(int(w * shrink * 1.33) + 1,) * 2)
            if len(found) == 1:
                k = scale / shrink
                return [(int(fx * k + x0 * scale), int(fy * k + y0 * scale), int(fw * k), int(fh * k))
                        for fx, fy, fw, fh in found]
        # whole frame: faces smaller than 1/6 of the height are too far for a portrait anyway
        min_side = max(24, int(sh / 6))
        found = self._faces.detectMultiScale(small, 1.15, 4, minSize=(min_side, min_side))
        return [(int(fx * scale), int(fy * scale), int(fw * scale), int(fh * scale)) for fx, fy, fw, fh in found]

    def _detect_eyes(self, grey: np.ndarray, box: Box) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
        x, y, w, h = box
        # eyes lie in the band 20-58 % down the face box
        y0, y1 = y + int(0.20 * h), y + int(0.58 * h)
        roi = grey[max(0, y0):y1, max(0, x):x + w]
        if roi.size == 0:
            return None, None
        # the face band scaled to 96 px: eyes ~18-24 px, just above the 20 px cascade window
        f = EYE_BAND_WIDTH / max(1, roi.shape[1])
        roi_s = cv2.resize(roi, (EYE_BAND_WIDTH, max(1, int(roi.shape[0] * f))), interpolation=cv2.INTER_AREA)
        eyes = self._eyes.detectMultiScale(roi_s, 1.15, 3, minSize=(16, 16), maxSize=(34, 34))
        right: tuple[float, float, float] | None = None  # (x, y, size) in the left image half
        left: tuple[float, float, float] | None = None
        for ex, ey, ew, eh in eyes:
            cx, cy = ex + ew / 2, ey + eh / 2
            if cx < EYE_BAND_WIDTH / 2:
                if right is None or ew > right[2]:
                    right = (cx, cy, ew)
            elif left is None or ew > left[2]:
                left = (cx, cy, ew)
        to_frame = lambda p: (float(max(0, x) + p[0] / f), float(max(0, y0) + p[1] / f))  # noqa: E731
        return (to_frame(right) if right else None, to_frame(left) if left else None)

    # -- analysis ----------------------------------------------------------------------------

    def analyze(self, image: np.ndarray, previous: FaceGeometry | None = None) -> FaceAnalysis:
        """All checks on one BGR (or grey) frame. ``previous``: the face in the frame before
        (for the stillness check); defaults to what this analyzer saw last."""
        prev = previous if previous is not None else self._last
        grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        hgt, wid = grey.shape
        scale = wid / DETECT_WIDTH
        small = cv2.resize(grey, (DETECT_WIDTH, int(round(hgt / scale))), interpolation=cv2.INTER_AREA)
        boxes = self._detect_faces(small, scale)
        if len(boxes) != 1:
            self._last = None
            code = "face.not_found" if not boxes else "face.one_person"
            checks = (Check("face_count", False, float(len(boxes)), code, {"count": len(boxes)}),)
            return FaceAnalysis(QualityReport("face", checks), None, len(boxes))
        box = boxes[0]
        right, left = self._detect_eyes(grey, box)
        geo = FaceGeometry(box, right, left)
        self._last = geo
        checks: list[Check] = [Check("face_count", True, 1.0, "face.not_found", {"count": 1})]
        checks.append(Check("eyes", geo.has_eyes, float(geo.has_eyes), "face.eyes_not_visible"))
        checks += self._geometry_checks(image, geo, wid, hgt)
        face_norm, sharp = self._face_crop(grey, box)
        checks += self._photometric_checks(face_norm, sharp)
        checks.append(self._background_check(small, box, scale))
        checks.append(self._motion_check(geo, prev))
        return FaceAnalysis(QualityReport("face", tuple(checks)), geo, 1, sharp)

    def _geometry_checks(self, image: np.ndarray, geo: FaceGeometry, wid: int, hgt: int) -> list[Check]:
        th = self.th
        out = []
        mx, my = geo.eye_mid
        eye_line = my / hgt
        if eye_line < th.eye_line_min:
            out.append(Check("eye_line", False, eye_line, "face.eyes_too_high", {"share": round(eye_line, 2)}))
        elif eye_line > th.eye_line_max:
            out.append(Check("eye_line", False, eye_line, "face.eyes_too_low", {"share": round(eye_line, 2)}))
        else:
            out.append(Check("eye_line", True, eye_line))
        head = geo.box[3] * HEAD_PER_BOX / hgt
        if head < th.head_share_min or geo.eye_distance < th.min_eye_distance_px:
            out.append(Check("head_size", False, head, "face.move_closer",
                             {"share": round(head, 2), "eye_distance": round(geo.eye_distance)}))
        elif head > th.head_share_max:
            out.append(Check("head_size", False, head, "face.move_back", {"share": round(head, 2)}))
        else:
            out.append(Check("head_size", True, head))
        off = mx / wid - 0.5
        # the side of the picture the face sits on (the operator sees the same preview)
        code = "face.off_centre_left" if off < 0 else "face.off_centre_right"
        out.append(Check("centering", abs(off) <= th.centre_tolerance, off, code, {"offset": round(abs(off), 2)}))
        roll = geo.roll_deg
        out.append(Check("roll", abs(roll) <= th.max_roll_deg, roll, "face.straighten",
                         {"degrees": round(abs(roll))}))
        yaw = self._yaw_deg(image, geo)
        out.append(Check("yaw", abs(yaw) <= th.max_yaw_deg, yaw, "face.turn", {"degrees": round(abs(yaw))}))
        return out

    @staticmethod
    def _yaw_deg(image: np.ndarray, geo: FaceGeometry) -> float:
        """Rough yaw from symmetry: as the head turns, the eyes slide towards one cheek's
        edge. The cheek edges come from skin colour (YCrCb) in a band just below the eyes;
        with the head as a cylinder of radius r, offset = r sin(yaw)."""
        if not geo.has_eyes or image.ndim != 3:
            return 0.0
        hgt, wid = image.shape[:2]
        mx, my = geo.eye_mid
        ied = geo.eye_distance
        y0, y1 = int(my + 0.25 * ied), int(my + 0.55 * ied)
        x0, x1 = max(0, int(mx - 2.2 * ied)), min(wid, int(mx + 2.2 * ied))
        band = image[max(0, y0):min(hgt, y1), x0:x1]
        if band.size == 0:
            return 0.0
        ycc = cv2.cvtColor(band, cv2.COLOR_BGR2YCrCb)
        skin = ((ycc[..., 1] >= 133) & (ycc[..., 1] <= 180) & (ycc[..., 2] >= 77) & (ycc[..., 2] <= 135))
        cols = skin.mean(axis=0) > 0.5
        c = int(mx) - x0
        gap = max(2, int(0.08 * ied))  # tolerate small gaps (shadows, moles)

        def edge(step: int) -> int:
            pos, miss = c, 0
            while 0 <= pos + step < len(cols) and miss <= gap:
                pos += step
                miss = 0 if cols[pos] else miss + 1
            return pos - step * miss

        left_edge, right_edge = edge(-1), edge(1)
        r = (right_edge - left_edge) / 2
        if r < 0.5 * ied:
            return 0.0  # no skin found around the eyes (grey picture, odd light): not judged
        off = (c - (left_edge + right_edge) / 2) / r
        return math.degrees(math.asin(max(-1.0, min(1.0, off))))

    def _face_crop(self, grey: np.ndarray, box: Box) -> tuple[np.ndarray, float]:
        x, y, w, h = box
        # the inner face (forehead to chin, cheek to cheek) avoids hair and background
        ix0, ix1 = x + int(0.15 * w), x + int(0.85 * w)
        iy0, iy1 = y + int(0.12 * h), y + int(0.95 * h)
        crop = grey[max(0, iy0):iy1, max(0, ix0):ix1]
        f = NORM_WIDTH / max(1, crop.shape[1])
        norm = cv2.resize(crop, (NORM_WIDTH, max(1, int(crop.shape[0] * f))), interpolation=cv2.INTER_AREA)
        # sharpness on a contrast-stretched copy, so a dark or flat picture is judged by
        # exposure and dynamic range, not twice
        lo, hi = np.percentile(norm, (1, 99))
        stretched = ((norm.astype(np.float32) - float(lo)) * (255.0 / max(8.0, float(hi - lo)))).astype(np.float32)
        sharp = float(cv2.Laplacian(stretched, cv2.CV_32F).var()) / 100.0
        return norm, sharp

    def _photometric_checks(self, face: np.ndarray, sharp: float) -> list[Check]:
        th = self.th
        out = [Check("sharpness", sharp >= th.min_sharpness, sharp, "face.blurred")]
        n = face.size
        under = float(np.count_nonzero(face < 40)) / n
        over = float(np.count_nonzero(face > 245)) / n
        if under > th.max_under_exposed_share:
            out.append(Check("exposure", False, under, "face.too_dark", {"share": round(under, 2)}))
        elif over > th.max_over_exposed_share:
            out.append(Check("exposure", False, over, "face.too_bright", {"share": round(over, 2)}))
        else:
            out.append(Check("exposure", True, max(under, over)))
        lo, hi = np.percentile(face, (1, 99))
        span = float(hi) - float(lo)
        out.append(Check("dynamic_range", span >= th.min_dynamic_range, span, "face.low_contrast",
                         {"levels": round(span)}))
        # left/right halves of the central face (skip the outer cheeks, which turn away)
        fh, fw = face.shape
        band = face[fh // 5: fh * 4 // 5]
        left_mean = float(band[:, fw // 8: fw // 2].mean())
        right_mean = float(band[:, fw // 2: fw * 7 // 8].mean())
        ratio = min(left_mean, right_mean) / max(1.0, left_mean, right_mean)
        darker = "left" if left_mean < right_mean else "right"
        out.append(Check("illumination", ratio >= th.min_illumination_ratio, ratio,
                         f"face.shadow_{darker}", {"ratio": round(ratio, 2)}))
        return out

    def _background_check(self, small: np.ndarray, box: Box, scale: float) -> Check:
        th = self.th
        sh, sw = small.shape
        x, y, w, h = (int(v / scale) for v in box)
        # exclude the head with its hair (1.6 face widths) and everything below the chin
        # (neck, shoulders); keep the strips above and beside the head
        mask = np.ones((sh, sw), bool)
        hx0, hx1 = max(0, x - int(0.45 * w)), min(sw, x + w + int(0.45 * w))
        hy0 = max(0, y - int(0.75 * h))
        mask[hy0:, hx0:hx1] = False
        mask[min(sh, y + h):, :] = False
        if mask.sum() < 0.05 * sh * sw:
            return Check("background", True, None)  # face fills the frame: nothing to judge
        blurred = cv2.GaussianBlur(small, (5, 5), 0)
        std = float(blurred[mask].std())
        gx = cv2.Sobel(blurred, cv2.CV_16S, 1, 0)
        gy = cv2.Sobel(blurred, cv2.CV_16S, 0, 1)
        mag = np.abs(gx).astype(np.int32) + np.abs(gy)
        edges = float(np.count_nonzero(mag[mask] > 120)) / float(mask.sum())
        plain = std <= th.max_background_std and edges <= th.max_background_edges
        return Check("background", plain, std, "face.background", {"std": round(std, 1), "edges": round(edges, 3)})

    def _motion_check(self, geo: FaceGeometry, prev: FaceGeometry | None) -> Check:
        if prev is None:
            return Check("stillness", True, None, "face.hold_still")
        moved = math.dist(geo.eye_mid, prev.eye_mid) / max(1.0, geo.eye_distance)
        return Check("stillness", moved <= self.th.max_motion, moved, "face.hold_still")


def analyze_face(image: np.ndarray, thresholds: FaceThresholds | None = None) -> FaceAnalysis:
    """One frame on its own (no tracking, no stillness reference)."""
    return FaceAnalyzer(thresholds, track=False).analyze(image)

