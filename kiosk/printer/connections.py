"""Byte movers for card printers (python-escpos style): they know nothing of the printer's language.

Each connection only opens, writes bytes, reads bytes with a timeout and closes. The printer
language (Evolis escape commands) lives in :mod:`kiosk.printer.evolis`, on top of ``_write`` /
``_read``, so the same driver code runs over any of them:

- :class:`UsbConnection`: USB bulk OUT / bulk IN endpoints of the printer-class interface, through
  the station's one USB transport (:mod:`kiosk.devices.usb`; libusb, or a backend registered by
  name such as the wire-level mock in ``device_mocks.evolis``).
- :class:`LpConnection`: the kernel's USB printer class device (``/dev/usb/lp0``), a plain file.
- :class:`SerialConnection`: a serial port, pty or any pyserial URL (``socket://``, ``loop://``).
- :class:`DummyConnection`: in memory (tests, benchmarks): records what was written, answers
  from a queue.
"""

from __future__ import annotations

import os
import select
import time
from abc import ABC, abstractmethod
from collections import deque
from typing import Any, Callable

from kiosk.devices.errors import DeviceAbsent, DeviceBusy, DeviceTimeout
from kiosk.devices.usb import UsbLink, find_endpoint


class PrinterConnection(ABC):
    """Moves bytes to and from one printer. ``device`` is the configured name (for errors)."""

    def __init__(self, device: str) -> None:
        self.device = device

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def _write(self, data: bytes) -> None:
        """Send all of ``data``; raise DeviceTimeout/DeviceAbsent on failure."""

    @abstractmethod
    def _read(self, timeout_s: float) -> bytes:
        """Whatever arrived within ``timeout_s`` (b"" when nothing did)."""

    def describe(self) -> str:
        return type(self).__name__


# ------------------------------------------------------------------------------------------
# USB bulk endpoints (pyusb)

#: USB printer class (USB Device Class Definition for Printing Devices 1.1)
USB_CLASS_PRINTER = 7


class UsbConnection(PrinterConnection):
    """Find the printer by vendor (and product/serial), claim its printer interface, use bulk EPs."""

    def __init__(self, device: str, *, vendor_id: int, product_id: int = 0, serial: str = "",
                 backend_name: str = "", chunk: int = 16384, write_timeout_s: float = 10.0) -> None:
        super().__init__(device)
        self.vendor_id, self.product_id, self.serial = vendor_id, product_id, serial
        self.link = UsbLink(device, backend_name=backend_name)
        self.chunk = chunk
        self.write_timeout_s = write_timeout_s
        self._ep_out: Any = None
        self._ep_in: Any = None

    def _match(self, d: Any) -> bool:
        if d.idVendor != self.vendor_id or (self.product_id and d.idProduct != self.product_id):
            return False
        if self.serial:
            try:
                return bool(d.serial_number == self.serial)
            except ValueError:  # no serial number string
                return False
        return True

    def open(self) -> None:
        import usb.core
        import usb.util

        link = self.link
        wanted = f"{self.vendor_id:04x}:{self.product_id:04x}"
        dev = link.find(self._match, wanted=wanted)
        if dev is None:
            raise DeviceAbsent(device=self.device, vendor=f"{self.vendor_id:04x}")
        link.attach(dev)
        try:
            def configuration() -> Any:
                try:
                    return dev.get_active_configuration()
                except usb.core.USBError:
                    dev.set_configuration()
                    return dev.get_active_configuration()

            cfg = link.call("configuration", configuration)
            # The USB printer class interface; Evolis printers expose one with bulk OUT + IN.
            intf = usb.util.find_descriptor(cfg, bInterfaceClass=USB_CLASS_PRINTER) or cfg[(0, 0)]
            link.claim(intf.bInterfaceNumber)
            self._ep_out = find_endpoint(intf, usb.util.ENDPOINT_OUT, usb.util.ENDPOINT_TYPE_BULK)
            self._ep_in = find_endpoint(intf, usb.util.ENDPOINT_IN, usb.util.ENDPOINT_TYPE_BULK)
            if self._ep_out is None or self._ep_in is None:
                raise DeviceAbsent(device=self.device, detail="no bulk endpoints")
        except BaseException:
            link.release()
            raise

    def close(self) -> None:
        self.link.release()

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        for start in range(0, len(view), self.chunk):
            part = view[start:start + self.chunk]
            sent = self.link.write(self._ep_out, bytes(part), int(self.write_timeout_s * 1000))
            if sent != len(part):
                raise DeviceTimeout(device=self.device, sent=sent)

    def _read(self, timeout_s: float) -> bytes:
        return self.link.read(self._ep_in, self._ep_in.wMaxPacketSize * 8, int(timeout_s * 1000))

    def describe(self) -> str:
        return f"usb {self.vendor_id:04x}:{self.product_id:04x}"


# ------------------------------------------------------------------------------------------
# Kernel USB printer class device (/dev/usb/lp0) and serial ports


class LpConnection(PrinterConnection):
    """``/dev/usb/lpN`` (usblp): write() goes to bulk OUT, read() returns what bulk IN gave."""

    def __init__(self, device: str, *, path: str) -> None:
        super().__init__(device)
        self.path = path
        self._fd: int | None = None

    def open(self) -> None:
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except FileNotFoundError:
            raise DeviceAbsent(device=self.device, path=self.path) from None
        except PermissionError:
            raise DeviceBusy(device=self.device, path=self.path) from None
        except OSError as exc:
            raise DeviceAbsent(device=self.device, path=self.path, detail=str(exc)) from None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _write(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        deadline = time.monotonic() + 30.0
        while view:
            _, ready, _ = select.select([], [self._fd], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise DeviceTimeout(device=self.device)
            try:
                n = os.write(self._fd, view)
            except BlockingIOError:
                continue
            except OSError as exc:
                raise DeviceAbsent(device=self.device, detail=str(exc)) from None
            view = view[n:]

    def _read(self, timeout_s: float) -> bytes:
        assert self._fd is not None
        ready, _, _ = select.select([self._fd], [], [], timeout_s)
        if not ready:
            return b""
        try:
            return os.read(self._fd, 4096)
        except BlockingIOError:
            return b""
        except OSError as exc:
            raise DeviceAbsent(device=self.device, detail=str(exc)) from None

    def describe(self) -> str:
        return self.path


class SerialConnection(PrinterConnection):
    """Any pyserial URL: a tty, a pty (the mock), ``socket://host:port``."""

    def __init__(self, device: str, *, url: str, baudrate: int = 115200) -> None:
        super().__init__(device)
        self.url, self.baudrate = url, baudrate
        self._port: Any = None

    def open(self) -> None:
        import serial

        try:
            self._port = serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=0.1, write_timeout=30)
        except (serial.SerialException, ValueError) as exc:
            raise DeviceAbsent(device=self.device, port=self.url, detail=str(exc)) from None

    def close(self) -> None:
        if self._port is not None:
            self._port.close()
            self._port = None

    def _write(self, data: bytes) -> None:
        import serial

        try:
            self._port.write(data)
            self._port.flush()
        except serial.SerialTimeoutException:
            raise DeviceTimeout(device=self.device) from None
        except (serial.SerialException, OSError) as exc:
            raise DeviceAbsent(device=self.device, detail=str(exc)) from None

    def _read(self, timeout_s: float) -> bytes:
        import serial

        try:
            self._port.timeout = timeout_s
            first = self._port.read(1)
            if not first:
                return b""
            return first + self._port.read(self._port.in_waiting or 0)
        except (serial.SerialException, OSError) as exc:
            raise DeviceAbsent(device=self.device, detail=str(exc)) from None

    def describe(self) -> str:
        return self.url


class DummyConnection(PrinterConnection):
    """In memory: ``written`` holds every byte sent; ``answer`` is called per write to reply."""

    def __init__(self, device: str = "dummy", answer: Callable[[bytes], bytes] | None = None) -> None:
        super().__init__(device)
        self.written = bytearray()
        self._pending: deque[bytes] = deque()
        self._answer = answer
        self.is_open = False

    def open(self) -> None:
        self.is_open = True

    def close(self) -> None:
        self.is_open = False

    def queue_reply(self, data: bytes) -> None:
        self._pending.append(data)

    def _write(self, data: bytes) -> None:
        self.written += data
        if self._answer is not None:
            reply = self._answer(bytes(data))
            if reply:
                self._pending.append(reply)

    def _read(self, timeout_s: float) -> bytes:
        return self._pending.popleft() if self._pending else b""
