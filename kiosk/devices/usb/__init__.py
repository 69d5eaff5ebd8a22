"""The one USB transport of the station's pyusb drivers (signature pads, the Evolis printer).

- :mod:`.backends`: the one meaning of ``usb_backend`` ("" = libusb, else a registered name);
- :mod:`.errors`: libusb errors to typed device errors, from one table;
- :mod:`.link`: find, claim, bulk/interrupt I/O on one interface.
"""

from kiosk.devices.usb.backends import register_backend, resolve_backend, unregister_backend
from kiosk.devices.usb.errors import is_access_denied, is_gone, is_timeout, usb_error
from kiosk.devices.usb.link import UsbLink, find_endpoint

__all__ = ["UsbLink", "find_endpoint", "is_access_denied", "is_gone", "is_timeout", "register_backend",
           "resolve_backend", "unregister_backend", "usb_error"]
