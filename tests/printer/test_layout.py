"""The e-KTP template renders every field at 300 dpi with a packaged TrueType font."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from kiosk.central.carddata import card_data, sha256_hex
from kiosk.central.permit import card_data_hash as card_hash
from kiosk.printer.layout import LayoutError, font_file, load_template, preview_png, render_card, render_image
from tests.conftest import resident
from tests.printer.conftest import photo_bytes, signature_bytes

FIELDS = {"provinsi", "kabupaten_kota", "nik", "nama", "tempat_lahir", "tanggal_lahir", "jenis_kelamin",
          "golongan_darah", "alamat", "rt_rw", "kelurahan_desa", "kecamatan", "agama", "status_perkawinan", "pekerjaan",
          "kewarganegaraan", "berlaku_hingga", "tempat_terbit", "tanggal_terbit"}


def data(**over):
    ident = resident(1)
    d = card_data(ident, "rec-1", photo_sha256=sha256_hex(photo_bytes()), signature_sha256=sha256_hex(signature_bytes()),
                  issue_place=ident.regency, issued_at="2026-11-23T10:00:00+00:00")
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
    img = render_card(data(), photo=photo_bytes(), signature=signature_bytes())
    assert img.shape == (648, 1016, 3) and img.dtype == np.uint8
    tpl = load_template()
    # photo box carries the photo's colours, not the background
    x, y = tpl.px(tpl.photo.x_mm) + 10 + 2, tpl.px(tpl.photo.y_mm) + 10 + 5
    assert tuple(img[y, x]) != (0xD3, 0xE4, 0xF2)
    # black text ink exists in the NIK row
    row = img[tpl.px(9.2) + 5: tpl.px(9.2) + 30, 60:600]
    assert (row.max(axis=2) < 60).sum() > 200


def test_changing_a_field_changes_the_card_and_its_hash():
    a, b = data(), data(nama="ORANG LAIN")
    assert card_hash(a) != card_hash(b)
    assert not np.array_equal(render_card(a), render_card(b))


def test_long_value_is_shrunk_to_its_column():
    long = "JL. " + "PANJANG SEKALI " * 8
    img = render_image(data(alamat=long))
    tpl = load_template()
    photo_left = tpl.px(tpl.photo.x_mm) + (1016 - tpl.size_px[0]) // 2
    band = np.asarray(img)[tpl.px(21.1) + 5: tpl.px(21.1) + 20, photo_left - 10: photo_left - 2]
    assert (band.max(axis=2) < 60).sum() == 0  # no ink ran into the photo column


def test_missing_field_is_a_layout_error():
    d = data()
    del d["nik"]
    with pytest.raises(LayoutError) as info:
        render_card(d)
    assert info.value.code == "printer.layout_field"


def test_preview_is_a_smaller_png():
    png = preview_png(data(), width=400)
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.size == (400, 255)
