"""Signature checks, rendering and raw points."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from kiosk.capture.report import CaptureError
from kiosk.capture.signature import (assess_signature, points_from_json, points_json, render_signature,
                                     signature_sample, strokes)
from kiosk.capture.thresholds import SignatureThresholds
from kiosk.devices.protocols import PenPoint


def pen(path: list[tuple[float, float]], t0: float = 0.0, pressure: float = 0.6) -> list[PenPoint]:
    """One stroke along ``path`` followed by a pen-up point."""
    pts = [PenPoint(x, y, pressure, True, t0 + i * 0.01) for i, (x, y) in enumerate(path)]
    return pts + [PenPoint(path[-1][0], path[-1][1], 0.0, False, t0 + len(path) * 0.01)]


def good_signature() -> list[PenPoint]:
    """A looping 40 x 12 mm scribble in two strokes."""
    first = [(5 + t * 0.4, 10 + 6 * math.sin(t / 4)) for t in range(80)]
    second = [(20 + 4 * math.cos(t / 5), 12 + 4 * math.sin(t / 5)) for t in range(40)]
    return pen(first) + pen(second, t0=1.0)


def test_good_signature_passes_all_checks() -> None:
    report = assess_signature(good_signature())
    assert report.passed and {c.name for c in report.checks} == {"points", "size", "strokes"}


def test_empty_signature_is_refused() -> None:
    report = assess_signature([])
    assert report.check("points").code == "signature.empty" and not report.passed
    with pytest.raises(CaptureError) as err:
        signature_sample([])
    assert err.value.code == "signature.empty"


def test_too_few_points_fails_points_check() -> None:
    report = assess_signature(pen([(5 + i * 3, 10 + (i % 2) * 4) for i in range(8)]))
    assert report.failed_names == ("points",)
    assert report.check("points").code == "signature.too_few_points"


def test_tiny_signature_fails_size_check() -> None:
    tiny = pen([(10 + 0.05 * i, 10 + 0.5 * math.sin(i)) for i in range(40)]) + pen(
        [(10, 10), (10.5, 10.2), (11, 10)], t0=1)
    report = assess_signature(tiny)
    assert "size" in report.failed_names and report.check("size").code == "signature.too_small"


def test_single_short_stroke_fails_strokes_check() -> None:
    dash = pen([(10 + 0.6 * i, 10 + 0.12 * i) for i in range(25)])  # one 15 mm line
    report = assess_signature(dash)
    assert report.failed_names == ("strokes",)
    assert report.check("strokes").code == "signature.too_simple"


def test_single_long_stroke_is_accepted() -> None:
    flourish = pen([(5 + t * 0.5, 10 + 5 * math.sin(t / 3)) for t in range(80)])
    assert assess_signature(flourish).passed


def test_render_fits_the_card_box_at_300_dpi() -> None:
    th = SignatureThresholds()
    img = render_signature(good_signature(), th)
    assert img.shape == (round(10 / 25.4 * 300), round(25 / 25.4 * 300))
    ink = np.argwhere(img < 128)
    margin = int(th.margin_mm / 25.4 * 300) - 2
    assert ink[:, 0].min() >= margin and ink[:, 1].min() >= margin
    assert ink[:, 0].max() <= img.shape[0] - margin and ink[:, 1].max() <= img.shape[1] - margin
    # normalised: the ink spans the box in its limiting direction
    assert ink[:, 0].max() - ink[:, 0].min() > 0.8 * (img.shape[0] - 2 * margin)


def test_render_is_independent_of_where_on_the_pad() -> None:
    a = good_signature()
    moved = [PenPoint(p.x + 30, p.y + 15, p.pressure, p.tip, p.timestamp) for p in a]
    assert np.array_equal(render_signature(a), render_signature(moved))


def test_sample_keeps_raw_points_and_png_at_card_dpi() -> None:
    pts = good_signature()
    sample = signature_sample(pts, writing_area_mm=(80.0, 40.0))
    with Image.open(io.BytesIO(sample.image)) as im:
        assert im.size == (295, 118) and round(im.info["dpi"][0]) == 300
    back = points_from_json(sample.points)
    assert len(back) == len(pts)
    assert all(abs(a.x - b.x) < 1e-3 and a.tip == b.tip for a, b in zip(pts, back))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 100), st.floats(0, 60), st.floats(0, 1), st.booleans()), max_size=60))
def test_points_json_round_trips(raw: list[tuple[float, float, float, bool]]) -> None:
    pts = [PenPoint(x, y, p, tip, 100.0 + i * 0.005) for i, (x, y, p, tip) in enumerate(raw)]
    back = points_from_json(points_json(pts))
    assert [(round(p.x, 3), round(p.y, 3), p.tip) for p in pts] == [(b.x, b.y, b.tip) for b in back]
    assert len(strokes(back)) == len(strokes(pts))
