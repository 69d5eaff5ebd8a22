"""Iris capture quality and the stored iris sample.

The SBI iris device scores each eye itself (``qualityScore``, 0-100); the station compares that
score with ``[quality.iris] min_device_quality`` (kiosk.capture.thresholds.IrisThresholds), or
with the device table's own ``min_quality`` where a station sets one per device, the way MOSIP's
registration client compares it with its iris threshold. The record keeps the ISO/IEC 19794-6
record exactly as the device signed it (or a PNG of the image, by config), one sample per eye:
kind ``iris``, position 1 right / 2 left (the ISO/IEC 19794-6 eye labels). Attempts per eye and
which one is kept: :mod:`kiosk.enroll.irises`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2

from kiosk.capture.report import Check, QualityReport
from kiosk.capture.thresholds import IrisThresholds
from kiosk.devices.protocols import IrisImage

EYE_NAMES = {1: "right", 2: "left"}


@dataclass(frozen=True)
class IrisSample:
    """What the record stores for one eye."""

    eye: int
    data: bytes
    format: str  # "iso19794-6" or "png"
    device_quality: float | None
    width: int
    height: int
    report: QualityReport


def assess_iris(image: IrisImage, thresholds: IrisThresholds | None = None,
                min_quality: float | None = None) -> QualityReport:
    """The quality report of one eye: its device score against the threshold."""
    th = thresholds or IrisThresholds()
    minimum = th.min_device_quality if min_quality is None else min_quality
    score = image.device_quality
    ok = score is not None and score >= minimum
    eye = EYE_NAMES.get(image.eye, str(image.eye))
    code = f"iris.{eye}_low_quality" if score is not None else f"iris.{eye}_no_quality"
    check = Check("iris_quality", ok, score, code,
                  {"score": "-" if score is None else round(score), "minimum": round(minimum)})
    return QualityReport("iris", (check,), score=score)


def iris_sample(image: IrisImage, report: QualityReport, thresholds: IrisThresholds | None = None) -> IrisSample:
    th = thresholds or IrisThresholds()
    h, w = image.pixels.shape[:2]
    if th.image_format == "iso19794-6" and image.record:
        data, fmt = image.record, "iso19794-6"
    else:
        ok, buf = cv2.imencode(".png", image.pixels)
        if not ok:
            raise ValueError("PNG encoding failed")
        data, fmt = buf.tobytes(), "png"
    return IrisSample(image.eye, data, fmt, image.device_quality, w, h, report)
