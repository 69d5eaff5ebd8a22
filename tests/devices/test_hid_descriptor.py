"""The HID report-descriptor parser: item grammar, global state, collections, units, and
that any byte string gives a descriptor or ReportDescriptorError, never another exception."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from device_mocks.hid_digitizer import REPORT_DESCRIPTOR
from kiosk.devices.hid_descriptor import ReportDescriptorError, ReportKind, parse


def usage(page: int, ident: int) -> int:
    return (page << 16) | ident


def test_mock_descriptor_fields_offsets_and_collections() -> None:
    desc = parse(REPORT_DESCRIPTOR)
    assert desc.report_ids == {1, 2}
    assert desc.report_bits[(ReportKind.INPUT, 1)] == 3 + 5 + 16
    assert desc.report_bits[(ReportKind.INPUT, 2)] == 8 + 16 + 16 + 16
    pen = {f.usage: f for f in desc.fields if f.report_id == 2 and f.usage}
    tip, x, y, pressure = (pen[usage(0x0D, 0x42)], pen[usage(0x01, 0x30)], pen[usage(0x01, 0x31)],
                           pen[usage(0x0D, 0x30)])
    assert (tip.bit_offset, tip.bit_size) == (0, 1)
    assert (x.bit_offset, y.bit_offset, pressure.bit_offset) == (8, 24, 40)
    assert (x.logical_max, x.physical_max, x.unit, x.unit_exponent) == (30400, 15200, 0x11, -3)
    assert x.millimetres_per_physical_unit() == pytest.approx(0.01)
    # Pop restored the state pushed before X/Y: pressure has no unit and no physical range
    assert (pressure.unit, pressure.physical_max, pressure.logical_max) == (0, 0, 4095)
    assert [c.usage for c in x.collections] == [usage(0x0D, 0x02), usage(0x0D, 0x20)]


def test_unit_exponent_as_signed_byte_and_inch_units() -> None:
    # X in inches with exponent written as a full signed byte (0xFE = -2): 0.01 inch units
    desc = parse(bytes.fromhex("05 01 09 30 15 00 26 e8 03 35 00 46 e8 03 65 13 55 fe 75 10 95 01 81 02"))
    (x,) = desc.fields
    assert x.unit_exponent == -2
    assert x.millimetres_per_physical_unit() == pytest.approx(0.254)
    assert not desc.numbered


def test_logical_maximum_0xffff_with_non_negative_minimum_is_unsigned() -> None:
    (x,) = parse(bytes.fromhex("05 01 09 30 15 00 26 ff ff 75 10 95 01 81 02")).fields
    assert x.logical_max == 65535 and not x.signed


def test_negative_logical_minimum_makes_values_signed() -> None:
    (dx,) = parse(bytes.fromhex("05 01 09 30 15 81 25 7f 75 08 95 01 81 06")).fields
    assert dx.signed and dx.extract(0xFF) == -1 and dx.extract(0x7F) == 127


def test_usage_range_and_extended_usage() -> None:
    desc = parse(bytes.fromhex("05 09 19 01 29 03 15 00 25 01 75 01 95 03 81 02"
                               "0b 30 00 01 00 75 08 95 01 81 02"))
    assert [f.usage for f in desc.fields] == [usage(9, 1), usage(9, 2), usage(9, 3), usage(1, 0x30)]


def test_long_items_are_skipped() -> None:
    desc = parse(bytes.fromhex("fe 02 10 aa bb 05 01 09 30 75 08 95 01 81 02"))
    assert desc.fields[0].usage == usage(1, 0x30)


@pytest.mark.parametrize("hexdata, problem", [
    ("", "empty"),
    ("05 01 a1 01 09 30 75 08 95 01 81 02", "unclosed collection"),
    ("c0", "end collection without collection"),
    ("b4", "pop without push"),
    ("05", "truncated item"),
    ("fe 05 10 00", "truncated long item"),
    ("05 01 09 30 95 01 81 02", "report size missing or absurd"),
    ("85 00", "report id out of 1..255"),
    ("29 05", "usage maximum without minimum"),
    ("05 01 75 08 95 01 b1 03", "no report fields"),
])
def test_malformed_descriptors_are_refused_with_the_problem(hexdata: str, problem: str) -> None:
    data = bytes.fromhex(hexdata)
    if problem == "no report fields":
        data = bytes.fromhex("05 01 a1 01 c0")
    with pytest.raises(ReportDescriptorError) as caught:
        parse(data)
    assert caught.value.params["problem"] == problem


def test_absurdly_long_descriptor_is_refused() -> None:
    with pytest.raises(ReportDescriptorError):
        parse(bytes(5000))


@given(st.binary(max_size=512))
@settings(max_examples=500, deadline=None)
def test_any_bytes_parse_or_raise_report_descriptor_error(data: bytes) -> None:
    try:
        desc = parse(data)
    except ReportDescriptorError:
        return
    for f in desc.fields:
        assert f.bit_size > 0 and f.bit_offset >= 0
