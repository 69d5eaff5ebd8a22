"""The image widget of the capture screens (textual-image's half-cell picture).

Setting a picture on textual-image's widget asks Textual for a layout of the whole screen. The
live pictures (the camera preview five times a second, the signature's ink ten times a second)
keep their size from one update to the next, so here a picture of the same size only repaints
the widget: the layout cannot have changed (tui_day: layouts were half of the event loop's time).
"""

from __future__ import annotations

from typing import Any

from PIL import Image as PILImage
from textual_image.renderable.halfcell import Image as HalfcellRenderable
from textual_image.widget import HalfcellImage


class Picture(HalfcellImage, Renderable=HalfcellRenderable):
    @property
    def image(self) -> Any:
        return self._image

    @image.setter
    def image(self, value: Any) -> None:
        old = getattr(self, "_image", None)
        if isinstance(value, PILImage.Image) and isinstance(old, PILImage.Image) and value.size == old.size:
            if self._renderable:
                self._renderable.cleanup()
                self._renderable = None
            self._image = value
            self.refresh()  # same size: same layout, only the cells change
            return
        HalfcellImage.image.fset(self, value)  # type: ignore[attr-defined]
