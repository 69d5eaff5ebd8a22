"""The report-descriptor parser and pen finder on descriptors recorded from real devices.

Fixtures: ``tests/devices/fixtures/hid_tools_descriptors.py`` (from bentiss/hid-tools, the
kernel's HID test suite). The four parser rules below follow HID 1.11 and Linux
``drivers/hid/hid-core.c``; each is checked on a real descriptor changed in exactly that one
way, so the expected result is the real device's pen.
"""

from __future__ import annotations

import pytest

from kiosk.devices.errors import DeviceProtocolError
from kiosk.devices.hid_descriptor import ReportDescriptorError, parse
from kiosk.devices.hid_digitizer import pen_layout
from tests.devices.fixtures.hid_tools_descriptors import TABLET_DESCRIPTORS, WACOM_PTH660_V145

#: the pen's input report id in each recorded descriptor
PEN_REPORT = {"XPPen_ArtistPro16Gen2_28bd_095b": 7, "XPPen_Artist24_28bd_093a": 7, "Goodix_27c6_0e00": 8,
              "GXTP_27c6_0113": 8, "Elan_04f3_2A49": 7, "n_trig_1b96_0c01": 1, "Nexio_1870_0100": 5,
              "atmel_03eb_840b": 3, "Huion_Kamvas_Pro_19_256c_006b": 10}

XPPEN = TABLET_DESCRIPTORS["XPPen_ArtistPro16Gen2_28bd_095b"][2]


def descriptor(hexdata: str) -> bytes:
    return bytes.fromhex(hexdata)


@pytest.mark.parametrize("name", sorted(TABLET_DESCRIPTORS))
def test_recorded_pen_descriptors_give_the_pen_report(name: str) -> None:
    _, _, hexdata = TABLET_DESCRIPTORS[name]
    layout = pen_layout(descriptor(hexdata), device="pad", width_mm=300.0, height_mm=200.0)
    assert layout.report_id == PEN_REPORT[name]
    assert layout.numbered and layout.tip is not None and layout.in_range is not None


def test_xppen_artist_pro_16_size_and_a_report_decode_as_the_descriptor_says() -> None:
    layout = pen_layout(descriptor(XPPEN), device="pad")
    # X: physical max 0x34ff in 10^-3 inch (Unit 0x13, exponent 0x0d), Y: 0x2120
    assert layout.x.length_mm == pytest.approx(0x34FF * 0.0254)
    assert layout.y.length_mm == pytest.approx(0x2120 * 0.0254)
    assert layout.report_bytes == 10
    # report 7: tip, barrel, eraser, invert, pad, in range, pad pad; X, Y, pressure (14 bits), tilt x, tilt y
    report = bytes([7, 0b0010_0001]) + (0x4000).to_bytes(2, "little") + (0x2000).to_bytes(2, "little") \
        + (0x2000).to_bytes(2, "little") + bytes([5, 0xFB])
    point = layout.decode(report, 1.0, device="pad")
    assert point is not None and point.tip
    assert point.x == pytest.approx(0x4000 / 0x7FFF * layout.x.length_mm)
    assert point.pressure == pytest.approx(0x2000 / 0x3FFF)


def test_a_descriptor_without_physical_size_needs_the_configured_size() -> None:
    huion = descriptor(TABLET_DESCRIPTORS["Huion_Kamvas_Pro_19_256c_006b"][2])
    with pytest.raises(DeviceProtocolError) as caught:
        pen_layout(huion, device="pad")
    assert caught.value.code == "signature.no_physical_size"
    assert pen_layout(huion, device="pad", width_mm=409.0, height_mm=230.0).x.length_mm == 409.0


def test_wacom_vendor_page_pen_is_not_taken_for_a_standard_pen() -> None:
    with pytest.raises(DeviceProtocolError) as caught:
        pen_layout(descriptor(WACOM_PTH660_V145), device="pad")
    assert caught.value.code == "signature.no_pen"


# ---- HID 1.11 6.2.2.8: the Usage Page is applied at the Main item ----------------------------

def test_usage_page_declared_after_the_usage_applies_to_it() -> None:
    # "a4 05 01 09 30" (Push, Usage Page Desktop, Usage X) becomes "a4 09 30 05 01": the page
    # now follows the usage, before the Input item
    moved = XPPEN.replace("a4 05 01 09 30", "a4 09 30 05 01")
    assert moved != XPPEN
    original = pen_layout(descriptor(XPPEN), device="pad")
    layout = pen_layout(descriptor(moved), device="pad")
    assert (layout.report_id, layout.x.length_mm, layout.report_bytes) == (
        original.report_id, original.x.length_mm, original.report_bytes)


# ---- Delimiter: only the first alternative (hid-core.c delimiter_branch) ------------------------

def test_only_the_first_alternative_of_a_delimiter_set_is_used() -> None:
    # X and Y declared for two 16-bit fields at once, Y as the first alternative of a delimiter
    # set whose second alternative is Ry (the kernel ignores every usage after the second set
    # opens, until the Main item)
    two_axes = XPPEN.replace(
        "a4 05 01 09 30 65 13 55 0d 46 ff 34 26 ff 7f 81 02 09 31 46 20 21 26 ff 7f 81 02 b4",
        "a4 05 01 09 30 a9 01 09 31 a9 00 a9 01 09 34 a9 00 65 13 55 0d 46 ff 34 26 ff 7f 95 02 81 02 95 01 b4")
    assert two_axes != XPPEN
    desc = parse(descriptor(two_axes))
    usages = [f.usage for f in desc.fields if f.report_id == 7 and f.bit_offset in (8, 24)]
    assert usages == [0x010030, 0x010031]
    assert pen_layout(descriptor(two_axes), device="pad").report_id == 7


def test_a_later_alternative_never_names_a_field() -> None:
    # two 8-bit fields; usages: the set {X}, then the alternative set {Rx}: both fields are X
    desc = parse(descriptor("05 01 a9 01 09 30 a9 00 a9 01 09 33 a9 00 75 08 95 02 81 02"))
    assert [f.usage for f in desc.fields] == [0x010030, 0x010030]


@pytest.mark.parametrize("hexdata,problem", [
    ("a9 01 a9 01 09 30 a9 00 a9 00 75 08 95 01 81 02", "nested delimiters"),
    ("a9 00 09 30 75 08 95 01 81 02", "delimiter close without open"),
    ("05 01 a9 01 09 30 75 08 95 01 81 02", "unclosed delimiter"),
])
def test_malformed_delimiters_are_refused(hexdata: str, problem: str) -> None:
    with pytest.raises(ReportDescriptorError) as caught:
        parse(descriptor(hexdata))
    assert caught.value.params["problem"] == problem


# ---- a Report ID after unnumbered items (hid-core.c accepts it) -------------------------------

def test_report_id_after_unnumbered_items_is_accepted() -> None:
    vendor_feature_first = "06 00 ff 09 01 a1 01 15 00 26 ff 00 75 08 95 01 b1 02 c0 " + XPPEN
    desc = parse(descriptor(vendor_feature_first))
    assert desc.numbered and 7 in desc.report_ids
    assert any(f.report_id == 0 for f in desc.fields)
    assert pen_layout(descriptor(vendor_feature_first), device="pad").report_id == 7


# ---- Tip Switch in a parent collection of X/Y ------------------------------------------------

def test_tip_switch_in_the_parent_collection_of_x_and_y_is_found() -> None:
    # X and Y wrapped in their own Physical collection inside the Stylus collection that holds
    # Tip Switch, In Range and Tip Pressure
    nested = XPPEN.replace("a4 05 01 09 30", "a1 00 a4 05 01 09 30").replace(
        "81 02 b4 09 30 45 00", "81 02 b4 c0 09 30 45 00")
    assert nested.count("a1 00") == XPPEN.count("a1 00") + 1
    layout = pen_layout(descriptor(nested), device="pad")
    assert layout.tip is not None and layout.pressure is not None and layout.in_range is not None
    assert len(layout.tip.collections) < len(layout.x.field.collections)
    report = bytes([7, 0b0010_0001]) + bytes(4) + (0x1000).to_bytes(2, "little") + bytes(2)
    point = layout.decode(report, 0.0, device="pad")
    assert point is not None and point.tip and point.pressure > 0
