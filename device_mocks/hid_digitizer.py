"""Mock of a standard USB HID pen digitizer (a 152 x 95 mm signature pad), served as a pyusb
backend: the driver finds it with ``usb.core.find``, detaches "usbhid", reads its report
descriptor with GET_DESCRIPTOR and reads pen reports from interrupt endpoint 0x81.

The descriptor is a real-world shaped one: a mouse application collection (report 1) before
the pen (report 2: tip, barrel, eraser, invert, in range bits; X/Y 16-bit with Unit = cm and
Unit Exponent -3 inside a Push/Pop; 12-bit tip pressure). A second interface is a boot
keyboard (the pad's buttons) that a driver must leave alone.

Faults: ``unplug()``/``plug()`` (ENODEV like libusb, then a new address), malformed reports
by :meth:`FakeHidDigitizer.inject_malformed` or every N reports (``malformed_every``).

``python -m device_mocks.hid_digitizer`` runs the real driver against the mock, draws the
signature it receives in the terminal, then unplugs and replugs the pad.
"""

from __future__ import annotations

import argparse
import struct
from pathlib import Path
from typing import Any

from device_mocks.pen_stream import PenReportStream, PenSample
from device_mocks.usb_backend import (GET_DESCRIPTOR, FakeEndpoint, FakeInterface, FakeUsbDevice, UsbMockHandle,
                                      stall)

VENDOR_ID = 0x2A5F  # not a real vendor: this mock is nobody's product
PRODUCT_ID = 0x0152
PEN_REPORT_ID = 2
LOGICAL_X, LOGICAL_Y, MAX_PRESSURE = 30400, 19000, 4095
WIDTH_MM, HEIGHT_MM = 152.0, 95.0

REPORT_DESCRIPTOR = bytes.fromhex(
    # Generic Desktop / Mouse, application collection, report 1: 3 buttons, relative X/Y
    "05 01 09 02 a1 01 85 01 09 01 a1 00"
    "05 09 19 01 29 03 15 00 25 01 75 01 95 03 81 02 95 05 81 03"
    "05 01 09 30 09 31 15 81 25 7f 75 08 95 02 81 06 c0 c0"
    # Digitizer / Pen, application collection, report 2; Stylus physical collection
    "05 0d 09 02 a1 01 85 02 09 20 a1 00"
    "09 42 09 44 09 45 09 3c 09 32 15 00 25 01 75 01 95 05 81 02 95 03 81 03"
    # X and Y: logical 0..30400 / 0..19000, physical 0..15200 / 0..9500 in 10^-3 cm
    "05 01 a4 09 30 75 10 95 01 55 0d 65 11 15 00 26 c0 76 35 00 46 60 3b 81 02"
    "09 31 26 38 4a 46 1c 25 81 02 b4"
    # Tip Pressure 0..4095, no unit
    "05 0d 09 30 15 00 26 ff 0f 75 10 95 01 81 02 c0 c0")

#: the boot keyboard interface's descriptor (never requested by a pen driver)
KEYBOARD_DESCRIPTOR = bytes.fromhex(
    "05 01 09 06 a1 01 05 07 19 e0 29 e7 15 00 25 01 75 01 95 08 81 02 95 01 75 08 81 03"
    "95 06 75 08 15 00 25 65 19 00 29 65 81 00 c0")


def hid_class_descriptor(report_length: int) -> list[int]:
    """HID descriptor (type 0x21): HID 1.11, one report descriptor of ``report_length`` bytes."""
    return list(bytes([9, 0x21, 0x11, 0x01, 0x00, 0x01, 0x22]) + report_length.to_bytes(2, "little"))


def encode_pen(sample: PenSample) -> bytes:
    """One pen input report as this pad sends it (report id 2, 8 bytes)."""
    flags = (1 if sample.tip else 0) | (0x10 if sample.in_range else 0)
    x = round(min(max(sample.x_mm, 0.0), WIDTH_MM) / WIDTH_MM * LOGICAL_X)
    y = round(min(max(sample.y_mm, 0.0), HEIGHT_MM) / HEIGHT_MM * LOGICAL_Y)
    pressure = round(sample.pressure * MAX_PRESSURE) if sample.tip else 0
    return struct.pack("<BBHHH", PEN_REPORT_ID, flags, x, y, pressure)


MALFORMED_KINDS = ("short", "wrong_id", "garbage")


def malformed(kind: str) -> bytes:
    """A broken pen report: cut short, an undeclared report id, or garbage values."""
    if kind == "short":
        return bytes([PEN_REPORT_ID, 0x11, 0x40])
    if kind == "wrong_id":
        return bytes([0x7F]) + bytes(7)
    if kind == "garbage":
        return bytes([PEN_REPORT_ID]) + b"\xff" * 7  # X = 65535 beyond logical max
    raise ValueError(kind)


class FakeHidDigitizer(FakeUsbDevice):
    def __init__(self, *, vendor_id: int = VENDOR_ID, product_id: int = PRODUCT_ID, serial: str = "HDP0001",
                 seed: int = 1, rate_hz: float = 200.0, pause_s: float = 1.5, malformed_every: int = 0,
                 speed_mm_s: float = 90.0, scene: str = "endless") -> None:
        super().__init__(
            vendor_id=vendor_id, product_id=product_id, bcd_device=0x0102, manufacturer="Mock Pen Works",
            product="HID Signature Pad 152", serial=serial,
            interfaces=[
                FakeInterface(0, 0x03, [FakeEndpoint(0x81, 0x03, 16, 5)],
                              extra_descriptors=hid_class_descriptor(len(REPORT_DESCRIPTOR))),
                FakeInterface(1, 0x03, [FakeEndpoint(0x82, 0x03, 8, 10)], bInterfaceSubClass=1, bInterfaceProtocol=1,
                              extra_descriptors=hid_class_descriptor(len(KEYBOARD_DESCRIPTOR))),
            ])
        self.stream = PenReportStream(encode_pen, width_mm=WIDTH_MM, height_mm=HEIGHT_MM, seed=seed,
                                      rate_hz=rate_hz, pause_s=pause_s, speed_mm_s=speed_mm_s, scene=scene)
        self.malformed_every = malformed_every
        self.idle_rate: int | None = None
        self._sent = 0

    def request_signature(self) -> None:
        """Ask the resident to sign (scene "person": a plain digitizer has no command for it)."""
        self.stream.request()

    def inject_malformed(self, kind: str) -> None:
        self.stream.inject(malformed(kind))

    def on_plug(self) -> None:
        self.stream.restart()

    def control_in(self, request_type: int, request: int, value: int, index: int, length: int) -> bytes:
        if request_type == 0x81 and request == GET_DESCRIPTOR and value == 0x2200:
            if index == 0:
                return REPORT_DESCRIPTOR
            if index == 1:
                return KEYBOARD_DESCRIPTOR
        raise stall()

    def control_out(self, request_type: int, request: int, value: int, index: int, data: bytes) -> int:
        if request_type == 0x21 and request == 0x0A:  # HID SET_IDLE
            self.idle_rate = value >> 8
            return 0
        raise stall()

    def read_endpoint(self, endpoint: int, size: int, timeout_ms: int) -> bytes:
        if endpoint != 0x81:
            return super().read_endpoint(endpoint, size, timeout_ms)
        report = self.stream.next_report(timeout_ms)
        self._sent += 1
        if self.malformed_every and self._sent % self.malformed_every == 0:
            return malformed(MALFORMED_KINDS[(self._sent // self.malformed_every) % len(MALFORMED_KINDS)])
        return report


def start_for_station(params: dict[str, Any], workdir: Path) -> UsbMockHandle:
    """Present the pad on an in-process pyusb backend; the driver is pointed at it by name."""
    import os

    device = FakeHidDigitizer(vendor_id=int(params.get("vendor_id") or VENDOR_ID),
                              product_id=int(params.get("product_id") or PRODUCT_ID),
                              serial=str(params.get("serial") or "HDP0001"),
                              scene=os.environ.get("KIOSK_PAD_SCENE", "endless"))
    return UsbMockHandle("hid_digitizer", device)


def render(points: list[tuple[float, float, bool]], width_mm: float, height_mm: float, cols: int = 76,
           rows: int = 18) -> str:
    """A signature in characters: what the operator would see, for the demo."""
    grid = [[" "] * cols for _ in range(rows)]
    for x, y, tip in points:
        if tip:
            c = min(cols - 1, max(0, int(x / width_mm * cols)))
            r = min(rows - 1, max(0, int(y / height_mm * rows)))
            grid[r][c] = "#"
    return "\n".join("|" + "".join(row) + "|" for row in grid)


def demo(driver_name: str, driver_cls: Any, handle: UsbMockHandle, seconds: float) -> int:
    """Open the real driver on a running mock, show the signature, then unplug and replug."""
    import time

    from kiosk.devices.errors import DeviceAbsent

    drv = driver_cls(driver_name, driver_cls.Params(usb_backend=handle.backend_name))
    with drv:
        info = drv.info()
        width, height = drv.writing_area_mm()
        print(f"{info.vendor} {info.model} serial={info.serial} firmware={info.firmware} "
              f"area={width:.1f}x{height:.1f} mm")
        points = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            points += drv.read_points(timeout_s=0.2)
        strokes = sum(1 for a, b in zip(points, points[1:]) if a.tip and not b.tip)
        print(f"{len(points)} points, {strokes} strokes; first: {points[0] if points else None}")
        print(render([(p.x, p.y, p.tip) for p in points], width, height))
        print(f"self-test: {drv.self_test()}")
        handle.device.unplug()
        try:
            for _ in range(20):
                drv.read_points(timeout_s=0.2)
            print("unplug NOT noticed")
            return 1
        except DeviceAbsent as err:
            print(f"unplugged -> {err}")
        handle.device.plug()
        drv.close()
        drv.open()
        print(f"replugged and reopened: {drv.status()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="how long to read the pen")
    args = parser.parse_args(argv)
    from kiosk.devices.hid_digitizer import HidDigitizerSignatureDriver

    with start_for_station({}, Path(".")) as handle:
        return demo("signature", HidDigitizerSignatureDriver, handle, args.seconds)


if __name__ == "__main__":
    raise SystemExit(main())
