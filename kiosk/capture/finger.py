"""Fingerprint capture quality, wrong-finger check and storage formats (a finger that cannot be
captured: :mod:`kiosk.capture.finger_exceptions`).

Where each measure is used:

* **Live feedback** (every scanner frame, a few ms): :func:`live_stats` / :func:`live_report`
  compute the foreground share, the mean orientation certainty (NFIQ 2's OCL idea) and a
  ridge clarity ratio with plain OpenCV filters, so the operator can say "press the whole
  finger" or "wipe the finger" while it is still on the glass.
* **Recorded score** (once per attempt, ~0.1 s): NFIQ 2 from NIST's implementation shipped in
  ``nbis-py`` (:meth:`FingerprintEngine.assess`); the best of ``attempts_per_finger``
  attempts is kept (:class:`FingerSlot`).
* **Wrong-finger check** (after the ten-print): minutiae (NIST mindtct) of every slot compared
  pairwise with bozorth3 (:func:`find_duplicates`); two slots scoring above the threshold hold
  the same finger.
* **Storage**: the image at 500 ppi as WSQ (``wsq`` Pillow plugin) or PNG, and an
  ISO/IEC 19794-2:2005 minutiae record (:mod:`kiosk.capture.iso19794_2`).
"""

from __future__ import annotations

import enum
import io
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import cv2
import numpy as np

from kiosk.capture.iso19794_2 import MinutiaPoint, encode_iso_19794_2
from kiosk.capture.report import CaptureError, Check, QualityReport
from kiosk.capture.thresholds import FingerThresholds
from kiosk.config import PolicyConfig
from kiosk.devices.protocols import FingerImage


class FingerPosition(enum.IntEnum):
    """ISO/IEC 19794-4 / ANSI/NIST-ITL finger position codes."""

    RIGHT_THUMB = 1
    RIGHT_INDEX = 2
    RIGHT_MIDDLE = 3
    RIGHT_RING = 4
    RIGHT_LITTLE = 5
    LEFT_THUMB = 6
    LEFT_INDEX = 7
    LEFT_MIDDLE = 8
    LEFT_RING = 9
    LEFT_LITTLE = 10

    @property
    def code(self) -> str:
        """Catalog key of the finger's name, e.g. ``finger.position.right_index``."""
        return f"finger.position.{self.name.lower()}"


ALL_FINGERS: tuple[int, ...] = tuple(int(p) for p in FingerPosition)
#: the two index fingers: the e-KTP chip stores these; policy may require only them
EKTP_CHIP_FINGERS: tuple[int, ...] = (int(FingerPosition.RIGHT_INDEX), int(FingerPosition.LEFT_INDEX))


def finger_position(value: int) -> FingerPosition:
    try:
        return FingerPosition(value)
    except ValueError:
        raise CaptureError("finger.bad_position", position=value) from None


# ------------------------------------------------------------------------------------------
# Live statistics (fast, for guidance while the finger is on the sensor)

#: block size in pixels at 500 ppi (~0.8 mm, about 1.5 ridge periods)
BLOCK = 16


@dataclass(frozen=True)
class LiveStats:
    #: share of the image covered by ridge pattern (blocks with ridge contrast)
    foreground_share: float
    #: mean orientation certainty of foreground blocks, 0 (none) .. 1 (perfectly parallel)
    orientation_certainty: float
    #: mean share of a foreground block's energy within the ridge-frequency band
    ridge_clarity: float


def live_stats(image: np.ndarray) -> LiveStats:
    """Cheap image statistics of a 500 ppi grey finger image (ridges dark)."""
    img = image.astype(np.float32) / 255.0
    h, w = img.shape
    bh, bw = max(1, h // BLOCK), max(1, w // BLOCK)
    area = lambda a: cv2.resize(a, (bw, bh), interpolation=cv2.INTER_AREA)  # noqa: E731 - block means
    mean = area(img)
    var = np.maximum(area(img * img) - mean * mean, 0.0)
    fg = (np.sqrt(var) > 0.08) & (mean < 0.85)
    share = float(fg.mean())
    if not fg.any():
        return LiveStats(share, 0.0, 0.0)
    # orientation certainty: 1 - lambda_min / lambda_max of the block's gradient covariance
    gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3)
    a, b, c = area(gx * gx), area(gy * gy), area(gx * gy)
    root = np.sqrt((a - b) ** 2 + 4 * c * c)
    lmax, lmin = (a + b + root) / 2, (a + b - root) / 2
    ocl = 1.0 - lmin / np.maximum(lmax, 1e-9)
    # ridge clarity: energy in the band of ridge periods (~6-20 px at 500 ppi) against all
    # local energy; noise (fine) and smudge (coarse) fall outside the band
    fine = cv2.GaussianBlur(img, (0, 0), 1.2)
    band = fine - cv2.GaussianBlur(img, (0, 0), 3.5)
    detail = img - cv2.GaussianBlur(img, (0, 0), 8.0)
    clarity = area(band * band) / np.maximum(area(detail * detail), 1e-9)
    return LiveStats(share, float(ocl[fg].mean()), float(np.clip(clarity[fg], 0, 1).mean()))


def live_checks(stats: LiveStats, th: FingerThresholds) -> tuple[Check, ...]:
    if stats.foreground_share < 0.05:
        area = Check("foreground", False, stats.foreground_share, "finger.no_finger")
    else:
        area = Check("foreground", stats.foreground_share >= th.min_foreground_share, stats.foreground_share,
                     "finger.place_fully", {"share": round(stats.foreground_share, 2)})
    return (
        area,
        Check("orientation_certainty", stats.orientation_certainty >= th.min_orientation_certainty,
              stats.orientation_certainty, "finger.smudged"),
        Check("ridge_clarity", stats.ridge_clarity >= th.min_ridge_clarity, stats.ridge_clarity, "finger.unclear"),
    )


def live_report(image: np.ndarray, thresholds: FingerThresholds | None = None) -> QualityReport:
    """Guidance while the finger is on the sensor (no NFIQ 2: too slow for every frame)."""
    return QualityReport("finger", live_checks(live_stats(image), thresholds or FingerThresholds()))


# ------------------------------------------------------------------------------------------
# NFIQ 2, minutiae and bozorth3 through nbis-py


@cache
def _extractor(nfiq2: bool, ppi: int) -> Any:
    import nbis  # NIST NBIS (mindtct, bozorth3) and NFIQ 2, compiled into nbis-py

    settings = nbis.NbisExtractorSettings(min_quality=0.0, get_center=False, check_fingerprint=False,
                                          compute_nfiq2=nfiq2, ppi=float(ppi))
    return nbis.new_nbis_extractor(settings)


def _png(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise CaptureError("finger.encode_failed", format="png")
    return buf.tobytes()


@dataclass(frozen=True)
class FingerAssessment:
    """One attempt at one finger: its NFIQ 2 score, minutiae and quality report."""

    position: int
    image: np.ndarray
    nfiq2: int
    minutiae: Any  # nbis.Minutiae (opaque handle for bozorth3)
    report: QualityReport
    ppi: int = 500

    def points(self) -> list[MinutiaPoint]:
        return minutia_points(self.minutiae)

    def template(self) -> bytes:
        """ISO/IEC 19794-2:2005 minutiae record of this attempt."""
        h, w = self.image.shape
        return encode_iso_19794_2(self.points(), width=w, height=h, position=self.position,
                                  quality=self.nfiq2, ppi=self.ppi)


def to_resolution(image: np.ndarray, ppi: int, target_ppi: int = 500) -> np.ndarray:
    """Resample a finger image to ``target_ppi`` (a 508 ppi sensor is within 2 %: untouched)."""
    if ppi <= 0:
        raise CaptureError("finger.bad_image", shape=str(image.shape), dtype=f"ppi={ppi}")
    f = target_ppi / ppi
    if abs(f - 1.0) <= 0.02:
        return image
    h, w = image.shape[:2]
    size = (max(1, int(round(w * f))), max(1, int(round(h * f))))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC)


def minutia_points(minutiae: Any) -> list[MinutiaPoint]:
    import nbis

    out = []
    for m in minutiae.get():
        kind = "bifurcation" if m.kind() == nbis.MinutiaKind.BIFURCATION else "ending"
        out.append(MinutiaPoint(int(m.x()), int(m.y()), float(m.angle()), kind,
                                int(round(max(0.0, min(1.0, m.reliability())) * 100))))
    return out


class FingerprintEngine:
    """NFIQ 2 scoring, minutiae extraction and bozorth3 comparison (NIST code via nbis-py)."""

    def __init__(self, thresholds: FingerThresholds | None = None) -> None:
        self.th = thresholds or FingerThresholds()

    def load_models(self) -> None:
        """Load mindtct and NFIQ 2's model now (about 60 MB and a second, once per process)
        instead of at the first finger: the station does it while the operator logs in."""
        _extractor(True, self.th.ppi)
        _extractor(False, self.th.ppi)

    def minutiae(self, image: np.ndarray) -> Any:
        return _extractor(False, self.th.ppi).extract_minutiae(_png(image))

    def nfiq2(self, image: np.ndarray) -> int:
        return int(_extractor(True, self.th.ppi).extract_minutiae(_png(image)).quality().score)

    def assess(self, image: np.ndarray, position: int) -> FingerAssessment:
        """Full assessment of one attempt: live statistics, NFIQ 2 and minutiae."""
        pos = finger_position(position)
        if image.ndim != 2 or image.dtype != np.uint8:
            raise CaptureError("finger.bad_image", shape=str(image.shape), dtype=str(image.dtype))
        minutiae = _extractor(True, self.th.ppi).extract_minutiae(_png(image))
        score = int(minutiae.quality().score)
        checks = (Check("nfiq2", score >= self.th.min_nfiq2, float(score), "finger.low_quality",
                        {"score": score, "minimum": self.th.min_nfiq2}),) + live_checks(live_stats(image), self.th)
        return FingerAssessment(int(pos), image, score, minutiae,
                                QualityReport("finger", checks, score=float(score)), self.th.ppi)

    def assess_capture(self, capture: FingerImage, position: int | None = None) -> FingerAssessment:
        """Assess what a scanner driver returned, brought to the standard resolution first
        (NFIQ 2 and mindtct are defined for 500 ppi images)."""
        pos = position if position is not None else capture.position
        return self.assess(to_resolution(capture.pixels, capture.ppi, self.th.ppi), pos)

    @staticmethod
    def compare(a: Any, b: Any) -> int:
        """bozorth3 similarity of two minutiae sets (probe a against gallery b; bozorth3 is
        near-symmetric, one direction is enough for the wrong-finger check)."""
        return int(a.compare(b))


@dataclass
class FingerSlot:
    """Attempts at one finger position; keeps the best (highest NFIQ 2)."""

    position: int
    max_attempts: int = 3
    min_nfiq2: int = 35
    attempts: list[FingerAssessment] = field(default_factory=list)

    def add(self, attempt: FingerAssessment) -> FingerAssessment:
        if attempt.position != self.position:
            raise CaptureError("finger.wrong_slot", expected=self.position, got=attempt.position)
        if self.exhausted:
            raise CaptureError("finger.no_attempts_left", position=self.position, attempts=self.max_attempts)
        self.attempts.append(attempt)
        return self.best  # type: ignore[return-value]

    @property
    def best(self) -> FingerAssessment | None:
        return max(self.attempts, key=lambda a: a.nfiq2, default=None)

    @property
    def good_enough(self) -> bool:
        return self.best is not None and self.best.nfiq2 >= self.min_nfiq2

    @property
    def exhausted(self) -> bool:
        return len(self.attempts) >= self.max_attempts

    @property
    def done(self) -> bool:
        """No more attempts wanted: a good one is in, or the attempts are used up."""
        return self.good_enough or self.exhausted


def slots_for_policy(policy: PolicyConfig, thresholds: FingerThresholds | None = None) -> dict[int, FingerSlot]:
    th = thresholds or FingerThresholds()
    return {int(finger_position(p)): FingerSlot(p, policy.attempts_per_finger, th.min_nfiq2)
            for p in policy.required_fingers}


# ------------------------------------------------------------------------------------------
# Wrong-finger check


@dataclass(frozen=True)
class DuplicatePair:
    """Two slots whose prints match: the same finger was probably captured twice."""

    first: int
    second: int
    score: int


def pairwise_scores(minutiae: Mapping[int, Any]) -> dict[tuple[int, int], int]:
    return {(a, b): FingerprintEngine.compare(minutiae[a], minutiae[b])
            for a, b in itertools.combinations(sorted(minutiae), 2)}


def find_duplicates(minutiae: Mapping[int, Any], threshold: int = 50) -> list[DuplicatePair]:
    """Compare every pair of captured fingers (position -> nbis.Minutiae) with bozorth3."""
    return [DuplicatePair(a, b, s) for (a, b), s in pairwise_scores(minutiae).items() if s >= threshold]


def duplicate_report(minutiae: Mapping[int, Any], threshold: int = 50) -> QualityReport:
    dups = find_duplicates(minutiae, threshold)
    checks = tuple(Check("same_finger", False, float(d.score), "finger.same_finger",
                         {"first": d.first, "second": d.second, "score": d.score}) for d in dups)
    return QualityReport("finger", checks or (Check("same_finger", True, None, "finger.same_finger"),))


# ------------------------------------------------------------------------------------------
# Storage formats


def encode_finger_image(image: np.ndarray, fmt: str = "wsq", ppi: int = 500) -> bytes:
    """ISO/IEC 19794-4 style image data: WSQ (FBI/NIST wavelet, ~12:1, through the ``wsq``
    Pillow plugin) or lossless PNG carrying the resolution in its pHYs chunk."""
    from PIL import Image

    if image.ndim != 2 or image.dtype != np.uint8:
        raise CaptureError("finger.bad_image", shape=str(image.shape), dtype=str(image.dtype))
    buf = io.BytesIO()
    pil = Image.fromarray(image, mode="L")
    if fmt == "wsq":
        import wsq  # noqa: F401 - registers the WSQ codec with Pillow

        pil.save(buf, format="WSQ")
    elif fmt == "png":
        pil.save(buf, format="PNG", dpi=(ppi, ppi))
    else:
        raise CaptureError("finger.format", format=fmt)
    return buf.getvalue()


def decode_finger_image(data: bytes) -> np.ndarray:
    from PIL import Image

    if data[:2] == b"\xff\xa0":
        import wsq  # noqa: F401

    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("L"))


@dataclass(frozen=True)
class FingerSample:
    """What the record stores for one finger: image bytes, template bytes and the report."""

    position: int
    image: bytes
    image_format: str
    template: bytes
    nfiq2: int
    report: QualityReport


def finger_sample(best: FingerAssessment, thresholds: FingerThresholds | None = None) -> FingerSample:
    th = thresholds or FingerThresholds()
    return FingerSample(best.position, encode_finger_image(best.image, th.image_format, th.ppi), th.image_format,
                        best.template(), best.nfiq2, best.report)
