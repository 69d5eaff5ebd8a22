"""How the simulated Evolis printer is attached: as a USB printer-class device on the shared fake
pyusb backend (what Evolis Primacy / Zenius printers are: class 7, bidirectional protocol 2, bulk
OUT 0x02 / bulk IN 0x81; Evolis "Programming guide", "Communication" chapter), or on a
pseudo-terminal for the serial models. Both hand every byte to :meth:`EvolisMock.feed`."""

from __future__ import annotations

import os
import threading
import tty
from typing import TYPE_CHECKING, Any

from device_mocks.usb_backend import (FakeEndpoint, FakeInterface, FakeUsbBackend, FakeUsbDevice, UsbMockHandle,
                                     stall, timeout)

if TYPE_CHECKING:
    from device_mocks.evolis import EvolisMock

VENDOR_ID, PRODUCT_ID = 0x0F49, 0x1001  # product id: unverified (varies by model)

# ------------------------------------------------------------------------------------------
# USB: a device on the shared fake pyusb backend


class EvolisUsbDevice(FakeUsbDevice):
    """The printer as a USB printer-class device (class 7, bidirectional protocol 2) with bulk
    OUT 0x02 and bulk IN 0x81; the kernel's usblp holds the interface until detached."""

    def __init__(self, mock: EvolisMock) -> None:
        self.mock = mock
        self._present = True
        self.pending = bytearray()
        self.cond = threading.Condition()
        endpoints = [FakeEndpoint(0x02, bmAttributes=0x02, wMaxPacketSize=64),
                     FakeEndpoint(0x81, bmAttributes=0x02, wMaxPacketSize=64)]
        super().__init__(vendor_id=VENDOR_ID, product_id=PRODUCT_ID, manufacturer="Evolis", product=mock.model,
                         serial=mock.serial, interfaces=[FakeInterface(0, 7, endpoints, bInterfaceSubClass=1,
                                                                       bInterfaceProtocol=2)])

    @property  # type: ignore[override]
    def present(self) -> bool:
        return self._present and "unplugged" not in self.mock.faults

    @present.setter
    def present(self, value: bool) -> None:
        self._present = value

    def write_endpoint(self, endpoint: int, data: bytes, timeout_ms: int) -> int:
        if endpoint != 0x02:
            raise stall()
        reply = self.mock.feed(data)
        if reply:
            with self.cond:
                self.pending += reply
                self.cond.notify_all()
        return len(data)

    def read_endpoint(self, endpoint: int, size: int, timeout_ms: int) -> bytes:
        if endpoint != 0x81:
            raise stall()
        with self.cond:
            if not self.pending:
                self.cond.wait(timeout_ms / 1000 if timeout_ms else None)
            if not self.pending:
                raise timeout()
            out = bytes(self.pending[:size])
            del self.pending[:size]
            return out


def EvolisUsbBackend(mock: EvolisMock) -> FakeUsbBackend:  # noqa: N802 - reads like the class it returns
    """A pyusb backend holding one simulated Evolis printer."""
    return FakeUsbBackend([EvolisUsbDevice(mock)])


def usb_mock(mock: EvolisMock) -> UsbMockHandle:
    """The printer on its own backend, registered by name: ``handle.overrides`` = {"usb_backend": name}."""
    return UsbMockHandle("evolis", EvolisUsbDevice(mock))


def usb_connection(mock: EvolisMock, *, device: str = "printer", vendor_id: int = VENDOR_ID, serial: str = "") -> Any:
    """The driver's USB connection to ``mock`` (tests and benchmarks): the backend is registered
    by name, as on a simulated station, and stays registered while the connection lives."""
    from kiosk.printer.connections import UsbConnection

    handle = UsbMockHandle("evolis", EvolisUsbDevice(mock))
    conn = UsbConnection(device, vendor_id=vendor_id, serial=serial, backend_name=handle.backend_name)
    conn.mock_handle = handle  # type: ignore[attr-defined]
    return conn


# ------------------------------------------------------------------------------------------
# pty


class PtyServer:
    """Serve the mock on a pseudo-terminal; ``path`` is the port the driver opens."""

    def __init__(self, mock: EvolisMock) -> None:
        self.mock = mock
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # bytes pass untouched (CR stays CR, binary panels intact)
        self.path = os.ttyname(self.slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="evolis-pty", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        import select

        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:
                break
            reply = self.mock.feed(data)
            if reply:
                os.write(self.master, reply)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
