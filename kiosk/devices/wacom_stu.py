"""Wacom STU-430 / 430V / 530 / 540 / 541 signature pads over USB (their HID vendor protocol).

Written against Wacom's STU SDK sources (the C++ SDK's ``WacomGSS/STU/Protocol.hpp`` and
``ProtocolHelper.cpp``, and the same tables in the SDK's JavaScript ``wgssStuSdk.js``;
published copies on GitHub, e.g. the headers shipped with Wacom-Developer's STU SDK samples):

- Product ids (vendor 0x056A): 0x00A4 STU-430, 0x00A5 STU-530, 0x00A6 STU-430V, 0x00A8 STU-540,
  0x00A9 STU-541 (``ProductId_430``, ``_530``, ``_430V``, ``_540``, ``_541``).
- Feature reports, via HID SET_REPORT/GET_REPORT (bmRequestType 0x21/0xA1, bRequest 0x09/0x01,
  wValue = 0x0300 | report id, wIndex = interface), the report id as first byte:
  Status 0x03 (statusCode, lastResultCode, statusWord), Information 0x08 (9-byte model name,
  firmware major, minor, secureIc, 4 version bytes), Capability 0x09 (tabletMaxX, tabletMaxY,
  tabletMaxPressure, screenWidth, screenHeight as big-endian u16, maxReportRate u8,
  resolution u16 (counts per inch), encodingFlag), ClearScreen 0x20, InkingMode 0x21,
  HandwritingDisplayArea 0x2A (four pixel coordinates), PenDataOptionMode 0x32.
- Status codes: 0 Ready, 1 Image, 2 Capture, 3 Calculation, 4 Image_Boot ("the tablet is
  displaying the boot image. The tablet will automatically change to Ready when finished"),
  5 RomBusy, 0xFF SystemReset. Before a command the SDK polls Status until the state allows
  it (``ProtocolHelper::waitForStatusToSend`` and its ``sendTable``: ClearScreen only in Ready;
  InkingMode, HandwritingDisplayArea and PenDataOptionMode also while the boot image shows);
  it does not read lastResultCode after a command, and neither does this driver.
- PenData 0x01 (``decodeReport_unsafe(PenData)``): byte 1 bit 7 ``rdy`` (in proximity), bits
  4-6 ``sw`` ("non-zero if the stylus is considered to be touching the surface"), bits 0-3
  and byte 2 the pressure, then x and y as big-endian u16. PenDataTimeCountSequence 0x34
  (after PenDataOptionMode = 3): PenData, then timeCount (1 ms ticks) and sequence, big-endian.
- The millimetre scale (counts * 25.4 / resolution) matches the published active areas
  (STU-430: 9600 counts at 2540 per inch = 96 mm). Encrypted pen data (0x10/0x33), images,
  PIN pad and ROM reports are not used. Not tested on hardware by this project.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import usb.core
import usb.util

from kiosk.devices.base import DeviceInfo, SelfTestResult
from kiosk.devices.errors import DeviceError, DeviceProtocolError
from kiosk.devices.protocols import PenPoint
from kiosk.devices.usb_pen import USB_CLASS_HID, UsbPenPad

WACOM_VENDOR_ID = 0x056A
#: product id -> model, for the models this driver was written against
STU_MODELS: dict[int, str] = {0x00A4: "STU-430", 0x00A5: "STU-530", 0x00A6: "STU-430V", 0x00A8: "STU-540",
                              0x00A9: "STU-541"}

# HID class requests (HID 1.11 section 7.2)
REQ_GET_REPORT = 0x01
REQ_SET_REPORT = 0x09
REQ_IN_CLASS_INTERFACE = 0xA1
REQ_OUT_CLASS_INTERFACE = 0x21
FEATURE = 0x03

# STU report ids (the SDK's ReportId table)
PEN_DATA = 0x01
STATUS = 0x03
INFORMATION = 0x08
CAPABILITY = 0x09
CLEAR_SCREEN = 0x20
INKING_MODE = 0x21
HANDWRITING_DISPLAY_AREA = 0x2A
PEN_DATA_OPTION_MODE = 0x32
PEN_DATA_TIME_COUNT_SEQUENCE = 0x34

PEN_DATA_BYTES = 7
PEN_DATA_TCS_BYTES = 11
#: PenDataOptionMode value that selects PenDataTimeCountSequence reports
OPTION_TIME_COUNT_SEQUENCE = 3

# Status::statusCode (SDK ``StatusCode``)
STATUS_READY = 0x00
STATUS_IMAGE = 0x01
STATUS_CAPTURE = 0x02
STATUS_CALCULATION = 0x03
STATUS_IMAGE_BOOT = 0x04
STATUS_ROM_BUSY = 0x05
STATUS_SYSTEM_RESET = 0xFF

#: the states in which the SDK sends each command we use (its ``sendTable``)
_WHILE_BOOTING = frozenset({STATUS_READY, STATUS_IMAGE, STATUS_CAPTURE, STATUS_CALCULATION, STATUS_IMAGE_BOOT})
SEND_STATES: dict[int, frozenset[int]] = {
    CLEAR_SCREEN: frozenset({STATUS_READY}),
    INKING_MODE: _WHILE_BOOTING | {STATUS_ROM_BUSY},
    HANDWRITING_DISPLAY_AREA: _WHILE_BOOTING,
    PEN_DATA_OPTION_MODE: _WHILE_BOOTING | {STATUS_ROM_BUSY},
}


@dataclass(frozen=True)
class Capability:
    max_x: int
    max_y: int
    max_pressure: int
    screen_width: int
    screen_height: int
    max_report_rate: int
    resolution: int  # tablet counts per inch
    encoding_flag: int

    @classmethod
    def decode(cls, report: bytes, *, device: str) -> "Capability":
        if len(report) < 15 or report[0] != CAPABILITY:
            raise DeviceProtocolError("signature.bad_report", device=device, problem="capability",
                                      length=len(report))
        u16 = [int.from_bytes(report[i:i + 2], "big") for i in (1, 3, 5, 7, 9)]
        cap = cls(u16[0], u16[1], u16[2], u16[3], u16[4], report[11], int.from_bytes(report[12:14], "big"),
                  report[14])
        if not (cap.max_x and cap.max_y and cap.max_pressure and cap.resolution):
            raise DeviceProtocolError("signature.bad_report", device=device, problem="capability zero")
        return cap

    def encode(self) -> bytes:
        return (bytes([CAPABILITY]) + b"".join(v.to_bytes(2, "big") for v in (
            self.max_x, self.max_y, self.max_pressure, self.screen_width, self.screen_height))
            + bytes([self.max_report_rate]) + self.resolution.to_bytes(2, "big") + bytes([self.encoding_flag, 0, 0]))

    @property
    def mm_per_count(self) -> float:
        return 25.4 / self.resolution


def decode_pen_report(report: bytes, cap: Capability, now: float, *, device: str) -> PenPoint | None:
    """The point in one STU input report (None for reports that carry no pen data).

    Raises DeviceProtocolError for an empty or short report, an id that is not an STU input
    report, or values beyond the pad's capability (garbage on the wire).
    """
    if not report:
        raise DeviceProtocolError("signature.bad_report", device=device, problem="empty")
    rid = report[0]
    if rid == PEN_DATA:
        need = PEN_DATA_BYTES
    elif rid == PEN_DATA_TIME_COUNT_SEQUENCE:
        need = PEN_DATA_TCS_BYTES
    elif rid in (STATUS, 0x10, 0x33, 0x50):
        return None  # status / encrypted / encryption reports: not ours to decode
    else:
        raise DeviceProtocolError("signature.bad_report", device=device, problem="unknown report id", report_id=rid)
    if len(report) < need:
        raise DeviceProtocolError("signature.bad_report", device=device, problem="short", length=len(report),
                                  expected=need)
    flags = report[1]
    rdy = bool(flags & 0x80)
    sw = (flags >> 4) & 0x07
    pressure = ((flags & 0x0F) << 8) | report[2]
    x = int.from_bytes(report[3:5], "big")
    y = int.from_bytes(report[5:7], "big")
    if x > cap.max_x or y > cap.max_y or pressure > cap.max_pressure:
        raise DeviceProtocolError("signature.bad_report", device=device, problem="value out of range",
                                  x=x, y=y, pressure=pressure)
    tip = rdy and sw != 0  # sw: 3 bits, "non-zero if ... touching the surface"
    return PenPoint(x * cap.mm_per_count, y * cap.mm_per_count,
                    pressure / cap.max_pressure if tip else 0.0, tip, now)


class WacomStuSignatureDriver(UsbPenPad):
    """Wacom STU-430/530/540: pen data, and the pad's own screen cleared on retry."""

    @dataclass(frozen=True)
    class Params:
        #: USB product id (0x00A4 STU-430, 0x00A5 STU-530, 0x00A6 STU-430V, 0x00A8 STU-540, 0x00A9 STU-541;
        #: 0 = the first STU found)
        product_id: int = 0
        #: USB serial number string to tell two pads apart ("" = any)
        serial: str = ""
        #: pyusb backend: "" = the system's libusb; "mock:..." = an in-process mock (kiosk.devices.usb)
        usb_backend: str = ""
        #: show ink on the pad's screen while the resident signs
        inking: bool = True
        #: ask for PenDataTimeCountSequence (0x34) reports instead of PenData
        time_count_reports: bool = False
        read_timeout_ms: int = 100
        control_timeout_ms: int = 1000
        #: how long a command waits for a state that allows it (a freshly plugged pad shows its
        #: boot image first)
        ready_timeout_ms: int = 10000
        #: malformed reports in a row after which the stream counts as broken
        max_bad_reports: int = 20

    def __init__(self, name: str, params: Any) -> None:
        super().__init__(name, params)
        self._cap: Capability | None = None
        self._model = ""
        self._firmware = ""

    # -- finding the pad -----------------------------------------------------------------------
    def _wanted_id(self) -> str:
        return f"{WACOM_VENDOR_ID:04x}:{self.params.product_id:04x}" if self.params.product_id else "wacom-stu"

    def _match(self, dev: usb.core.Device) -> bool:
        if dev.idVendor != WACOM_VENDOR_ID:
            return False
        if self.params.product_id:
            if dev.idProduct != self.params.product_id:
                return False
        elif dev.idProduct not in STU_MODELS:
            return False
        if self.params.serial:
            try:
                serial = usb.util.get_string(dev, dev.iSerialNumber) if dev.iSerialNumber else ""
            except (usb.core.USBError, ValueError):
                serial = ""
            return bool(serial == self.params.serial)
        return True

    def _choose_interface(self, dev: usb.core.Device) -> tuple[int, int, int]:
        cfg = self._usb("configuration", lambda: dev[0])
        for intf in cfg:
            if intf.bInterfaceClass != USB_CLASS_HID:
                continue
            for ep in intf:
                if (usb.util.endpoint_direction(ep.bEndpointAddress) == usb.util.ENDPOINT_IN
                        and usb.util.endpoint_type(ep.bmAttributes) == usb.util.ENDPOINT_TYPE_INTR):
                    return int(intf.bInterfaceNumber), int(ep.bEndpointAddress), int(ep.wMaxPacketSize)
        raise DeviceProtocolError("signature.no_pen", device=self.name, usb=self.usb_id)

    # -- feature reports -----------------------------------------------------------------------
    def get_feature(self, report_id: int, length: int) -> bytes:
        raw = self._ctrl_in(f"get report {report_id:#04x}", REQ_IN_CLASS_INTERFACE, REQ_GET_REPORT,
                            (FEATURE << 8) | report_id, self._interface, length)
        if len(raw) < length or raw[0] != report_id:
            raise DeviceProtocolError("signature.bad_report", device=self.name, problem="feature answer",
                                      report_id=report_id, length=len(raw))
        return raw

    def set_feature(self, report_id: int, payload: bytes, *, wait_ms: int | None = None) -> None:
        """Send a command once the pad is in a state that takes it (as the SDK does), waiting
        at most ``wait_ms`` (default ``ready_timeout_ms``)."""
        self._wait_to_send(report_id, self.params.ready_timeout_ms if wait_ms is None else wait_ms)
        self._ctrl_out(f"set report {report_id:#04x}", REQ_OUT_CLASS_INTERFACE, REQ_SET_REPORT,
                       (FEATURE << 8) | report_id, self._interface, bytes([report_id]) + payload)

    def status_code(self) -> int:
        return self.get_feature(STATUS, 5)[1]

    def _wait_to_send(self, report_id: int, wait_ms: int) -> None:
        """Poll Status until its statusCode allows ``report_id`` (SDK ``waitForStatusToSend``)."""
        allowed = SEND_STATES.get(report_id, frozenset({STATUS_READY}))
        deadline = time.monotonic() + wait_ms / 1000
        while True:
            code = self.status_code()
            if code in allowed:
                return
            if time.monotonic() > deadline:
                raise DeviceProtocolError("signature.stu_busy", device=self.name, report_id=report_id, status=code)
            time.sleep(0.02)

    def _setup(self) -> None:
        info = self.get_feature(INFORMATION, 17)
        self._model = info[1:10].split(b"\0")[0].decode("ascii", "replace").strip()
        self._firmware = f"{info[10]}.{info[11]:02d}"
        self._cap = Capability.decode(self.get_feature(CAPABILITY, 17), device=self.name)
        self.set_feature(CLEAR_SCREEN, b"\0")
        cap = self._cap
        if cap.screen_width and cap.screen_height:
            # ink may show over the whole screen (the pad keeps the last area across sessions)
            area = (0, 0, cap.screen_width - 1, cap.screen_height - 1)
            self.set_feature(HANDWRITING_DISPLAY_AREA, b"".join(v.to_bytes(2, "little") for v in area))
        self.set_feature(INKING_MODE, bytes([1 if self.params.inking else 0]))
        if self.params.time_count_reports:
            self.set_feature(PEN_DATA_OPTION_MODE, bytes([OPTION_TIME_COUNT_SEQUENCE]))

    def _decode(self, report: bytes, now: float) -> list[PenPoint]:
        cap = self._cap
        if cap is None:
            return []
        point = decode_pen_report(report, cap, now, device=self.name)
        return [] if point is None else [point]

    def _do_close(self) -> None:
        if self._dev is not None and self._failure is None:
            try:
                # leave the pad blank and quiet for the next user; closing does not wait long for it
                quick = self.params.control_timeout_ms
                self.set_feature(INKING_MODE, b"\0", wait_ms=quick)
                self.set_feature(CLEAR_SCREEN, b"\0", wait_ms=quick)
            except DeviceError:
                pass  # unplugged or refusing: closing goes on
        super()._do_close()

    # -- SignaturePad --------------------------------------------------------------------------
    def writing_area_mm(self) -> tuple[float, float]:
        self.require_open()
        cap = self._cap
        assert cap is not None
        return cap.max_x * cap.mm_per_count, cap.max_y * cap.mm_per_count

    def clear(self) -> None:
        """Clear the pad's screen (its ink) and drop buffered points: the signature restarts."""
        self.require_open()
        self.set_feature(CLEAR_SCREEN, b"\0")
        self._drop_buffered()

    def info(self) -> DeviceInfo:
        self.require_open()
        cap = self._cap
        assert cap is not None
        base = self._base_info("Wacom", self._model or STU_MODELS.get(self._device().idProduct, "STU"),
                               screen=[cap.screen_width, cap.screen_height], max_pressure=cap.max_pressure,
                               resolution_lpi=cap.resolution, max_report_rate=cap.max_report_rate)
        return DeviceInfo(base.vendor, self._model or base.model, base.serial, self._firmware, base.extra)

    def self_test(self) -> SelfTestResult:
        self.require_open()
        checks = [self._present()]
        try:
            status = self.get_feature(STATUS, 5)
            # lastResultCode is the answer to whichever command came last: informative only
            checks.append(("signature.check.stu_status", status[1] in _WHILE_BOOTING,
                           f"status={status[1]} result={status[2]}"))
            cap = Capability.decode(self.get_feature(CAPABILITY, 17), device=self.name)
            checks.append(("signature.check.capability", cap == self._cap, f"{cap.max_x}x{cap.max_y}"))
        except DeviceError as err:
            checks.append(("signature.check.stu_status", False, err.code))
        checks.extend(self._stream_checks())
        return self._self_test_result(checks)
