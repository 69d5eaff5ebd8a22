"""The one photograph the simulated station's face comes from.

NASA portrait of astronaut Eileen Collins (public domain; a work of the U.S. federal government),
the picture that scikit-image ships as ``skimage.data.astronaut()``. Only its head-and-shoulders
region is shipped here (``data/astronaut_head.png``: columns 100..399, rows 0..329 of the 512x512
original, the exact pixels), so the mocks need neither scikit-image nor its ~200 MB of
dependencies.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import cv2
import numpy as np

PNG = Path(__file__).with_name("data") / "astronaut_head.png"
#: where the shipped crop sits in the original picture: (x, y) of its top-left pixel
ORIGIN = (100, 0)


@cache
def _crop() -> np.ndarray:
    img = cv2.imread(str(PNG), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f"the simulated face picture is missing or unreadable: {PNG}")
    img.setflags(write=False)
    return img


def region(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """A copy of the original picture's pixels ``[y0:y1, x0:x1]`` (BGR), in original coordinates."""
    ox, oy = ORIGIN
    crop = _crop()
    h, w = crop.shape[:2]
    if not (ox <= x0 < x1 <= ox + w and oy <= y0 < y1 <= oy + h):
        raise ValueError(f"region {(x0, y0, x1, y1)} lies outside the shipped crop")
    return crop[y0 - oy : y1 - oy, x0 - ox : x1 - ox].copy()
