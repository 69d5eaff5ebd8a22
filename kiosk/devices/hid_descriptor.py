"""A USB HID report-descriptor parser (HID 1.11 section 6.2.2) for pen digitizers.

Why not the ``hid-parser`` package (installed, 0.1.0)? It fits report decoding of simple
devices, but not this job: it drops collections (so a pen cannot be told from a mouse or a
touch screen in the same descriptor), ignores Unit and Unit Exponent (warns "not supported"),
which are what turn logical counts into millimetres, raises ``NotImplementedError`` on
Push/Pop and Delimiter items that real tablets use, and raises bare ``ValueError``/
``TypeError`` on malformed input. A signature pad needs exactly the collection path and the
physical units, and a station needs malformed descriptors to fail with one typed error, so
this module is a small, complete item parser instead.

What it does: walks the short and long items; keeps the global state (with Push/Pop), the
local usages (Usage, Usage Minimum/Maximum, extended 32-bit usages), the collection stack;
and for every Input/Output/Feature main item lays out fields with their bit offsets per
report id. Malformed descriptors raise :class:`ReportDescriptorError` (a KioskError).

Where the spec leaves room, it does what Linux does (``drivers/hid/hid-core.c``):

- a 1- or 2-byte Usage (or Usage Minimum/Maximum) takes the Usage Page in force at the Main
  item, not the one in force when the Usage was read (HID 1.11 section 6.2.2.8: "the last
  declared Usage Page is applied to Usages when the Main item is encountered"; the kernel's
  ``hid_concatenate_last_usage_page``). A 4-byte Usage carries its own page;
- inside a Delimiter set only the first alternative counts (the kernel's ``delimiter_branch``:
  "alternative usage ignored"); nested delimiters and a close without an open are errors;
- a Report ID may follow items declared without one (the kernel checks only 1..255): those
  items stay report 0 and the device counts as numbered.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from kiosk.errors import KioskError

#: descriptors longer than this are refused (real ones are a few hundred bytes)
MAX_DESCRIPTOR_BYTES = 4096
MAX_COLLECTION_DEPTH = 32
#: a report larger than this many bits is refused (HID reports over full speed are small)
MAX_REPORT_BITS = 8 * 4096
MAX_USAGES_PER_ITEM = 4096

PAGE_GENERIC_DESKTOP = 0x01
PAGE_DIGITIZER = 0x0D


class ReportDescriptorError(KioskError):
    """The report descriptor breaks the HID item grammar. ``params``: offset, problem."""

    code = "hid.bad_descriptor"


class ReportKind(enum.StrEnum):
    INPUT = "input"
    OUTPUT = "output"
    FEATURE = "feature"


_MAIN_KINDS = {0x8: ReportKind.INPUT, 0x9: ReportKind.OUTPUT, 0xB: ReportKind.FEATURE}


@dataclass(frozen=True)
class GlobalState:
    usage_page: int = 0
    logical_min: int = 0
    logical_max: int = 0
    physical_min: int = 0
    physical_max: int = 0
    unit_exponent: int = 0
    unit: int = 0
    report_size: int = 0
    report_id: int = 0
    report_count: int = 0


@dataclass(frozen=True)
class Collection:
    kind: int  # 0 physical, 1 application, 2 logical, ...
    usage: int  # (page << 16) | id, 0 if none


@dataclass(frozen=True)
class Field:
    """One value (variable) or one array slot of a report, located in bits after the report id."""

    kind: ReportKind
    report_id: int
    bit_offset: int
    bit_size: int
    usage: int  # (page << 16) | id; 0 for padding and array slots
    flags: int  # the main item's data: bit0 constant, bit1 variable, bit2 relative ...
    logical_min: int
    logical_max: int
    physical_min: int
    physical_max: int
    unit: int
    unit_exponent: int
    collections: tuple[Collection, ...]

    @property
    def constant(self) -> bool:
        return bool(self.flags & 0x01)

    @property
    def variable(self) -> bool:
        return bool(self.flags & 0x02)

    @property
    def signed(self) -> bool:
        return self.logical_min < 0

    def extract(self, payload_bits: int) -> int:
        """This field's raw value from a report payload given as a little-endian integer."""
        raw = (payload_bits >> self.bit_offset) & ((1 << self.bit_size) - 1)
        if self.signed and raw >> (self.bit_size - 1):
            raw -= 1 << self.bit_size
        return raw

    def physical_range(self) -> tuple[int, int]:
        """Physical min/max; by HID 1.11 6.2.2.7 both 0 means "same as logical"."""
        if self.physical_min == 0 and self.physical_max == 0:
            return self.logical_min, self.logical_max
        return self.physical_min, self.physical_max

    def millimetres_per_physical_unit(self) -> float | None:
        """Length of one physical unit in mm, from Unit and Unit Exponent; None if not a length."""
        system = self.unit & 0x0F
        length_exp = (self.unit >> 4) & 0x0F
        if length_exp != 1:  # length to the first power (cm or inch)
            return None
        base = {1: 10.0, 3: 25.4}.get(system)  # SI linear: cm; English linear: inch
        if base is None:
            return None
        return base * 10.0 ** self.unit_exponent


@dataclass
class ReportDescriptor:
    fields: list[Field] = field(default_factory=list)
    #: report ids in use (empty when the device sends no report id byte)
    report_ids: set[int] = field(default_factory=set)
    #: size in bits of each (kind, report id) report, id byte excluded
    report_bits: dict[tuple[ReportKind, int], int] = field(default_factory=dict)
    collections: list[Collection] = field(default_factory=list)

    @property
    def numbered(self) -> bool:
        return bool(self.report_ids)

    def input_report_bytes(self, report_id: int) -> int:
        """Length of an input report on the wire, report id byte included."""
        bits = self.report_bits.get((ReportKind.INPUT, report_id), 0)
        return (bits + 7) // 8 + (1 if self.numbered else 0)


def _signed(value: int, size: int) -> int:
    bits = 8 * size
    return value - (1 << bits) if size and value >> (bits - 1) else value


def _unit_exponent(value: int, size: int) -> int:
    """HID 1.11 codes Unit Exponent in 4 bits (0x0E = -2); many devices write a signed byte."""
    if size == 1 and value <= 0x0F:
        return value - 16 if value >= 8 else value
    return _signed(value, size)


def parse(data: bytes) -> ReportDescriptor:
    """Parse a report descriptor. Raises ReportDescriptorError on anything malformed."""
    if not data:
        raise ReportDescriptorError(offset=0, problem="empty")
    if len(data) > MAX_DESCRIPTOR_BYTES:
        raise ReportDescriptorError(offset=MAX_DESCRIPTOR_BYTES, problem="too long")
    out = ReportDescriptor()
    glob = GlobalState()
    stack: list[GlobalState] = []
    # local usages as read: (value, item size) singles and (min, max, size) ranges, resolved
    # against the Usage Page at the Main item
    singles: list[tuple[int, int]] = []
    ranges: list[tuple[int, int, int]] = []
    order: list[tuple[str, int]] = []  # ("single"|"range", index) in declaration order
    usage_min: tuple[int, int] | None = None
    delimiter_depth = 0
    delimiter_branch = 0
    collections: list[Collection] = []
    offsets: dict[tuple[ReportKind, int], int] = {}
    pos = 0

    def bad(problem: str) -> ReportDescriptorError:
        return ReportDescriptorError(offset=pos, problem=problem)

    def full_usage(value: int, size: int) -> int:
        # a 4-byte usage carries its own page in the high 16 bits (extended usage); shorter
        # ones take the page in force now, at the Main item (HID 1.11 6.2.2.8)
        return value if size == 4 else (glob.usage_page << 16) | (value & 0xFFFF)

    def resolved_usages() -> list[int]:
        out_usages: list[int] = []
        for what, index in order:
            if what == "single":
                value, size = singles[index]
                out_usages.append(full_usage(value, size))
            else:
                lo, hi, size = ranges[index]
                first, last = full_usage(lo, size), full_usage(hi, size)
                if last < first or last - first > MAX_USAGES_PER_ITEM:
                    raise bad("usage range absurd")
                out_usages.extend(range(first, last + 1))
        return out_usages

    while pos < len(data):
        prefix = data[pos]
        if prefix == 0xFE:  # long item: size, tag, data; defined by no standard usage we need
            if pos + 3 > len(data):
                raise bad("truncated long item")
            size = data[pos + 1]
            end = pos + 3 + size
            if end > len(data):
                raise bad("truncated long item")
            pos = end
            continue
        size = (0, 1, 2, 4)[prefix & 0x03]
        kind = (prefix >> 2) & 0x03
        tag = prefix >> 4
        if pos + 1 + size > len(data):
            raise bad("truncated item")
        value = int.from_bytes(data[pos + 1:pos + 1 + size], "little")
        if kind == 0:  # main
            if delimiter_depth:
                raise bad("unclosed delimiter")
            usages = resolved_usages()
            if tag in _MAIN_KINDS:
                report_kind = _MAIN_KINDS[tag]
                if glob.report_size <= 0 or glob.report_size > 255 * 8:
                    raise bad("report size missing or absurd")
                if glob.report_count <= 0 and value & 0x01 == 0 and usages:
                    raise bad("report count missing")
                key = (report_kind, glob.report_id)
                offset = offsets.get(key, 0)
                lmin, lmax = glob.logical_min, glob.logical_max
                pmin, pmax = glob.physical_min, glob.physical_max
                path = tuple(collections)
                variable = bool(value & 0x02)
                constant = bool(value & 0x01)
                for i in range(glob.report_count):
                    if constant or not usages:
                        usage = 0
                    elif variable:
                        usage = usages[min(i, len(usages) - 1)]
                    else:
                        usage = 0  # array slot: holds a usage index, not a value
                    out.fields.append(Field(report_kind, glob.report_id, offset, glob.report_size, usage, value,
                                            lmin, lmax, pmin, pmax, glob.unit, glob.unit_exponent, path))
                    offset += glob.report_size
                    if offset > MAX_REPORT_BITS:
                        raise bad("report too long")
                offsets[key] = offset
                out.report_bits[key] = offset
            elif tag == 0xA:  # collection
                if len(collections) >= MAX_COLLECTION_DEPTH:
                    raise bad("collections nested too deep")
                col = Collection(value, usages[0] if usages else 0)
                collections.append(col)
                out.collections.append(col)
            elif tag == 0xC:  # end collection
                if not collections:
                    raise bad("end collection without collection")
                collections.pop()
            else:
                raise bad(f"unknown main item tag {tag:#x}")
            singles, ranges, order, usage_min = [], [], [], None
            delimiter_branch = 0
        elif kind == 1:  # global
            if tag == 0x0:
                glob = replace(glob, usage_page=value)
            elif tag == 0x1:
                glob = replace(glob, logical_min=_signed(value, size))
            elif tag == 0x2:
                lmax = _signed(value, size)
                # a common quirk: max 0xFFFF in 2 bytes with min >= 0 means 65535, not -1
                if lmax < glob.logical_min and glob.logical_min >= 0:
                    lmax = value
                glob = replace(glob, logical_max=lmax)
            elif tag == 0x3:
                glob = replace(glob, physical_min=_signed(value, size))
            elif tag == 0x4:
                pmax = _signed(value, size)
                if pmax < glob.physical_min and glob.physical_min >= 0:
                    pmax = value
                glob = replace(glob, physical_max=pmax)
            elif tag == 0x5:
                exponent = _unit_exponent(value, size)
                if not -20 <= exponent <= 20:  # 10^20 of anything is no pen tablet
                    raise bad("unit exponent absurd")
                glob = replace(glob, unit_exponent=exponent)
            elif tag == 0x6:
                glob = replace(glob, unit=value)
            elif tag == 0x7:
                glob = replace(glob, report_size=value)
            elif tag == 0x8:
                if value == 0 or value > 255:
                    raise bad("report id out of 1..255")
                out.report_ids.add(value)
                glob = replace(glob, report_id=value)
            elif tag == 0x9:
                if value > MAX_REPORT_BITS:
                    raise bad("report count absurd")
                glob = replace(glob, report_count=value)
            elif tag == 0xA:
                if len(stack) >= MAX_COLLECTION_DEPTH:
                    raise bad("push stack overflow")
                stack.append(glob)
            elif tag == 0xB:
                if not stack:
                    raise bad("pop without push")
                glob = stack.pop()
            else:
                raise bad(f"unknown global item tag {tag:#x}")
        elif kind == 2:  # local
            alternative = delimiter_branch > 1  # a later alternative of a delimiter set: ignored
            if tag == 0x0:
                if not alternative:
                    order.append(("single", len(singles)))
                    singles.append((value, size))
            elif tag == 0x1:
                usage_min = (value, size)
            elif tag == 0x2:
                if usage_min is None:
                    raise bad("usage maximum without minimum")
                if not alternative:
                    order.append(("range", len(ranges)))
                    ranges.append((usage_min[0], value, max(usage_min[1], size)))
                usage_min = None
            elif tag == 0xA:  # delimiter: 1 opens a set of alternative usages, 0 closes it
                if value:
                    if delimiter_depth:
                        raise bad("nested delimiters")
                    delimiter_depth += 1
                    delimiter_branch += 1
                else:
                    if not delimiter_depth:
                        raise bad("delimiter close without open")
                    delimiter_depth -= 1
            # designators and strings carry nothing a pen decoder needs
            if len(singles) + len(ranges) > MAX_USAGES_PER_ITEM:
                raise bad("too many usages")
        else:
            raise bad("reserved item type")
        pos += 1 + size
    if collections:
        raise ReportDescriptorError(offset=pos, problem="unclosed collection")
    if not out.fields:
        raise ReportDescriptorError(offset=pos, problem="no report fields")
    return out
