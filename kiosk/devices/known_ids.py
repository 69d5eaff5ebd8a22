"""USB vendor/product ids of the hardware the drivers support (udev rules, device discovery).

``(vendor, product)``; product ``None`` means every product of that vendor.

NOTE for the lead: the ZFM engineer creates this module too (merge conflict expected): keep
one table, the union of both; tests/ops/test_deploy.py checks deploy/udev/99-kiosk.rules
names every entry.
"""

from __future__ import annotations

KNOWN_USB_IDS: dict[tuple[int, int | None], str] = {
    # USB-serial adapters in front of UART devices (ZFM fingerprint modules, printers' serial ports)
    (0x10C4, 0xEA60): "Silicon Labs CP2102/CP2104 USB-UART bridge",
    (0x1A86, 0x7523): "WCH CH340 USB-serial adapter",
    (0x0403, 0x6001): "FTDI FT232R USB-UART",
    (0x067B, 0x2303): "Prolific PL2303 USB-serial adapter",
    # Wacom STU signature pads
    (0x056A, 0x00A5): "Wacom STU-430",
    (0x056A, 0x00A4): "Wacom STU-530",
    (0x056A, 0x00A8): "Wacom STU-540",
    # Evolis card printers (Primacy, Zenius, ...): every product
    (0x0F49, None): "Evolis card printer",
}


def describe(vendor: int, product: int) -> str | None:
    """The name of a known device, matching exact ids first, then vendor-wide entries."""
    return KNOWN_USB_IDS.get((vendor, product)) or KNOWN_USB_IDS.get((vendor, None))
