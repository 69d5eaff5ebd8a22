"""The part every USB signature pad driver shares: claim the HID interface, read its interrupt
IN endpoint on a background thread, decode each input report into pen points, queue them.

Finding, claiming, transfers and libusb error translation go through the station's one USB
transport, :class:`kiosk.devices.usb.UsbLink` (shared with the Evolis printer's USB connection).

A concrete driver says how to find its device (:meth:`UsbPenPad._match`), what to do once the
interface is claimed (:meth:`UsbPenPad._setup`: read the report descriptor, or the pad's
capability report) and how to decode one report (:meth:`UsbPenPad._decode`). Both the
standard HID digitizer and the Wacom STU give the same stream: :class:`PenPoint` in mm from
the top-left of the writing area, a point with ``tip=False`` ends a stroke.

Faults: a libusb "no device" on any call (unplug) becomes :class:`DeviceAbsent` naming the
configured device; the reader stops and :meth:`read_points` raises it. Close and open again
after the replug. A report that breaks the protocol is dropped and counted; a run of
``max_bad_reports`` of them in a row means the stream is garbage and raises
:class:`DeviceProtocolError` from :meth:`read_points`.
"""

from __future__ import annotations

import queue
import threading
import time
from abc import abstractmethod
from typing import Any, Callable, TypeVar

import usb.core
import usb.util

from kiosk.devices.base import DeviceInfo, DeviceState, DeviceStatus, SelfTestResult, Worded
from kiosk.devices.errors import DeviceAbsent, DeviceError, DeviceProtocolError
from kiosk.devices.protocols import PenPoint, SignaturePad
from kiosk.devices.usb import UsbLink, is_timeout, usb_error

T = TypeVar("T")

USB_CLASS_HID = 0x03
#: how many points the queue holds before the oldest are dropped (minutes at 200 Hz)
QUEUE_LIMIT = 200 * 60 * 5


class UsbPenPad(SignaturePad):
    """Base of the pyusb signature-pad drivers (inherits the one protocol, SignaturePad)."""

    def __init__(self, name: str, params: Any) -> None:
        super().__init__(name, params)
        self._link = UsbLink(name, backend_name=params.usb_backend)
        self._interface: int = 0
        self._endpoint: int = 0
        self._packet_size: int = 64
        self._points: queue.Queue[PenPoint] = queue.Queue(maxsize=QUEUE_LIMIT)
        self._stop = threading.Event()
        self._reader: threading.Thread | None = None
        self._failure: DeviceError | None = None
        self._failure_lock = threading.Lock()
        self._reports = 0
        self._bad_reports = 0
        self._bad_in_a_row = 0
        self._last_tip = False

    # -- what a concrete driver provides -------------------------------------------------------
    @abstractmethod
    def _match(self, dev: usb.core.Device) -> bool:
        """True if ``dev`` is the device this driver should open."""

    @abstractmethod
    def _choose_interface(self, dev: usb.core.Device) -> tuple[int, int, int]:
        """(interface number, interrupt IN endpoint address, max packet size)."""

    @abstractmethod
    def _setup(self) -> None:
        """Talk to the claimed interface before streaming (descriptor, capabilities...)."""

    @abstractmethod
    def _decode(self, report: bytes, now: float) -> list[PenPoint]:
        """Points in one input report ([] for reports that carry none). Raises
        DeviceProtocolError for a report that breaks the protocol."""

    # -- helpers for subclasses ----------------------------------------------------------------
    @property
    def usb_id(self) -> str:
        return self._link.usb_id

    @property
    def _usb_id(self) -> str:
        return self._link.usb_id

    @property
    def _dev(self) -> usb.core.Device | None:
        """The open device: the link owns it."""
        return self._link.dev

    def _device(self) -> usb.core.Device:
        if self._dev is None:
            self.require_open()
            raise DeviceAbsent(device=self.name, usb=self._usb_id)
        return self._dev

    def _usb(self, action: str, call: Callable[[], T]) -> T:
        """Run one pyusb call, turning its errors into typed device errors."""
        return self._link.call(action, call)

    def _ctrl_in(self, action: str, request_type: int, request: int, value: int, index: int,
                 length: int) -> bytes:
        dev = self._device()
        data = self._usb(action, lambda: dev.ctrl_transfer(request_type, request, value, index, length,
                                                           timeout=self.params.control_timeout_ms))
        raw = bytes(data)
        self.log.record("rx", raw)
        return raw

    def _ctrl_out(self, action: str, request_type: int, request: int, value: int, index: int,
                  payload: bytes) -> None:
        dev = self._device()
        self.log.record("tx", payload)
        self._usb(action, lambda: dev.ctrl_transfer(request_type, request, value, index, payload,
                                                    timeout=self.params.control_timeout_ms))

    # -- lifecycle -----------------------------------------------------------------------------
    def _find(self) -> usb.core.Device | None:
        return self._link.find(self._match, wanted=self._wanted_id())

    def _do_open(self) -> None:
        if self._reader is not None:
            self._do_close()
        dev = self._find()
        if dev is None:
            raise DeviceAbsent(device=self.name, usb=self._wanted_id())
        self._link.attach(dev)
        self._failure = None
        self._reports = self._bad_reports = self._bad_in_a_row = 0
        self._last_tip = False
        self._drain()
        try:
            self._interface, self._endpoint, self._packet_size = self._choose_interface(dev)
            self._link.claim(self._interface)
            self._setup()
        except BaseException:
            self._release()
            raise
        self._stop.clear()
        self._reader = threading.Thread(target=self._read_loop, name=f"pen-reader-{self.name}", daemon=True)
        self._reader.start()

    def _wanted_id(self) -> str:
        return "any"

    def _do_close(self) -> None:
        self._stop.set()
        if self._reader is not None:
            self._reader.join(timeout=2 + self.params.read_timeout_ms / 1000)
            self._reader = None
        self._release()

    def _release(self) -> None:
        self._link.release()

    # -- the report stream ---------------------------------------------------------------------
    def _read_loop(self) -> None:
        dev = self._dev
        if dev is None:
            return
        while not self._stop.is_set():
            try:
                data = dev.read(self._endpoint, self._packet_size, timeout=self.params.read_timeout_ms)
            except usb.core.USBError as exc:
                if is_timeout(exc):
                    continue  # the pen is away: digitizers send nothing then
                self._fail(usb_error(exc, device=self.name, usb_id=self._usb_id, action="read report"))
                return
            except Exception as exc:  # noqa: BLE001 - the thread must report, never die silently
                self._fail(DeviceProtocolError(device=self.name, usb=self._usb_id, action="read report",
                                               detail=f"{type(exc).__name__}: {exc}"[:120]))
                return
            self._take_report(bytes(data), time.monotonic())

    def _take_report(self, report: bytes, now: float) -> None:
        self.log.record("rx", report)
        try:
            self._queue_points(report, now)
        finally:
            self._reports += 1  # counted once fully handled: a caller seeing N knows N are queued

    def _queue_points(self, report: bytes, now: float) -> None:
        try:
            points = self._decode(report, now)
        except DeviceProtocolError as err:
            self._bad_reports += 1
            self._bad_in_a_row += 1
            if self._bad_in_a_row >= self.params.max_bad_reports:
                self._fail(err)
                self._stop.set()
            return
        self._bad_in_a_row = 0
        for point in points:
            if not point.tip and not self._last_tip:
                continue  # hovering: only the lift that ends a stroke matters
            self._last_tip = point.tip
            try:
                self._points.put_nowait(point)
            except queue.Full:
                self._points.get_nowait()  # drop the oldest, keep the stream live
                self._points.put_nowait(point)

    def _fail(self, err: DeviceError) -> None:
        with self._failure_lock:
            if self._failure is None:
                self._failure = err

    def _drain(self) -> list[PenPoint]:
        out: list[PenPoint] = []
        while True:
            try:
                out.append(self._points.get_nowait())
            except queue.Empty:
                return out

    # -- SignaturePad --------------------------------------------------------------------------
    def read_points(self, *, timeout_s: float = 0.1) -> list[PenPoint]:
        self.require_open()
        out = self._drain()
        if not out:
            failure = self._failure
            if failure is not None:
                raise failure
            try:
                out.append(self._points.get(timeout=max(0.0, timeout_s)))
            except queue.Empty:
                failure = self._failure
                if failure is not None:
                    raise failure from None
                return []
            out.extend(self._drain())
        return out

    def _drop_buffered(self) -> None:
        self._drain()
        self._last_tip = False

    def discard_pending(self) -> None:
        """Drop the queued backlog (up to QUEUE_LIMIT points) without a word to the pad."""
        self.require_open()
        self._drop_buffered()

    def status(self) -> DeviceStatus:
        params = {"reports": self._reports, "bad_reports": self._bad_reports, "usb": self._usb_id}
        if not self.is_open:
            return DeviceStatus(DeviceState.CLOSED, params=params)
        failure = self._failure
        if isinstance(failure, DeviceAbsent):
            return DeviceStatus(DeviceState.ABSENT, failure.code, {**params, **failure.params})
        if failure is not None:
            return DeviceStatus(DeviceState.ERROR, failure.code, {**params, **failure.params})
        return DeviceStatus(DeviceState.READY, params=params)

    def _strings(self) -> tuple[str, str, str]:
        dev = self._device()

        def get(index: int) -> str:
            if not index:
                return ""
            try:
                return usb.util.get_string(dev, index) or ""
            except (usb.core.USBError, ValueError):
                return ""  # strings are informative; a pad without them still works

        return get(dev.iManufacturer), get(dev.iProduct), get(dev.iSerialNumber)

    def _base_info(self, vendor: str, model: str, **extra: Any) -> DeviceInfo:
        self.require_open()
        dev = self._device()
        manufacturer, product, serial = self._strings()
        width, height = self.writing_area_mm()
        return DeviceInfo(vendor=manufacturer or vendor, model=product or model, serial=serial,
                          firmware=f"{dev.bcdDevice >> 8:x}.{dev.bcdDevice & 0xFF:02x}",
                          extra={"usb": self._usb_id, "interface": self._interface,
                                 "writing_area_mm": [round(width, 2), round(height, 2)], **extra})

    def _stream_checks(self) -> list[tuple[str, bool, str]]:
        alive = self._reader is not None and self._reader.is_alive()
        stopped = str(self._failure) if self._failure else Worded("signature.detail.reader_stopped", "stopped")
        running = Worded("signature.detail.reader_running", "pen reports keep arriving")
        checks = [("signature.check.reader", alive, running if alive else stopped),
                  ("signature.check.reports", self._bad_in_a_row < self.params.max_bad_reports,
                   Worded("signature.detail.reports", f"{self._bad_reports} bad of {self._reports}",
                          bad=self._bad_reports, total=self._reports))]
        return checks

    def _present(self) -> tuple[str, bool, str]:
        """Is the open device still on the bus (same ids, same address)?"""
        if self._dev is None:
            return ("signature.check.present", False, self._usb_id)
        try:
            found = self._link.still_present()
        except (DeviceError, usb.core.USBError) as exc:
            return ("signature.check.present", False, getattr(exc, "code", str(exc)[:80]))
        return ("signature.check.present", found, self._usb_id)

    def _self_test_result(self, checks: list[tuple[str, bool, str]]) -> SelfTestResult:
        return SelfTestResult(all(ok for _, ok, _ in checks), tuple(checks))
