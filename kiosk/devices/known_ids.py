"""USB vendor/product ids a technician meets at an enrollment station, named.

``None`` as product id names the whole vendor (every Wacom pad, every Evolis printer).
The serial adapters are the USB-UART bridges ZFM/R30x fingerprint modules ship on.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KnownUsb:
    name: str
    #: the device kind it usually is at a station ("fingerprint", "signature", "printer",
    #: "camera", or "serial" for a USB-serial bridge that may carry a fingerprint module)
    kind: str


KNOWN_USB: dict[tuple[int, int | None], KnownUsb] = {
    # USB-serial bridges (ZFM / R30x / AS60x modules sit behind one of these)
    (0x10C4, 0xEA60): KnownUsb("Silicon Labs CP210x USB-UART (ZFM/R30x adapter)", "serial"),
    (0x1A86, 0x7523): KnownUsb("QinHeng CH340 USB-serial (ZFM/R30x adapter)", "serial"),
    (0x1A86, 0x55D4): KnownUsb("QinHeng CH9102 USB-serial (ZFM/R30x adapter)", "serial"),
    (0x0403, 0x6001): KnownUsb("FTDI FT232R USB-UART (ZFM/R30x adapter)", "serial"),
    (0x0403, 0x6015): KnownUsb("FTDI FT231X USB-UART (ZFM/R30x adapter)", "serial"),
    (0x067B, 0x2303): KnownUsb("Prolific PL2303 USB-serial (ZFM/R30x adapter)", "serial"),
    # signature pads (product ids as in the public STU SDK; see kiosk/devices/wacom_stu.py)
    (0x056A, 0x00A4): KnownUsb("Wacom STU-430 signature pad", "signature"),
    (0x056A, 0x00A5): KnownUsb("Wacom STU-530 signature pad", "signature"),
    (0x056A, 0x00A6): KnownUsb("Wacom STU-430V signature pad", "signature"),
    (0x056A, 0x00A8): KnownUsb("Wacom STU-540 signature pad", "signature"),
    (0x056A, 0x00A9): KnownUsb("Wacom STU-541 signature pad", "signature"),
    (0x056A, None): KnownUsb("Wacom (signature pad / tablet)", "signature"),
    # card printers
    (0x0F49, None): KnownUsb("Evolis card printer", "printer"),
    # fingerprint scanners (USB, usually driven through their MOSIP SBI service)
    (0x1162, None): KnownUsb("SecuGen fingerprint scanner", "fingerprint"),
    (0x05BA, None): KnownUsb("DigitalPersona / HID fingerprint reader", "fingerprint"),
    (0x1491, None): KnownUsb("Futronic fingerprint scanner", "fingerprint"),
    (0x16D1, None): KnownUsb("Suprema fingerprint scanner", "fingerprint"),
}
# Cameras are not listed: they are found as /dev/video* (V4L2), and naming a whole webcam
# vendor here would hand the kiosk group that vendor's keyboards and mice through udev too.

#: the same table as plain names (udev rules are checked against it)
KNOWN_USB_IDS: dict[tuple[int, int | None], str] = {ids: known.name for ids, known in KNOWN_USB.items()}


def lookup(vendor_id: int | None, product_id: int | None) -> KnownUsb | None:
    """The known device for a vendor/product id pair: exact match first, then the vendor."""
    if vendor_id is None:
        return None
    return KNOWN_USB.get((vendor_id, product_id)) or KNOWN_USB.get((vendor_id, None))


def describe(vendor_id: int, product_id: int | None) -> str | None:
    known = lookup(vendor_id, product_id)
    return known.name if known else None
