"""Signature checks and rendering from a pad's pen points.

:func:`assess_signature` refuses empty and trivial signatures (too few points, a tiny box, a
single short stroke); :func:`render_signature` scales the ink into the e-KTP signature box
(about 25 x 10 mm) at the card's resolution, stroke width following pen pressure;
:func:`points_json` keeps the raw points (the time series ISO/IEC 19794-7 describes) so the
signature can be rendered again at another size or checked later.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from kiosk.capture.report import CaptureError, Check, QualityReport
from kiosk.capture.thresholds import SignatureThresholds
from kiosk.devices.protocols import PenPoint

#: sub-pixel precision of cv2 drawing (coordinates are multiplied by 2**SHIFT)
SHIFT = 4


def strokes(points: Sequence[PenPoint]) -> list[list[PenPoint]]:
    """Split the pen points into strokes: runs of points with the tip down."""
    out: list[list[PenPoint]] = []
    current: list[PenPoint] = []
    for p in points:
        if p.tip:
            current.append(p)
        elif current:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


def stroke_length(stroke: Sequence[PenPoint]) -> float:
    return sum(math.dist((a.x, a.y), (b.x, b.y)) for a, b in zip(stroke, stroke[1:]))


def assess_signature(points: Sequence[PenPoint], thresholds: SignatureThresholds | None = None) -> QualityReport:
    th = thresholds or SignatureThresholds()
    ink = [p for p in points if p.tip]
    parts = strokes(points)
    checks = [Check("points", len(ink) >= th.min_points, float(len(ink)),
                    "signature.empty" if not ink else "signature.too_few_points",
                    {"count": len(ink), "minimum": th.min_points})]
    if ink:
        xs, ys = [p.x for p in ink], [p.y for p in ink]
        width, height = max(xs) - min(xs), max(ys) - min(ys)
    else:
        width = height = 0.0
    checks.append(Check("size", width >= th.min_width_mm and height >= th.min_height_mm, width,
                        "signature.too_small", {"width_mm": round(width, 1), "height_mm": round(height, 1)}))
    total = sum(stroke_length(s) for s in parts)
    single_ok = len(parts) != 1 or total >= th.min_single_stroke_mm
    checks.append(Check("strokes", bool(parts) and single_ok, total, "signature.too_simple",
                        {"strokes": len(parts), "length_mm": round(total, 1)}))
    return QualityReport("signature", tuple(checks))


def render_signature(points: Sequence[PenPoint], thresholds: SignatureThresholds | None = None) -> np.ndarray:
    """Black ink on white, the signature box of the card at ``dpi`` (uint8, H x W).

    The ink's bounding box is scaled uniformly to fit inside the box less the margin and
    centred (normalises position and size, keeps the writer's proportions)."""
    th = thresholds or SignatureThresholds()
    px_per_mm = th.dpi / 25.4
    w = int(round(th.box_width_mm * px_per_mm))
    h = int(round(th.box_height_mm * px_per_mm))
    canvas = np.full((h, w), 255, np.uint8)
    parts = strokes(points)
    ink = [p for s in parts for p in s]
    if not ink:
        raise CaptureError("signature.empty")
    x0, x1 = min(p.x for p in ink), max(p.x for p in ink)
    y0, y1 = min(p.y for p in ink), max(p.y for p in ink)
    avail_w = th.box_width_mm - 2 * th.margin_mm
    avail_h = th.box_height_mm - 2 * th.margin_mm
    scale = min(avail_w / max(x1 - x0, 1e-6), avail_h / max(y1 - y0, 1e-6))
    off_x = th.margin_mm + (avail_w - (x1 - x0) * scale) / 2
    off_y = th.margin_mm + (avail_h - (y1 - y0) * scale) / 2
    one = 1 << SHIFT

    def to_px(p: PenPoint) -> tuple[int, int]:
        return (int(round(((p.x - x0) * scale + off_x) * px_per_mm * one)),
                int(round(((p.y - y0) * scale + off_y) * px_per_mm * one)))

    for stroke in parts:
        if len(stroke) == 1:
            r = max(1, int(round(th.stroke_mm * px_per_mm / 2)))
            cv2.circle(canvas, to_px(stroke[0]), r * one, 0, -1, cv2.LINE_AA, SHIFT)
            continue
        for a, b in zip(stroke, stroke[1:]):
            pressure = max(0.2, min(1.0, (a.pressure + b.pressure) / 2))
            thick = max(1, int(round(th.stroke_mm * px_per_mm * pressure)))
            cv2.line(canvas, to_px(a), to_px(b), 0, thick, cv2.LINE_AA, SHIFT)
    return canvas


def points_json(points: Sequence[PenPoint], writing_area_mm: tuple[float, float] | None = None) -> bytes:
    """The raw pen points as compact JSON: ``{"unit": "mm", "points": [[x, y, p, tip, t], ...]}``
    with time in seconds from the first point."""
    t0 = points[0].timestamp if points else 0.0
    doc = {"version": 1, "unit": "mm", "area_mm": list(writing_area_mm) if writing_area_mm else None,
           "fields": ["x", "y", "pressure", "tip", "t"],
           "points": [[round(p.x, 3), round(p.y, 3), round(p.pressure, 3), int(p.tip), round(p.timestamp - t0, 4)]
                      for p in points]}
    return json.dumps(doc, separators=(",", ":")).encode()


def points_from_json(data: bytes) -> list[PenPoint]:
    doc = json.loads(data)
    if doc.get("version") != 1 or doc.get("unit") != "mm":
        raise CaptureError("signature.bad_points")
    return [PenPoint(float(x), float(y), float(p), bool(tip), float(t)) for x, y, p, tip, t in doc["points"]]


@dataclass(frozen=True)
class SignatureSample:
    """What the record stores: the rendered PNG at card resolution and the raw points."""

    image: bytes
    points: bytes
    report: QualityReport


def signature_sample(points: Sequence[PenPoint], thresholds: SignatureThresholds | None = None, *,
                     writing_area_mm: tuple[float, float] | None = None) -> SignatureSample:
    """Check, render and package a signature; raises CaptureError on a trivial one."""
    th = thresholds or SignatureThresholds()
    report = assess_signature(points, th)
    if not report.passed:
        first = report.failed[0]
        raise CaptureError(first.code, **first.params)
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(render_signature(points, th), mode="L").save(buf, format="PNG", dpi=(th.dpi, th.dpi))
    return SignatureSample(buf.getvalue(), points_json(points, writing_area_mm), report)
