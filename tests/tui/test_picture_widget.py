"""kiosk.tui.picture_widget: the same cells as textual-image's half-cell renderable (the reference),
drawn once per picture and size instead of on every repaint (issue 11 §3).

The pictures are textual-image's own sample photograph (``textual_image/gracehopper.jpg``, shipped
in its wheel, public domain: U.S. Navy) and the signature-like drawings of this project."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import textual_image
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage
from PIL import ImageDraw
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.strip import Strip
from textual_image.widget import HalfcellImage

from kiosk.tui import picture_widget
from kiosk.tui.picture_widget import Picture, halfcell_lines

SAMPLE = Path(textual_image.__file__).parent / "gracehopper.jpg"


def cells(strip: Strip) -> list[tuple[str, Any]]:
    """One (character, style) per cell: how a terminal shows the line, whatever its segments."""
    return [(ch, seg.style) for seg in strip for ch in seg.text]


def ink_picture(seed: int = 3) -> PILImage.Image:
    rng = np.random.default_rng(seed)
    image = PILImage.new("RGB", (400, 200), "white")
    draw = ImageDraw.Draw(image)
    points = [tuple(p) for p in rng.integers(0, [400, 200], size=(12, 2)).tolist()]
    draw.line(points, fill="black", width=3)
    return image


class Pair(App[None]):
    """textual-image's widget and ours, side by side, same size and style."""

    CSS = "HalfcellImage { width: 1fr; height: 1fr; }"

    def __init__(self, image: PILImage.Image) -> None:
        super().__init__()
        self.image = image

    def compose(self) -> ComposeResult:
        yield HalfcellImage(self.image, id="reference")
        yield Picture(self.image, id="ours")


async def same_cells_as_the_reference(picture: PILImage.Image) -> None:
    app = Pair(picture.convert("RGB"))
    async with app.run_test(size=(60, 30)) as pilot:
        await pilot.pause()
        reference, ours = app.query_one("#reference"), app.query_one("#ours")
        assert reference.size == ours.size and ours.size.area > 0
        region = Region(0, 0, *ours.size)
        theirs = reference.render_lines(region)
        mine = ours.render_lines(region)
        assert [cells(s) for s in mine] == [cells(s) for s in theirs]


async def test_a_photo_has_the_reference_renderables_cells() -> None:
    await same_cells_as_the_reference(PILImage.open(SAMPLE))


async def test_ink_has_the_reference_renderables_cells() -> None:
    await same_cells_as_the_reference(ink_picture())


async def test_a_repaint_does_not_draw_the_picture_again(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[tuple[int, int]] = []
    draw = picture_widget.halfcell_lines

    def counting(image: Any, columns: int, rows: int, base: Any) -> list[Strip]:
        drawn.append((columns, rows))
        return draw(image, columns, rows, base)

    monkeypatch.setattr(picture_widget, "halfcell_lines", counting)
    app = Pair(ink_picture())
    async with app.run_test(size=(60, 30)) as pilot:
        await pilot.pause()
        ours = app.query_one("#ours", Picture)
        drawn.clear()
        ours._styles_cache.clear()  # what a layout or a restyle of the screen does to the widget's lines
        ours.render_lines(Region(0, 0, *ours.size))
        assert drawn == []
        ours.image = ink_picture(seed=4)  # a new picture of the same size: drawn once
        await pilot.pause()
        ours.render_lines(Region(0, 0, *ours.size))
        ours._styles_cache.clear()
        ours.render_lines(Region(0, 0, *ours.size))
        assert len(drawn) == 1


@settings(max_examples=60, deadline=None)
@given(width=st.integers(1, 12), height=st.integers(1, 6), seed=st.integers(0, 2**16),
       colours=st.integers(1, 4))
def test_joined_cells_are_the_pixels(width: int, height: int, seed: int, colours: int) -> None:
    """Each cell shows its upper pixel as the foreground and its lower pixel as the background, however
    the equal neighbours are joined (few colours: long runs; many: one cell a segment)."""
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, size=(colours, 3), dtype=np.uint8)
    pixels = palette[rng.integers(0, colours, size=(height * 2, width))]
    image = PILImage.fromarray(pixels, "RGB")
    lines = halfcell_lines(image, width, height, picture_widget.Style())
    assert len(lines) == height
    for y, line in enumerate(lines):
        row = cells(line)
        assert len(row) == width == line.cell_length
        for x, (char, style) in enumerate(row):
            assert char == picture_widget.UPPER_HALF
            assert style.color.triplet == tuple(int(v) for v in pixels[2 * y, x])
            assert style.bgcolor.triplet == tuple(int(v) for v in pixels[2 * y + 1, x])
