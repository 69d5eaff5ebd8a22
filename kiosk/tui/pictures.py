"""Pictures in the terminal: numpy/PIL conversions, the image widget, signature ink, hand diagram."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw

from kiosk.devices.protocols import PenPoint


def prepare_terminal() -> None:
    """Ask the terminal for its cell size BEFORE Textual starts reading stdin.

    textual-image asks once, on first use; under tmux (no pixel size from the ioctl) it writes an
    escape query and reads the answer from stdin, which, once Textual runs, swallows the keys the
    operator types at that moment (seen as a lost first key on the face screen)."""
    from textual_image.widget import get_cell_size

    try:
        get_cell_size()
    except Exception:  # no terminal (tests, pipes): the library falls back to its default size
        pass


def picture_widget(image: PILImage.Image | None = None, *, id: str | None = None, classes: str = "") -> Any:
    """An image widget: half-block cells (work in any terminal, tmux included, and are
    deterministic for snapshots). Kitty/Sixel would need a terminal query at start-up. A new
    picture of the same size repaints without a layout (:mod:`kiosk.tui.picture_widget`)."""
    from kiosk.tui.picture_widget import Picture

    return Picture(image, id=id, classes=classes)


def from_bgr(image: np.ndarray) -> PILImage.Image:
    if image.ndim == 2:
        return PILImage.fromarray(image, "L").convert("RGB")
    return PILImage.fromarray(np.ascontiguousarray(image[:, :, ::-1]), "RGB")


def from_grey(pixels: np.ndarray) -> PILImage.Image:
    return PILImage.fromarray(np.ascontiguousarray(pixels.astype(np.uint8)), "L").convert("RGB")


def render_ink(points: Sequence[PenPoint], area_mm: tuple[float, float], *, width: int = 400) -> PILImage.Image:
    """Draw pen strokes (tip down) black on white, scaled to ``width`` pixels (a whole signature
    at once; the live screen draws incrementally with :class:`InkCanvas`)."""
    canvas = InkCanvas(area_mm, width=width)
    canvas.draw(None, points)
    return canvas.image


class InkCanvas:
    """The live signature picture: new points are drawn onto the same image, so an update costs
    what it adds, never what came before."""

    def __init__(self, area_mm: tuple[float, float], *, width: int = 400) -> None:
        w_mm, h_mm = area_mm if area_mm[0] > 0 and area_mm[1] > 0 else (100.0, 50.0)
        self.area_mm = area_mm
        self.scale = width / w_mm
        self.image = PILImage.new("RGB", (width, max(1, int(h_mm * self.scale))), "white")
        self._draw = ImageDraw.Draw(self.image)

    def draw(self, prev: PenPoint | None, points: Sequence[PenPoint]) -> None:
        """Add the strokes of ``points``; ``prev`` is the point drawn last (a stroke goes on from it)."""
        scale = self.scale
        for p in points:
            if p.tip and prev is not None and prev.tip:
                self._draw.line([(prev.x * scale, prev.y * scale), (p.x * scale, p.y * scale)], fill="black",
                                width=max(2, int(1 + 3 * p.pressure)))
            prev = p

    def snapshot(self) -> PILImage.Image:
        """A copy for the image widget (it keeps what it is given; the canvas goes on changing)."""
        return self.image.copy()


#: ISO/ANSI finger positions as they appear on the two hands, left to right, palms down
LEFT_HAND = (10, 9, 8, 7, 6)
RIGHT_HAND = (1, 2, 3, 4, 5)


def hand_diagram(marks: dict[int, str], current: int, labels: tuple[str, str]) -> str:
    """Text diagram of both hands: each finger's mark (done/pending/exception); current is bracketed."""

    def cell(pos: int) -> str:
        mark = marks.get(pos, " ")
        return f"[{pos:>2}{mark}]" if pos == current else f" {pos:>2}{mark} "

    width = max(len(labels[0]), len(labels[1])) + 1
    left = "".join(cell(p) for p in LEFT_HAND)
    right = "".join(cell(p) for p in RIGHT_HAND)
    return f"{labels[0]:<{width}}{left}\n{labels[1]:<{width}}{right}"


def encode_png(pixels: Any) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".png", np.asarray(pixels))
    if not ok:
        raise ValueError("png encoding failed")
    return bytes(buf)


def encode_jpeg(image: np.ndarray, quality: int = 92) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".jpg", image, [int(cv2.IMWRITE_JPEG_QUALITY), quality])
    if not ok:
        raise ValueError("jpeg encoding failed")
    return bytes(buf)


def decode_image(data: bytes) -> PILImage.Image | None:
    """A stored sample as a picture; None when it cannot be decoded (shown as no picture, never a crash)."""
    import io

    try:
        return PILImage.open(io.BytesIO(data)).convert("RGB")
    except (OSError, ValueError):
        return None
