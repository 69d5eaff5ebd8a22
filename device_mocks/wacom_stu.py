"""Mock of a Wacom STU-430/430V/530/540/541 signature pad, served as a pyusb backend.

It follows Wacom's STU SDK sources (``WacomGSS/STU/Protocol.hpp``, ``ProtocolHelper.cpp``,
``wgssStuSdk.js``), not our driver:

- after plug-in the pad shows its boot image: Status reports ``StatusCode_Image_Boot`` (4)
  for ``boot_s`` seconds, then Ready (0) ("the tablet will automatically change to Ready when
  finished");
- a command the SDK's ``sendTable`` does not allow in the current state (ClearScreen outside
  Ready) is not carried out and sets lastResultCode ``ErrorCode_WrongState`` (2);
  lastResultCode stays until the next command, as a status register does;
- GET_REPORT Status 0x03, Information 0x08, Capability 0x09, InkingMode 0x21,
  HandwritingDisplayArea 0x2A, PenDataOptionMode 0x32; SET_REPORT ClearScreen 0x20,
  InkingMode 0x21, HandwritingDisplayArea 0x2A (a rectangle off the screen sets
  ``ErrorCode_GraphicsWrongParameters`` 0x15), PenDataOptionMode 0x32, Reset 0x04. Anything
  else stalls;
- pen data from interrupt endpoint 0x81 as PenData 0x01 (rdy bit 7, sw bits 4-6, pressure
  bits 0-3 + byte 2, x, y big-endian), or PenDataTimeCountSequence 0x34 after option mode 3;
  ``sw_value`` sets the switch value sent while touching (any non-zero value means touching).
  While inking is on, the "screen" keeps the ink drawn since the last ClearScreen (``ink``).

Faults: ``unplug()``/``plug()``, malformed reports (``inject_malformed``, ``malformed_every``).
``python -m device_mocks.wacom_stu [--model STU-430]`` runs the real driver against it.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from device_mocks.hid_digitizer import MALFORMED_KINDS, demo, hid_class_descriptor
from device_mocks.pen_stream import PenReportStream, PenSample
from device_mocks.usb_backend import (GET_DESCRIPTOR, FakeEndpoint, FakeInterface, FakeUsbDevice, UsbMockHandle,
                                      stall)

VENDOR_ID = 0x056A


@dataclass(frozen=True)
class StuModel:
    name: str
    product_id: int
    max_x: int
    max_y: int
    screen: tuple[int, int]
    firmware: tuple[int, int]


# tablet counts at 2540 per inch: STU-430 96 x 60 mm, STU-530/540 108 x 64.8 mm
MODELS = {
    "STU-430": StuModel("STU-430", 0x00A4, 9600, 6000, (320, 200), (1, 4)),
    "STU-530": StuModel("STU-530", 0x00A5, 10800, 6480, (800, 480), (1, 7)),
    "STU-540": StuModel("STU-540", 0x00A8, 10800, 6480, (800, 480), (1, 8)),
    "STU-430V": StuModel("STU-430V", 0x00A6, 9600, 6000, (320, 200), (1, 2)),
    "STU-541": StuModel("STU-541", 0x00A9, 10800, 6480, (800, 480), (1, 1)),
}
STATUS_READY, STATUS_IMAGE_BOOT = 0x00, 0x04
ERROR_WRONG_STATE = 0x02
MAX_PRESSURE = 1023
RESOLUTION = 2540
REPORT_RATE = 200

# a vendor-defined report descriptor: the STU's reports are not standard digitizer usages
REPORT_DESCRIPTOR = bytes.fromhex(
    "06 00 ff 09 01 a1 01 15 00 26 ff 00 75 08"
    "85 01 09 01 95 06 81 02"  # PenData
    "85 34 09 34 95 0a 81 02"  # PenDataTimeCountSequence
    "85 03 09 03 95 04 b1 02"  # Status
    "85 08 09 08 95 10 b1 02"  # Information
    "85 09 09 09 95 10 b1 02"  # Capability
    "85 20 09 20 95 01 b1 02"  # ClearScreen
    "85 21 09 21 95 01 b1 02"  # InkingMode
    "85 2a 09 2a 95 08 b1 02"  # HandwritingDisplayArea
    "85 32 09 32 95 01 b1 02"  # PenDataOptionMode
    "c0")


class FakeWacomStu(FakeUsbDevice):
    def __init__(self, model: str = "STU-530", *, serial: str = "5JZQS00032", seed: int = 1, rate_hz: float = 200.0,
                 pause_s: float = 1.5, malformed_every: int = 0,
                 speed_mm_s: float = 90.0, boot_s: float = 0.0, sw_value: int = 1) -> None:
        self.model = MODELS[model]
        #: seconds the boot image shows after plug-in (Status = Image_Boot)
        self.boot_s = boot_s
        self.sw_value = sw_value
        super().__init__(vendor_id=VENDOR_ID, product_id=self.model.product_id, bcd_device=0x0100 | self.model.firmware[1],
                         manufacturer="Wacom Co.,Ltd.", product=self.model.name, serial=serial,
                         interfaces=[FakeInterface(0, 0x03, [FakeEndpoint(0x81, 0x03, 64, 5)],
                                                   extra_descriptors=hid_class_descriptor(len(REPORT_DESCRIPTOR)))])
        self.width_mm = self.model.max_x * 25.4 / RESOLUTION
        self.height_mm = self.model.max_y * 25.4 / RESOLUTION
        self.stream = PenReportStream(self.encode, width_mm=self.width_mm, height_mm=self.height_mm, seed=seed,
                                      rate_hz=rate_hz, pause_s=pause_s, speed_mm_s=speed_mm_s)
        self.malformed_every = malformed_every
        self._reset_state()

    def _reset_state(self) -> None:
        self.last_result = 0
        self.inking = False
        self.option_mode = 0
        self.area = (0, 0, self.model.screen[0] - 1, self.model.screen[1] - 1)
        self.clears = 0
        self.ink: list[tuple[int, int]] = []
        self.sequence = 0
        self.plugged_at = time.monotonic()
        self._sent = 0
        #: ClearScreen commands the pad refused because it was not Ready
        self.refused: list[int] = []

    @property
    def status_code(self) -> int:
        booting = time.monotonic() - self.plugged_at < self.boot_s
        return STATUS_IMAGE_BOOT if booting else STATUS_READY

    def on_plug(self) -> None:
        self._reset_state()
        self.stream.restart()

    # -- reports -------------------------------------------------------------------------------
    def encode(self, sample: PenSample) -> bytes:
        x = round(min(max(sample.x_mm, 0.0), self.width_mm) * RESOLUTION / 25.4)
        y = round(min(max(sample.y_mm, 0.0), self.height_mm) * RESOLUTION / 25.4)
        pressure = round(sample.pressure * MAX_PRESSURE) if sample.tip else 0
        flags = (0x80 if sample.in_range else 0) | ((self.sw_value & 0x07) << 4 if sample.tip else 0) | (pressure >> 8)
        body = bytes([flags, pressure & 0xFF]) + x.to_bytes(2, "big") + y.to_bytes(2, "big")
        if sample.tip and self.inking:
            self.ink.append((x, y))
        if self.option_mode == 3:
            self.sequence = (self.sequence + 1) & 0xFFFF
            count = int((time.monotonic() - self.plugged_at) * 1000) & 0xFFFF
            return bytes([0x34]) + body + count.to_bytes(2, "big") + self.sequence.to_bytes(2, "big")
        return bytes([0x01]) + body

    def feature(self, report_id: int) -> bytes:
        m = self.model
        if report_id == 0x03:
            return bytes([0x03, self.status_code, self.last_result, 0, 0])
        if report_id == 0x08:
            return (bytes([0x08]) + m.name.encode("ascii").ljust(9, b"\0") + bytes(m.firmware)
                    + bytes([0, 0, 0, 0, 0]))
        if report_id == 0x09:
            return (bytes([0x09]) + b"".join(v.to_bytes(2, "big") for v in (m.max_x, m.max_y, MAX_PRESSURE, *m.screen))
                    + bytes([REPORT_RATE]) + RESOLUTION.to_bytes(2, "big") + bytes([0x0F, 0, 0]))
        if report_id == 0x21:
            return bytes([0x21, 1 if self.inking else 0])
        if report_id == 0x2A:
            return bytes([0x2A]) + b"".join(v.to_bytes(2, "little") for v in self.area)
        if report_id == 0x32:
            return bytes([0x32, self.option_mode])
        raise stall()

    def set_feature(self, report_id: int, data: bytes) -> None:
        if not data or data[0] != report_id:
            self.last_result = 0x01  # ErrorCode_WrongReportId
            return
        self.last_result = 0
        if report_id == 0x20 and self.status_code != STATUS_READY:  # sendTable: ClearScreen in Ready only
            self.last_result = ERROR_WRONG_STATE
            self.refused.append(report_id)
            return
        if report_id == 0x20:
            self.clears += 1
            self.ink.clear()
        elif report_id == 0x21 and len(data) >= 2:
            self.inking = data[1] == 1
        elif report_id == 0x2A and len(data) >= 9:
            area = tuple(int.from_bytes(data[i:i + 2], "little") for i in (1, 3, 5, 7))
            w, h = self.model.screen
            if not (area[0] <= area[2] < w and area[1] <= area[3] < h):
                self.last_result = 0x15  # ErrorCode_GraphicsWrongParameters
                return
            self.area = area  # type: ignore[assignment]
        elif report_id == 0x32 and len(data) >= 2:
            if data[1] > 3:
                self.last_result = 0x15
                return
            self.option_mode = data[1]
        elif report_id == 0x04:
            self._reset_state()
            self.plugged_at -= self.boot_s  # a reset does not show the boot image again
        else:
            raise stall()

    # -- USB -----------------------------------------------------------------------------------
    def control_in(self, request_type: int, request: int, value: int, index: int, length: int) -> bytes:
        if request_type == 0xA1 and request == 0x01 and value >> 8 == 0x03 and index == 0:
            return self.feature(value & 0xFF)
        if request_type == 0x81 and request == GET_DESCRIPTOR and value == 0x2200 and index == 0:
            return REPORT_DESCRIPTOR
        raise stall()

    def control_out(self, request_type: int, request: int, value: int, index: int, data: bytes) -> int:
        if request_type == 0x21 and request == 0x09 and value >> 8 == 0x03 and index == 0:
            self.set_feature(value & 0xFF, data)
            return len(data)
        if request_type == 0x21 and request == 0x0A:  # SET_IDLE
            return 0
        raise stall()

    def inject_malformed(self, kind: str) -> None:
        self.stream.inject(malformed(kind))

    def read_endpoint(self, endpoint: int, size: int, timeout_ms: int) -> bytes:
        if endpoint != 0x81:
            return super().read_endpoint(endpoint, size, timeout_ms)
        report = self.stream.next_report(timeout_ms)
        self._sent += 1
        if self.malformed_every and self._sent % self.malformed_every == 0:
            return malformed(MALFORMED_KINDS[(self._sent // self.malformed_every) % len(MALFORMED_KINDS)])
        return report


def malformed(kind: str) -> bytes:
    """A broken STU input report: cut short, an id the pad never sends, or garbage values."""
    if kind == "short":
        return bytes([0x01, 0x90, 0x10])
    if kind == "wrong_id":
        return bytes([0x7E]) + bytes(6)
    if kind == "garbage":
        return bytes([0x01]) + b"\xff" * 6  # x = 65535, beyond the capability
    raise ValueError(kind)


def start_for_station(params: dict[str, Any], workdir: Path) -> UsbMockHandle:
    """Present the pad on an in-process pyusb backend; the driver is pointed at it by name."""
    product = int(params.get("product_id") or 0)
    model = next((m.name for m in MODELS.values() if m.product_id == product), "STU-530")
    # a pad just plugged in shows its boot image for a moment, as the real one does
    return UsbMockHandle("wacom_stu", FakeWacomStu(model, serial=str(params.get("serial") or "5JZQS00032"), boot_s=0.5))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="STU-530")
    parser.add_argument("--seconds", type=float, default=4.0, help="how long to read the pen")
    args = parser.parse_args(argv)
    from kiosk.devices.wacom_stu import WacomStuSignatureDriver

    with start_for_station({"product_id": MODELS[args.model].product_id}, Path(".")) as handle:
        code = demo("signature", WacomStuSignatureDriver, handle, args.seconds)
        print(f"pad screen: {handle.device.clears} clears, inking={handle.device.inking}")
        return code


if __name__ == "__main__":
    raise SystemExit(main())
