"""Standard USB HID digitizers (signature pads and pen tablets that follow the HID spec).

Wire protocol (USB HID 1.11 and the HID Usage Tables, Digitizers page 0x0D):

1. Find the device: ``vendor_id``/``product_id`` from the config, or the first HID interface
   (class 3, no boot protocol) whose report descriptor holds a pen collection.
2. If the kernel's usbhid holds the interface, detach it (given back on close), claim it.
3. Read the report descriptor: standard GET_DESCRIPTOR (bmRequestType 0x81, bRequest 0x06,
   wValue 0x2200, wIndex = interface), length from the HID class descriptor (type 0x21).
4. Parse it (:mod:`kiosk.devices.hid_descriptor`; why not the ``hid-parser`` package is said
   there) and find the pen: an input report whose fields sit in a Pen (0x0D:0x02), Stylus
   (0x0D:0x20), Light Pen or Digitizer collection, with X/Y (Generic Desktop 0x30/0x31) and
   Tip Switch (0x0D:0x42), In Range (0x0D:0x32), Tip Pressure (0x0D:0x30) where present.
5. Read input reports from the interrupt IN endpoint; each pen report becomes a PenPoint:
   x/y in millimetres from the physical range with Unit (cm or inch) and Unit Exponent,
   pressure scaled to 0..1 from its logical range, tip from Tip Switch (or pressure > 0).

A descriptor without physical units needs ``width_mm``/``height_mm`` in the config. Touch
screens (0x0D:0x04) and finger collections are never taken for a pen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import usb.core
import usb.util

from kiosk.devices.base import DeviceInfo, SelfTestResult, Worded
from kiosk.devices.errors import DeviceError, DeviceProtocolError
from kiosk.devices.hid_descriptor import (PAGE_DIGITIZER, PAGE_GENERIC_DESKTOP, Field, ReportDescriptor,
                                          ReportDescriptorError, ReportKind, parse)
from kiosk.devices.protocols import PenPoint
from kiosk.devices.usb import is_access_denied, is_gone
from kiosk.devices.usb_pen import USB_CLASS_HID, UsbPenPad

GET_DESCRIPTOR = 0x06
DT_HID = 0x21
DT_REPORT = 0x22
#: bmRequestType: device-to-host, standard, recipient interface
REQ_IN_STANDARD_INTERFACE = 0x81

USAGE_X = (PAGE_GENERIC_DESKTOP << 16) | 0x30
USAGE_Y = (PAGE_GENERIC_DESKTOP << 16) | 0x31
USAGE_TIP_PRESSURE = (PAGE_DIGITIZER << 16) | 0x30
USAGE_IN_RANGE = (PAGE_DIGITIZER << 16) | 0x32
USAGE_TIP_SWITCH = (PAGE_DIGITIZER << 16) | 0x42
#: collections that hold a pen: Digitizer, Pen, Light Pen, Stylus
PEN_COLLECTIONS = frozenset((PAGE_DIGITIZER << 16) | u for u in (0x01, 0x02, 0x03, 0x20))
#: collections that are fingers, never a pen: Touch Screen, Touch Pad, Finger
FINGER_COLLECTIONS = frozenset((PAGE_DIGITIZER << 16) | u for u in (0x04, 0x05, 0x22))


@dataclass(frozen=True)
class Axis:
    """One pen axis: the field and how its counts become millimetres."""

    field: Field
    mm_per_count: float
    length_mm: float

    def to_mm(self, raw: int) -> float:
        return (raw - self.field.logical_min) * self.mm_per_count


@dataclass(frozen=True)
class PenLayout:
    """Where the pen's values sit in its input report, and how to scale them."""

    report_id: int  # 0 when the device sends no report id byte
    numbered: bool
    report_bytes: int  # on the wire, report id included
    x: Axis
    y: Axis
    tip: Field | None
    in_range: Field | None
    pressure: Field | None
    #: every input report id the descriptor declares (others are protocol errors)
    input_ids: frozenset[int] = field(default_factory=frozenset)

    def decode(self, report: bytes, now: float, *, device: str) -> PenPoint | None:
        """The pen point in one input report; None for another declared input report.

        Raises DeviceProtocolError for an empty or short report, an undeclared report id, or
        values outside their logical range (garbage on the wire).
        """
        if not report:
            raise DeviceProtocolError("signature.bad_report", device=device, problem="empty")
        if self.numbered:
            rid = report[0]
            if rid not in self.input_ids:
                raise DeviceProtocolError("signature.bad_report", device=device, problem="unknown report id",
                                          report_id=rid)
            if rid != self.report_id:
                return None
        if len(report) < self.report_bytes:
            raise DeviceProtocolError("signature.bad_report", device=device, problem="short",
                                      length=len(report), expected=self.report_bytes)
        bits = int.from_bytes(report[1:] if self.numbered else report, "little")
        x = self.x.field.extract(bits)
        y = self.y.field.extract(bits)
        for name, f, value in (("x", self.x.field, x), ("y", self.y.field, y)):
            if not f.logical_min <= value <= f.logical_max:
                raise DeviceProtocolError("signature.bad_report", device=device, problem=f"{name} out of range",
                                          value=value)
        pressure = 0.0
        if self.pressure is not None:
            raw = self.pressure.extract(bits)
            lo, hi = self.pressure.logical_min, self.pressure.logical_max
            if not lo <= raw <= hi:
                raise DeviceProtocolError("signature.bad_report", device=device, problem="pressure out of range",
                                          value=raw)
            pressure = (raw - lo) / (hi - lo)
        tip = bool(self.tip.extract(bits)) if self.tip is not None else pressure > 0
        if self.pressure is None:
            pressure = 1.0 if tip else 0.0
        in_range = bool(self.in_range.extract(bits)) if self.in_range is not None else True
        if not in_range:
            tip = False
        return PenPoint(self.x.to_mm(x), self.y.to_mm(y), pressure if tip else 0.0, tip, now)


def _axis(f: Field, fallback_mm: float, *, device: str) -> Axis:
    if f.logical_max <= f.logical_min:
        raise DeviceProtocolError("signature.bad_descriptor", device=device, problem="empty logical range")
    pmin, pmax = f.physical_range()
    unit_mm = f.millimetres_per_physical_unit()
    if unit_mm is not None and pmax > pmin:
        length = (pmax - pmin) * unit_mm
    elif fallback_mm > 0:
        length = fallback_mm
    else:
        raise DeviceProtocolError("signature.no_physical_size", device=device)
    if not 1.0 <= length <= 2000.0:  # a pad between 1 mm and 2 m: anything else is a bad unit
        raise DeviceProtocolError("signature.bad_descriptor", device=device, problem="absurd size",
                                  length_mm=round(length, 3))
    return Axis(f, length / (f.logical_max - f.logical_min), length)


def find_pen(desc: ReportDescriptor) -> tuple[int, dict[int, Field]] | None:
    """(report id, fields by usage) of the first pen input report, or None if none.

    X and Y sit in the pen's innermost collection; Tip Switch, In Range and Tip Pressure may
    sit there or in a parent collection of it (a Pen collection holding a Physical collection
    of coordinates), as long as they are in the same report. The deepest one wins.
    """
    for f in desc.fields:
        if f.kind is not ReportKind.INPUT or f.usage != USAGE_X or f.constant or not f.variable:
            continue
        usages = {c.usage for c in f.collections}
        if usages & FINGER_COLLECTIONS or not usages & PEN_COLLECTIONS:
            continue
        same: dict[int, Field] = {}
        for g in desc.fields:
            if (g.kind is not ReportKind.INPUT or g.report_id != f.report_id or not g.variable or g.constant
                    or not g.usage or f.collections[:len(g.collections)] != g.collections):
                continue
            held = same.get(g.usage)
            if held is None or len(held.collections) < len(g.collections):
                same[g.usage] = g  # first at the deepest level
        y = same.get(USAGE_Y)
        if y is not None and y.collections == f.collections:
            same[USAGE_X] = f
            return f.report_id, same
    return None


def pen_layout(descriptor: bytes, *, device: str, width_mm: float = 0.0, height_mm: float = 0.0) -> PenLayout:
    """The pen layout of a report descriptor. Raises DeviceProtocolError if it is malformed
    or has no pen (the catalog code says which)."""
    try:
        desc = parse(descriptor)
    except ReportDescriptorError as err:
        raise DeviceProtocolError("signature.bad_descriptor", device=device, **err.params) from err
    found = find_pen(desc)
    if found is None:
        raise DeviceProtocolError("signature.no_pen", device=device)
    rid, fields = found
    return PenLayout(
        report_id=rid, numbered=desc.numbered, report_bytes=desc.input_report_bytes(rid),
        x=_axis(fields[USAGE_X], width_mm, device=device), y=_axis(fields[USAGE_Y], height_mm, device=device),
        tip=fields.get(USAGE_TIP_SWITCH), in_range=fields.get(USAGE_IN_RANGE),
        pressure=_pressure(fields.get(USAGE_TIP_PRESSURE)),
        input_ids=frozenset(rid for kind, rid in desc.report_bits if kind is ReportKind.INPUT))


def _pressure(f: Field | None) -> Field | None:
    return f if f is not None and f.logical_max > f.logical_min else None


def report_descriptor_length(intf: usb.core.Interface) -> int:
    """wDescriptorLength of the report descriptor, from the HID class descriptor (0x21)."""
    extra = bytes(intf.extra_descriptors or b"")
    pos = 0
    while pos + 2 <= len(extra):
        length, dtype = extra[pos], extra[pos + 1]
        if length < 2:
            break
        if dtype == DT_HID and length >= 9:
            count = extra[pos + 5]
            for i in range(count):
                at = pos + 6 + 3 * i
                if at + 3 <= pos + length and extra[at] == DT_REPORT:
                    return int.from_bytes(extra[at + 1:at + 3], "little")
        pos += length
    return 4096


def _hid_interfaces(dev: usb.core.Device) -> list[usb.core.Interface]:
    # the first configuration, read from cached descriptors: no need to open every device
    cfg = dev[0]
    return [i for i in cfg if i.bInterfaceClass == USB_CLASS_HID and i.bAlternateSetting == 0
            # boot keyboards and mice are never probed: detaching them would steal the operator's keyboard
            and i.bInterfaceProtocol == 0
            and any(usb.util.endpoint_direction(e.bEndpointAddress) == usb.util.ENDPOINT_IN
                    and usb.util.endpoint_type(e.bmAttributes) == usb.util.ENDPOINT_TYPE_INTR for e in i)]


class HidDigitizerSignatureDriver(UsbPenPad):
    """Any pen digitizer that presents itself as a standard USB HID device."""

    @dataclass(frozen=True)
    class Params:
        #: USB vendor/product id to open (0 = the first HID device with a pen collection)
        vendor_id: int = 0
        product_id: int = 0
        #: USB serial number string to tell two identical pads apart ("" = any)
        serial: str = ""
        #: pyusb backend: "" = the system's libusb; "mock:..." = an in-process mock (kiosk.devices.usb)
        usb_backend: str = ""
        #: milliseconds one interrupt read waits before looking at the stop flag again
        read_timeout_ms: int = 100
        control_timeout_ms: int = 1000
        #: malformed reports in a row after which the stream counts as broken
        max_bad_reports: int = 20
        #: writing area in mm for descriptors without physical units (0 = from the descriptor)
        width_mm: float = 0.0
        height_mm: float = 0.0

    def __init__(self, name: str, params: Any) -> None:
        super().__init__(name, params)
        self._layout: PenLayout | None = None
        self._descriptor = b""
        self._descriptor_length = 4096
        self._probe_error: DeviceError | None = None

    # -- finding the pad -----------------------------------------------------------------------
    def _wanted_id(self) -> str:
        p = self.params
        return f"{p.vendor_id:04x}:{p.product_id:04x}" if p.vendor_id else "hid-pen"

    def _match(self, dev: usb.core.Device) -> bool:
        p = self.params
        if p.vendor_id and dev.idVendor != p.vendor_id:
            return False
        if p.product_id and dev.idProduct != p.product_id:
            return False
        if p.serial:
            try:
                serial = usb.util.get_string(dev, dev.iSerialNumber) if dev.iSerialNumber else ""
            except (usb.core.USBError, ValueError):
                serial = ""
            if serial != p.serial:
                return False
        if p.vendor_id and p.product_id:
            return True  # named exactly: open it, and say precisely what is wrong if it has no pen
        try:
            return self._probe(dev) is not None
        finally:
            usb.util.dispose_resources(dev)

    def _probe(self, dev: usb.core.Device) -> int | None:
        """The first interface of ``dev`` whose report descriptor has a pen, or None."""
        for intf in _hid_interfaces(dev):
            number = intf.bInterfaceNumber
            detached = False
            try:
                if dev.is_kernel_driver_active(number):
                    dev.detach_kernel_driver(number)
                    detached = True
                raw = bytes(dev.ctrl_transfer(REQ_IN_STANDARD_INTERFACE, GET_DESCRIPTOR, DT_REPORT << 8, number,
                                              report_descriptor_length(intf), timeout=self.params.control_timeout_ms))
                pen_layout(raw, device=self.name, width_mm=self.params.width_mm, height_mm=self.params.height_mm)
                return int(number)
            except DeviceError as err:
                self._probe_error = err
                continue  # not a pen (or a descriptor we cannot use): look further
            except usb.core.USBError as exc:
                if is_gone(exc) or is_access_denied(exc):
                    raise  # unplugged, or not ours to open: the caller decides
                continue  # this interface refused the request
            finally:
                try:
                    usb.util.release_interface(dev, number)
                    if detached:
                        dev.attach_kernel_driver(number)
                except usb.core.USBError:
                    pass
        return None

    def _choose_interface(self, dev: usb.core.Device) -> tuple[int, int, int]:
        self._probe_error = None
        number = self._usb("probe", lambda: self._probe(dev))
        if number is None:
            raise self._probe_error or DeviceProtocolError("signature.no_pen", device=self.name, usb=self.usb_id)
        intf = next(i for i in _hid_interfaces(dev) if i.bInterfaceNumber == number)
        ep = next(e for e in intf if usb.util.endpoint_direction(e.bEndpointAddress) == usb.util.ENDPOINT_IN
                  and usb.util.endpoint_type(e.bmAttributes) == usb.util.ENDPOINT_TYPE_INTR)
        self._descriptor_length = report_descriptor_length(intf)
        return int(number), int(ep.bEndpointAddress), int(ep.wMaxPacketSize)

    def _read_layout(self) -> tuple[bytes, PenLayout]:
        raw = self._ctrl_in("read report descriptor", REQ_IN_STANDARD_INTERFACE, GET_DESCRIPTOR, DT_REPORT << 8,
                            self._interface, self._descriptor_length)
        return raw, pen_layout(raw, device=self.name, width_mm=self.params.width_mm,
                               height_mm=self.params.height_mm)

    def _setup(self) -> None:
        self._descriptor, self._layout = self._read_layout()

    def _decode(self, report: bytes, now: float) -> list[PenPoint]:
        layout = self._layout
        if layout is None:
            return []
        point = layout.decode(report, now, device=self.name)
        return [] if point is None else [point]

    # -- SignaturePad --------------------------------------------------------------------------
    def writing_area_mm(self) -> tuple[float, float]:
        self.require_open()
        assert self._layout is not None
        return self._layout.x.length_mm, self._layout.y.length_mm

    def clear(self) -> None:
        """A plain digitizer has no screen: drop what is buffered so the signature restarts."""
        self.require_open()
        self._drop_buffered()

    def info(self) -> DeviceInfo:
        self.require_open()
        layout = self._layout
        assert layout is not None
        return self._base_info("HID", "digitizer", report_id=layout.report_id,
                               pressure=layout.pressure is not None, descriptor_bytes=len(self._descriptor))

    def self_test(self) -> SelfTestResult:
        self.require_open()
        checks = [self._present()]
        try:
            raw, layout = self._read_layout()
            same = raw == self._descriptor
            checks.append(("signature.check.descriptor", same,
                           Worded("signature.detail.descriptor_bytes", f"{len(raw)} bytes", count=len(raw))))
        except DeviceError as err:
            checks.append(("signature.check.descriptor", False, err.code))
        checks.extend(self._stream_checks())
        return self._self_test_result(checks)
