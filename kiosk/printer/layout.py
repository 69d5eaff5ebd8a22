"""Card layout as data: a TOML template (fields, positions in mm, fonts, photo/signature boxes)
rendered with Pillow at the card's dpi with a real TrueType font (font-roboto package).

``render_card`` gives the RGB array the printer drivers take (1016 x 648 at 300 dpi for CR80);
``preview`` gives a smaller PNG for the UI.
"""

from __future__ import annotations

import io
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from kiosk.errors import KioskError

MM_PER_INCH = 25.4


class LayoutError(KioskError):
    code = "printer.layout"


@dataclass(frozen=True)
class TextItem:
    text: str
    x_mm: float
    y_mm: float
    size_pt: float
    bold: bool = False
    align: str = "left"  # left | center | right
    max_x_mm: float | None = None


@dataclass(frozen=True)
class Box:
    x_mm: float
    y_mm: float
    width_mm: float
    height_mm: float


@dataclass(frozen=True)
class Template:
    width_mm: float
    height_mm: float
    dpi: int
    background: str
    font: str
    font_bold: str
    ink: str
    texts: tuple[TextItem, ...]
    photo: Box | None = None
    signature: Box | None = None
    fields: frozenset[str] = field(default_factory=frozenset)

    @property
    def size_px(self) -> tuple[int, int]:
        """(width, height) in pixels; CR80 at 300 dpi is 1011 x 638, printed on a 1016 x 648 panel."""
        return (round(self.width_mm / MM_PER_INCH * self.dpi), round(self.height_mm / MM_PER_INCH * self.dpi))

    def px(self, mm: float) -> int:
        return round(mm / MM_PER_INCH * self.dpi)


def load_template(path: Path | str | None = None) -> Template:
    """Read a template file (default: the packaged e-KTP front)."""
    if path is None:
        raw = resources.files("kiosk.printer").joinpath("templates/ektp_front.toml").read_text("utf-8")
    else:
        raw = Path(path).read_text("utf-8")
    try:
        t = tomllib.loads(raw)
        card, rows = t["card"], t.get("rows", {})
        texts: list[TextItem] = []
        for item in t.get("text", []):
            texts.append(TextItem(item["text"], float(item["x_mm"]), float(item["y_mm"]), float(item["size_pt"]),
                                  bool(item.get("bold", False)), str(item.get("align", "left")),
                                  item.get("max_x_mm")))
        for row in t.get("row", []):
            size = float(row.get("size_pt", rows["size_pt"]))
            bold = bool(row.get("bold", False))
            texts.append(TextItem(row["label"], float(row.get("label_x_mm", rows["label_x_mm"])), float(row["y_mm"]),
                                  size, bold))
            texts.append(TextItem(":", float(rows["colon_x_mm"]), float(row["y_mm"]), size, bold))
            texts.append(TextItem(row["value"], float(rows["value_x_mm"]), float(row["y_mm"]), size, bold, "left",
                                  float(row.get("max_x_mm", rows["max_x_mm"]))))
        photo = Box(**t["photo"]) if "photo" in t else None
        signature = Box(**t["signature"]) if "signature" in t else None
        import string

        names = frozenset(name for item in texts for _, name, _, _ in string.Formatter().parse(item.text) if name)
        return Template(float(card["width_mm"]), float(card["height_mm"]), int(card["dpi"]), str(card["background"]),
                        str(card["font"]), str(card["font_bold"]), str(card.get("ink", "#000000")), tuple(texts),
                        photo, signature, names)
    except (KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise LayoutError(reason=str(exc)) from None


@cache
def font_file(name: str) -> str:
    import font_roboto

    try:
        return str(font_roboto.font_files[name])
    except KeyError:
        raise LayoutError("printer.font_missing", font=name) from None


@cache
def _font(name: str, px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font_file(name), px)


def _paste_fit(canvas: Image.Image, image_bytes: bytes | None, box: Box, tpl: Template, *, keep_white: bool) -> None:
    x, y, w, h = tpl.px(box.x_mm), tpl.px(box.y_mm), tpl.px(box.width_mm), tpl.px(box.height_mm)
    if not image_bytes:
        ImageDraw.Draw(canvas).rectangle((x, y, x + w, y + h), outline=tpl.ink, width=2)
        return
    try:
        img = Image.open(io.BytesIO(image_bytes)).convert("RGB")
    except Exception:  # an unreadable sample must not crash the print path: the box stays empty
        raise LayoutError("printer.bad_image", box="photo" if not keep_white else "signature") from None
    if keep_white:  # signature: fit inside the box, keep its aspect, ink only (white is transparent)
        img.thumbnail((w, h), Image.Resampling.LANCZOS)
        mask = Image.eval(img.convert("L"), lambda v: 255 - v)
        canvas.paste(Image.new("RGB", img.size, tpl.ink), (x + (w - img.width) // 2, y + (h - img.height) // 2), mask)
    else:  # photo: cover the box (crop the overflow), as a passport photo is cut
        scale = max(w / img.width, h / img.height)
        img = img.resize((max(w, round(img.width * scale)), max(h, round(img.height * scale))), Image.Resampling.LANCZOS)
        left, top = (img.width - w) // 2, (img.height - h) // 2
        canvas.paste(img.crop((left, top, left + w, top + h)), (x, y))


def render_image(data: dict[str, Any], *, photo: bytes | None = None, signature: bytes | None = None,
                 template: Template | None = None, panel: tuple[int, int] = (1016, 648)) -> Image.Image:
    """The card as a PIL image of ``panel`` size (the template area centred on it).

    Every printed value comes from ``data`` (:func:`kiosk.central.carddata.card_data`), the
    dict whose hash the central signed."""
    tpl = template or load_template()
    values = data
    missing = sorted(n for n in tpl.fields if n not in values)
    if missing:
        raise LayoutError("printer.layout_field", fields=", ".join(missing))
    card = Image.new("RGB", tpl.size_px, tpl.background)
    draw = ImageDraw.Draw(card)
    for item in tpl.texts:
        text = item.text.format(**values)
        size = max(6, round(item.size_pt / 72 * tpl.dpi))
        name = tpl.font_bold if item.bold else tpl.font
        font = _font(name, size)
        x = tpl.px(item.x_mm)
        if item.max_x_mm is not None:  # shrink a long value until it fits its column
            limit = tpl.px(item.max_x_mm) - x
            while size > 6 and draw.textlength(text, font=font) > limit:
                size -= 1
                font = _font(name, size)
        width = draw.textlength(text, font=font)
        if item.align == "center":
            x -= round(width / 2)
        elif item.align == "right":
            x -= round(width)
        draw.text((x, tpl.px(item.y_mm)), text, font=font, fill=tpl.ink)
    if tpl.photo is not None:
        _paste_fit(card, photo, tpl.photo, tpl, keep_white=False)
    if tpl.signature is not None:
        _paste_fit(card, signature, tpl.signature, tpl, keep_white=True)
    if card.size == panel:
        return card
    out = Image.new("RGB", panel, tpl.background)
    out.paste(card, ((panel[0] - card.width) // 2, (panel[1] - card.height) // 2))
    return out


def render_card(data: dict[str, Any], **kw: Any) -> np.ndarray:
    """The card as the RGB array (648 x 1016 x 3) the printer drivers take."""
    return np.asarray(render_image(data, **kw))


def preview_png(data: dict[str, Any], *, width: int = 508, **kw: Any) -> bytes:
    """A smaller PNG of the card for the UI."""
    img = render_image(data, **kw)
    img = img.resize((width, round(img.height * width / img.width)), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()
