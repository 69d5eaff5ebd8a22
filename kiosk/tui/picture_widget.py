"""The image widget of the capture and print screens: half-cell pictures drawn once per change.

The widget is textual-image's ``HalfcellImage`` (its sizing and its ``image`` property), with its
drawing replaced. textual-image (0.12, ``renderable/halfcell.py``, the reference this module
follows) renders a picture as one "▀" cell per two pixels, upper pixel as the foreground colour and
lower pixel as the background, building a Rich ``Color`` and ``Style`` per cell on *every* render:
each time Textual repaints the widget (a new frame, but also a layout of the screen, a language
switch, a screen shown again). tui_day's profile of the UI thread (py-spy, 3 enrollments) put that
per-cell render at about 14 % of the event loop's time.

Here a picture is drawn into Textual ``Strip`` lines once per (picture, size, base style), from the
pixels as a numpy array, with neighbouring cells of the same two colours joined into one segment
(white paper of the signature, the card's background); repaints reuse the lines. The cells (the
scaling, the colours and the styles) are textual-image's own: tests/tui/test_picture_widget.py
compares the lines with the ones textual-image's renderable produces.

Setting a picture of the size the widget already shows only repaints it (the live pictures: the
camera preview five times a second, the signature's ink ten times a second), where textual-image
asks for a layout of the whole screen.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image as PILImage
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual_image._geometry import ImageSize
from textual_image._terminal import get_cell_size
from textual_image.renderable.halfcell import Image as HalfcellRenderable
from textual_image.widget import HalfcellImage

#: the half-block character: upper pixel in the foreground colour, lower pixel in the background
UPPER_HALF = "\u2580"


def halfcell_lines(image: PILImage.Image, columns: int, rows: int, base: Style) -> list[Strip]:
    """The picture scaled to ``columns`` x ``rows`` cells (2 pixels a cell, as textual-image scales it:
    ``Image.resize`` with Pillow's default filter), one Strip per row, equal cells joined."""
    if columns <= 0 or rows <= 0:
        return []
    pixels = np.asarray(image.convert("RGB").resize((columns, rows * 2)), dtype=np.uint32)
    packed = (pixels[:, :, 0] << 16) | (pixels[:, :, 1] << 8) | pixels[:, :, 2]  # 0xRRGGBB per pixel
    cells = (packed[0::2].astype(np.uint64) << np.uint64(24)) | packed[1::2]  # upper, lower per cell
    styles: dict[int, Style] = {}
    lines = []
    for row in cells:
        starts = np.flatnonzero(np.diff(row, prepend=row[0] ^ np.uint64(1)))  # where the colours change
        ends = np.append(starts[1:], columns)
        segments = []
        for start, end, key in zip(starts.tolist(), ends.tolist(), row[starts].tolist()):
            style = styles.get(key)
            if style is None:
                upper, lower = key >> 24, key & 0xFFFFFF
                style = styles[key] = base + Style(
                    color=Color.from_rgb(upper >> 16, (upper >> 8) & 0xFF, upper & 0xFF),
                    bgcolor=Color.from_rgb(lower >> 16, (lower >> 8) & 0xFF, lower & 0xFF))
            segments.append(Segment(UPPER_HALF * (end - start), style))
        lines.append(Strip(segments, columns))
    return lines


class Picture(HalfcellImage, Renderable=HalfcellRenderable):
    """textual-image's half-cell image widget whose lines are drawn once per picture and size."""

    _lines: list[Strip] | None = None
    _lines_key: tuple[Any, ...] | None = None

    @property
    def image(self) -> Any:
        return self._image

    @image.setter
    def image(self, value: Any) -> None:
        old = getattr(self, "_image", None)
        self._lines = None  # a new picture: drawn on the next paint
        if isinstance(value, PILImage.Image) and isinstance(old, PILImage.Image) and value.size == old.size:
            self._image = value
            self.refresh()  # same size: same layout, only the cells change
            return
        HalfcellImage.image.fset(self, value)  # type: ignore[attr-defined]

    def on_unmount(self) -> None:
        """The drawn lines go with the widget, freed by their reference count (the closed widget itself
        waits for the garbage collector, and would make its collection longer)."""
        self._lines = None
        self._image = None

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        base = self.visual_style.rich_style
        key = (width, height, base)
        if self._lines is None or self._lines_key != key:
            self._lines, self._lines_key = self.draw(width, height, base), key
        if y < len(self._lines):
            return self._lines[y]
        return Strip.blank(width, base)

    def draw(self, width: int, height: int, base: Style) -> list[Strip]:
        """The lines of the current picture in a ``width`` x ``height`` content area (textual-image's
        sizing of the picture in that area)."""
        image = self._image
        if not isinstance(image, PILImage.Image):
            return []
        columns, rows = ImageSize(self._image_width, self._image_height, *self._get_styled_size()).get_cell_size(
            width, height, get_cell_size())
        return [line.crop(0, width) for line in halfcell_lines(image, columns, rows, base)[:height]]
