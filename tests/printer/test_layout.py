"""The e-KTP template renders every field at 300 dpi with a packaged TrueType font."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from kiosk.printer.carddata import card_data, card_hash
from kiosk.printer.layout import LayoutError, font_file, load_template, preview_png, render_card, render_image
from tests.conftest import resident
from tests.printer.conftest import photo_bytes, signature_bytes

FIELDS = {"province", "regency", "nik", "name", "birth", "sex", "blood_type", "address", "rt_rw", "village",
          "district", "religion", "marital_status", "occupation", "citizenship", "valid_until", "issue_place",
          "issue_date"}


def data(**over):
    d = card_data(resident(1), "rec-1", photo=photo_bytes(), signature=signature_bytes())
    d.update(over)
    return d


def test_template_places_every_ektp_field_with_photo_and_signature_boxes():
    tpl = load_template()
    assert tpl.fields == FIELDS
    assert (tpl.width_mm, tpl.height_mm, tpl.dpi) == (85.6, 54.0, 300)
    assert tpl.size_px == (1011, 638)
    labels = {t.text for t in tpl.texts}
    for label in ("NIK", "Nama", "Tempat/Tgl Lahir", "Jenis Kelamin", "Alamat", "RT/RW", "Kel/Desa", "Kecamatan",
                  "Agama", "Status Perkawinan", "Pekerjaan", "Kewarganegaraan", "Berlaku Hingga"):
        assert label in labels
    assert tpl.photo is not None and tpl.signature is not None


def test_font_is_a_real_truetype_file_from_a_package():
    with open(font_file(load_template().font), "rb") as f:
        assert f.read(4) == b"\x00\x01\x00\x00"  # TrueType outline font header


def test_renders_card_panel_with_photo_signature_and_text():
    img = render_card(data(), photo=photo_bytes(), signature=signature_bytes(), issue_date="23-11-2026")
    assert img.shape == (648, 1016, 3) and img.dtype == np.uint8
    tpl = load_template()
    # photo box carries the photo's colours, not the background
    x, y = tpl.px(tpl.photo.x_mm) + 10 + 2, tpl.px(tpl.photo.y_mm) + 10 + 5
    assert tuple(img[y, x]) != (0xD3, 0xE4, 0xF2)
    # black text ink exists in the NIK row
    row = img[tpl.px(9.2) + 5: tpl.px(9.2) + 30, 60:600]
    assert (row.max(axis=2) < 60).sum() > 200


def test_changing_a_field_changes_the_card_and_its_hash():
    a, b = data(), data(name="ORANG LAIN")
    assert card_hash(a) != card_hash(b)
    assert not np.array_equal(render_card(a, issue_date="x"), render_card(b, issue_date="x"))


def test_long_value_is_shrunk_to_its_column():
    long = "JL. " + "PANJANG SEKALI " * 8
    img = render_image(data(address=long), issue_date="x")
    tpl = load_template()
    photo_left = tpl.px(tpl.photo.x_mm) + (1016 - tpl.size_px[0]) // 2
    band = np.asarray(img)[tpl.px(21.1) + 5: tpl.px(21.1) + 20, photo_left - 10: photo_left - 2]
    assert (band.max(axis=2) < 60).sum() == 0  # no ink ran into the photo column


def test_missing_field_is_a_layout_error():
    d = data()
    del d["nik"]
    with pytest.raises(LayoutError) as info:
        render_card(d, issue_date="x")
    assert info.value.code == "printer.layout_field"


def test_preview_is_a_smaller_png():
    png = preview_png(data(), issue_date="x", width=400)
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.size == (400, 255)
