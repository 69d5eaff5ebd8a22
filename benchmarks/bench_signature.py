"""Signature-pad report decoding: points per second through the drivers' decoders against a
plain ``struct.unpack`` decoder hard-wired to the same report layout, and the whole stack
(pyusb -> mock backend -> reader thread -> decode -> queue) against the pad's 200 Hz rate."""

from __future__ import annotations

import struct
import time
from typing import Any, Callable

from benchmarks.run import result
from device_mocks.hid_digitizer import REPORT_DESCRIPTOR, FakeHidDigitizer, encode_pen
from device_mocks.pen_stream import signature_samples
from device_mocks.usb_backend import UsbMockHandle
from device_mocks.wacom_stu import FakeWacomStu
from kiosk.devices.hid_digitizer import HidDigitizerSignatureDriver, pen_layout
from kiosk.devices.protocols import PenPoint
from kiosk.devices.wacom_stu import Capability, decode_pen_report

PAD_RATE_HZ = 200.0
ROUNDS = 20


def _rate(decode: Callable[[bytes], object], reports: list[bytes]) -> float:
    t = time.perf_counter()
    for _ in range(ROUNDS):
        for r in reports:
            decode(r)
    return ROUNDS * len(reports) / (time.perf_counter() - t)


def bench_signature_decode() -> list[dict[str, Any]]:
    samples = signature_samples(3, 152.0, 95.0)
    hid_reports = [encode_pen(s) for s in samples]
    layout = pen_layout(REPORT_DESCRIPTOR, device="bench")
    pen = struct.Struct("<BBHHH")

    def reference_hid(r: bytes) -> PenPoint:
        _, flags, x, y, p = pen.unpack(r)
        tip = bool(flags & 1) and bool(flags & 0x10)
        return PenPoint(x * 0.005, y * 0.005, p / 4095 if tip else 0.0, tip, 0.0)

    stu = FakeWacomStu("STU-530")
    stu_reports = [stu.encode(s) for s in signature_samples(3, 108.0, 64.8)]
    cap = Capability(10800, 6480, 1023, 800, 480, 200, 2540, 0x0F)
    stu_struct = struct.Struct(">BBBHH")

    def reference_stu(r: bytes) -> PenPoint:
        _, flags, lo, x, y = stu_struct.unpack(r)
        tip = bool(flags & 0x80) and (flags >> 4) & 7 == 1
        return PenPoint(x * 0.01, y * 0.01, (((flags & 0x0F) << 8) | lo) / 1023 if tip else 0.0, tip, 0.0)

    hid = _rate(lambda r: layout.decode(r, 0.0, device="bench"), hid_reports)
    stu_rate = _rate(lambda r: decode_pen_report(r, cap, 0.0, device="bench"), stu_reports)
    return [
        result("signature_decode", "hid_points_per_s", hid, "points/s", _rate(reference_hid, hid_reports)),
        result("signature_decode", "stu_points_per_s", stu_rate, "points/s", _rate(reference_stu, stu_reports)),
        result("signature_decode", "hid_headroom_vs_pad", hid, "points/s", PAD_RATE_HZ),
    ]


def bench_signature_stack() -> list[dict[str, Any]]:
    """Points delivered per second by the real driver reading the mock flat out."""
    device = FakeHidDigitizer(rate_hz=1e6, pause_s=0.0)
    with UsbMockHandle("bench", device) as handle:
        drv = HidDigitizerSignatureDriver("bench", HidDigitizerSignatureDriver.Params(usb_backend=handle.backend_name))
        with drv:
            drv.read_points(timeout_s=1.0)
            count, t, before = 0, time.perf_counter(), drv.status().params["reports"]
            while time.perf_counter() - t < 1.0:
                count += len(drv.read_points(timeout_s=0.05))
            elapsed = time.perf_counter() - t
            reports = drv.status().params["reports"] - before
    # hover reports are read and decoded but not queued: reports/s >= points/s
    return [result("signature_stack", "driver_points_per_s", count / elapsed, "points/s", PAD_RATE_HZ),
            result("signature_stack", "driver_reports_per_s", reports / elapsed, "reports/s", PAD_RATE_HZ)]


BENCHES = {"signature_decode": bench_signature_decode, "signature_stack": bench_signature_stack}
