"""A pyusb backend (``usb.backend.IBackend``) serving fake USB devices, for wire-level mocks.

A driver calls ``usb.core.find(backend=...)`` and then the ordinary pyusb API; everything it
sends reaches a :class:`FakeUsbDevice` here exactly as libusb would deliver it to hardware:
descriptors, control transfers (standard string descriptors are answered here, everything
else goes to the device's :meth:`~FakeUsbDevice.control_in`/:meth:`~FakeUsbDevice.control_out`),
interrupt and bulk transfers (:meth:`~FakeUsbDevice.read_endpoint`/:meth:`~FakeUsbDevice.write_endpoint`).

It behaves like the libusb1 backend where drivers notice:

- errors are ``usb.core.USBError(message, libusb error code, errno)``; timeouts are
  ``USBTimeoutError`` (LIBUSB_ERROR_TIMEOUT, ETIMEDOUT);
- :meth:`FakeUsbDevice.unplug`: the device leaves ``enumerate_devices`` and every call on a
  handle opened before raises LIBUSB_ERROR_NO_DEVICE / ENODEV; :meth:`FakeUsbDevice.plug`
  brings it back with a new bus address, so only a fresh ``find`` + open reaches it;
- a kernel driver is bound to each interface until detached, and claiming such an interface,
  or one another handle holds, fails with LIBUSB_ERROR_BUSY / EBUSY; a request the device does not support stalls
  (LIBUSB_ERROR_PIPE / EPIPE).

Device-specific mocks subclass :class:`FakeUsbDevice` (the HID digitizer, the Wacom STU; a
printer mock can serve bulk endpoints the same way).
"""

from __future__ import annotations

import errno
import itertools
import threading
from dataclasses import dataclass, field
from typing import Any, Iterable

import usb.backend
import usb.core

LIBUSB_ERROR_IO = -1
LIBUSB_ERROR_INVALID_PARAM = -2
LIBUSB_ERROR_NO_DEVICE = -4
LIBUSB_ERROR_BUSY = -6
LIBUSB_ERROR_TIMEOUT = -7
LIBUSB_ERROR_PIPE = -9

DT_DEVICE = 0x01
DT_CONFIG = 0x02
DT_STRING = 0x03
DT_INTERFACE = 0x04
DT_ENDPOINT = 0x05
GET_DESCRIPTOR = 0x06

_addresses = itertools.count(2)


def no_device() -> usb.core.USBError:
    return usb.core.USBError("No such device (it may have been disconnected)", LIBUSB_ERROR_NO_DEVICE, errno.ENODEV)


def timeout() -> usb.core.USBTimeoutError:
    return usb.core.USBTimeoutError("Operation timed out", LIBUSB_ERROR_TIMEOUT, errno.ETIMEDOUT)


def stall() -> usb.core.USBError:
    return usb.core.USBError("Pipe error", LIBUSB_ERROR_PIPE, errno.EPIPE)


def busy() -> usb.core.USBError:
    return usb.core.USBError("Resource busy", LIBUSB_ERROR_BUSY, errno.EBUSY)


@dataclass
class FakeEndpoint:
    bEndpointAddress: int
    bmAttributes: int = 0x03  # interrupt
    wMaxPacketSize: int = 64
    bInterval: int = 1
    bLength: int = 7
    bDescriptorType: int = DT_ENDPOINT
    bRefresh: int = 0
    bSynchAddress: int = 0
    extra_descriptors: list[int] = field(default_factory=list)


@dataclass
class FakeInterface:
    bInterfaceNumber: int
    bInterfaceClass: int
    endpoints: list[FakeEndpoint]
    bInterfaceSubClass: int = 0
    bInterfaceProtocol: int = 0
    #: class-specific descriptors after the interface descriptor (e.g. the HID descriptor)
    extra_descriptors: list[int] = field(default_factory=list)
    bAlternateSetting: int = 0
    iInterface: int = 0
    bLength: int = 9
    bDescriptorType: int = DT_INTERFACE

    @property
    def bNumEndpoints(self) -> int:
        return len(self.endpoints)


@dataclass
class _ConfigDescriptor:
    bNumInterfaces: int
    wTotalLength: int
    bConfigurationValue: int = 1
    iConfiguration: int = 0
    bmAttributes: int = 0x80
    bMaxPower: int = 50
    bLength: int = 9
    bDescriptorType: int = DT_CONFIG
    extra_descriptors: list[int] = field(default_factory=list)


@dataclass
class _DeviceDescriptor:
    idVendor: int
    idProduct: int
    bcdDevice: int
    address: int
    iManufacturer: int = 1
    iProduct: int = 2
    iSerialNumber: int = 3
    bcdUSB: int = 0x0200
    bDeviceClass: int = 0
    bDeviceSubClass: int = 0
    bDeviceProtocol: int = 0
    bMaxPacketSize0: int = 64
    bNumConfigurations: int = 1
    bLength: int = 18
    bDescriptorType: int = DT_DEVICE
    bus: int = 1
    port_number: int = 1
    port_numbers: tuple[int, ...] = (1,)
    speed: int = 2  # full speed


class FakeUsbDevice:
    """One fake device: its descriptors, strings and behaviour. Subclasses override the I/O."""

    def __init__(self, *, vendor_id: int, product_id: int, bcd_device: int = 0x0100, manufacturer: str = "",
                 product: str = "", serial: str = "", interfaces: Iterable[FakeInterface] = ()) -> None:
        self.vendor_id = vendor_id
        self.product_id = product_id
        self.bcd_device = bcd_device
        self.strings = {1: manufacturer, 2: product, 3: serial}
        self.interfaces = list(interfaces)
        self.present = True
        self.address = next(_addresses)
        self.kernel_driver: dict[int, bool] = {}
        #: claimed interface -> the handle holding it (one holder at a time, as with libusb)
        self.claimed: dict[int, int] = {}
        self.lock = threading.RLock()
        self._reset_binding()

    # -- plugging ------------------------------------------------------------------------------
    def _reset_binding(self) -> None:
        # a freshly enumerated HID device is bound to the OS's usbhid driver
        self.kernel_driver = {i.bInterfaceNumber: True for i in self.interfaces}
        self.claimed = {}

    def unplug(self) -> None:
        with self.lock:
            self.present = False

    def plug(self) -> None:
        """Back on the bus as a new device (new address): old handles stay dead."""
        with self.lock:
            self.present = True
            self.address = next(_addresses)
            self._reset_binding()
            self.on_plug()

    def on_plug(self) -> None:
        """Hook for subclasses: reset the device's own state after a replug."""

    # -- descriptors ---------------------------------------------------------------------------
    def device_descriptor(self) -> _DeviceDescriptor:
        return _DeviceDescriptor(self.vendor_id, self.product_id, self.bcd_device, self.address,
                                 iManufacturer=1 if self.strings[1] else 0, iProduct=2 if self.strings[2] else 0,
                                 iSerialNumber=3 if self.strings[3] else 0)

    def config_descriptor(self) -> _ConfigDescriptor:
        total = 9 + sum(9 + len(i.extra_descriptors) + 7 * len(i.endpoints) for i in self.interfaces)
        return _ConfigDescriptor(len(self.interfaces), total)

    def string(self, index: int) -> bytes:
        if index == 0:
            return bytes([4, DT_STRING, 0x09, 0x04])  # one language: en-US
        text = self.strings.get(index)
        if not text:
            raise stall()
        body = text.encode("utf-16-le")
        return bytes([2 + len(body), DT_STRING]) + body

    # -- I/O, called with the device present and the handle current ----------------------------
    def control_in(self, request_type: int, request: int, value: int, index: int, length: int) -> bytes:
        """Answer an IN control request; the default stalls (unsupported)."""
        raise stall()

    def control_out(self, request_type: int, request: int, value: int, index: int, data: bytes) -> int:
        raise stall()

    def read_endpoint(self, endpoint: int, size: int, timeout_ms: int) -> bytes:
        """Data from an IN endpoint; the default has none (times out)."""
        raise timeout()

    def write_endpoint(self, endpoint: int, data: bytes, timeout_ms: int) -> int:
        raise stall()


_handle_ids = itertools.count(1)


@dataclass
class _Handle:
    device: FakeUsbDevice
    address: int
    id: int = field(default_factory=lambda: next(_handle_ids))


class FakeUsbBackend(usb.backend.IBackend):  # type: ignore[misc]
    """The pyusb backend over a list of FakeUsbDevice objects."""

    def __init__(self, devices: Iterable[FakeUsbDevice] = ()) -> None:
        self.devices: list[FakeUsbDevice] = list(devices)

    def add(self, device: FakeUsbDevice) -> FakeUsbDevice:
        self.devices.append(device)
        return device

    # -- enumeration and descriptors (dev = the FakeUsbDevice itself) --------------------------
    def enumerate_devices(self) -> Iterable[FakeUsbDevice]:
        return [d for d in self.devices if d.present]

    def get_device_descriptor(self, dev: FakeUsbDevice) -> _DeviceDescriptor:
        return dev.device_descriptor()

    def get_configuration_descriptor(self, dev: FakeUsbDevice, config: int) -> _ConfigDescriptor:
        if config != 0:
            raise IndexError("invalid configuration index")
        return dev.config_descriptor()

    def get_interface_descriptor(self, dev: FakeUsbDevice, intf: int, alt: int, config: int) -> FakeInterface:
        if config != 0 or alt != 0 or not 0 <= intf < len(dev.interfaces):
            raise IndexError("invalid interface index")
        return dev.interfaces[intf]

    def get_endpoint_descriptor(self, dev: FakeUsbDevice, ep: int, intf: int, alt: int, config: int) -> FakeEndpoint:
        endpoints = self.get_interface_descriptor(dev, intf, alt, config).endpoints
        if not 0 <= ep < len(endpoints):
            raise IndexError("invalid endpoint index")
        return endpoints[ep]

    def get_parent(self, dev: FakeUsbDevice) -> None:
        return None

    # -- handles -------------------------------------------------------------------------------
    def open_device(self, dev: FakeUsbDevice) -> _Handle:
        with dev.lock:
            if not dev.present:
                raise no_device()
            return _Handle(dev, dev.address)

    def _live(self, handle: _Handle) -> FakeUsbDevice:
        dev = handle.device
        if not dev.present or dev.address != handle.address:
            raise no_device()
        return dev

    def close_device(self, dev_handle: _Handle) -> None:
        pass  # closing a dead handle is allowed, as with libusb

    def set_configuration(self, dev_handle: _Handle, config_value: int) -> None:
        self._live(dev_handle)

    def get_configuration(self, dev_handle: _Handle) -> int:
        self._live(dev_handle)
        return 1

    def set_interface_altsetting(self, dev_handle: _Handle, intf: int, altsetting: int) -> None:
        self._live(dev_handle)

    def claim_interface(self, dev_handle: _Handle, intf: int) -> None:
        dev = self._live(dev_handle)
        with dev.lock:
            holder = dev.claimed.get(intf)
            if dev.kernel_driver.get(intf, False) or holder not in (None, dev_handle.id):
                raise busy()
            dev.claimed[intf] = dev_handle.id

    def release_interface(self, dev_handle: _Handle, intf: int) -> None:
        dev = self._live(dev_handle)
        with dev.lock:
            if dev.claimed.get(intf) != dev_handle.id:
                raise usb.core.USBError("Entity not found", -5, errno.ENOENT)
            del dev.claimed[intf]

    def is_kernel_driver_active(self, dev_handle: _Handle, intf: int) -> bool:
        return self._live(dev_handle).kernel_driver.get(intf, False)

    def detach_kernel_driver(self, dev_handle: _Handle, intf: int) -> None:
        dev = self._live(dev_handle)
        with dev.lock:
            dev.kernel_driver[intf] = False

    def attach_kernel_driver(self, dev_handle: _Handle, intf: int) -> None:
        dev = self._live(dev_handle)
        with dev.lock:
            if intf in dev.claimed:
                raise busy()
            dev.kernel_driver[intf] = True

    def _require_claimed(self, dev: FakeUsbDevice, intf: int, handle: _Handle) -> None:
        if dev.claimed.get(intf) != handle.id:
            # libusb on Linux would auto-claim or refuse; pyusb always claims first
            raise usb.core.USBError("Interface not claimed", LIBUSB_ERROR_INVALID_PARAM, errno.EINVAL)

    # -- transfers -----------------------------------------------------------------------------
    def ctrl_transfer(self, dev_handle: _Handle, bmRequestType: int, bRequest: int, wValue: int, wIndex: int,
                      data: Any, timeout: int) -> int:
        dev = self._live(dev_handle)
        if bmRequestType & 0x80:  # IN: fill ``data`` (an array), return the count
            length = len(data)
            if bmRequestType == 0x80 and bRequest == GET_DESCRIPTOR and wValue >> 8 == DT_STRING:
                answer = dev.string(wValue & 0xFF)
            else:
                answer = dev.control_in(bmRequestType, bRequest, wValue, wIndex, length)
            answer = answer[:length]
            self._live(dev_handle)  # unplugged while answering
            for i, b in enumerate(answer):
                data[i] = b
            return len(answer)
        return dev.control_out(bmRequestType, bRequest, wValue, wIndex, bytes(data))

    def _read(self, dev_handle: _Handle, ep: int, intf: int, buff: Any, timeout_ms: int) -> int:
        dev = self._live(dev_handle)
        self._require_claimed(dev, intf, dev_handle)
        answer = dev.read_endpoint(ep, len(buff), timeout_ms)
        self._live(dev_handle)
        answer = answer[:len(buff)]
        for i, b in enumerate(answer):
            buff[i] = b
        return len(answer)

    def _write(self, dev_handle: _Handle, ep: int, intf: int, data: Any, timeout_ms: int) -> int:
        dev = self._live(dev_handle)
        self._require_claimed(dev, intf, dev_handle)
        return dev.write_endpoint(ep, bytes(data), timeout_ms)

    def intr_read(self, dev_handle: _Handle, ep: int, intf: int, buff: Any, timeout: int) -> int:
        return self._read(dev_handle, ep, intf, buff, timeout)

    def bulk_read(self, dev_handle: _Handle, ep: int, intf: int, buff: Any, timeout: int) -> int:
        return self._read(dev_handle, ep, intf, buff, timeout)

    def intr_write(self, dev_handle: _Handle, ep: int, intf: int, data: Any, timeout: int) -> int:
        return self._write(dev_handle, ep, intf, data, timeout)

    def bulk_write(self, dev_handle: _Handle, ep: int, intf: int, data: Any, timeout: int) -> int:
        return self._write(dev_handle, ep, intf, data, timeout)

    def clear_halt(self, dev_handle: _Handle, ep: int) -> None:
        self._live(dev_handle)

    def reset_device(self, dev_handle: _Handle) -> None:
        self._live(dev_handle)


class UsbMockHandle:
    """What ``start_for_station`` of a USB mock returns: the fake device on its own backend,
    registered with the driver side (:mod:`kiosk.devices.usb`) under a unique name.

    ``overrides`` = {"usb_backend": name}: the driver then finds the mock through pyusb.
    """

    _counter = itertools.count(1)

    def __init__(self, prefix: str, device: FakeUsbDevice) -> None:
        from kiosk.devices.usb import register_backend

        self.device = device
        self.backend = FakeUsbBackend([device])
        self.backend_name = f"mock:{prefix}:{next(self._counter)}"
        register_backend(self.backend_name, self.backend)
        self.overrides: dict[str, Any] = {"usb_backend": self.backend_name}

    def close(self) -> None:
        from kiosk.devices.usb import unregister_backend

        unregister_backend(self.backend_name)
        self.device.unplug()

    def __enter__(self) -> "UsbMockHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
