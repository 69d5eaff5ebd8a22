"""ISO/IEC 19794-2:2005 finger minutiae records (one finger view): what the station stores as a
finger's template and what the central's ABIS reads. Field layout from the standard's clause 7
(record header 7.3, finger view header 7.4, minutia data 7.5); the same layout NIST's
``mindtct``/``bozorth3`` tools read and write as "ISO FMR 2005"."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from kiosk.capture.report import CaptureError

@dataclass(frozen=True)
class MinutiaPoint:
    x: int
    y: int
    #: degrees counter-clockwise from the x axis (ISO/IEC 19794-2 convention)
    angle: float
    #: "ending" or "bifurcation"
    kind: str
    #: 0..100
    quality: int


ISO_FMR_HEADER = struct.Struct(">4s4sIHHHHHBB")  # 24 bytes, ISO/IEC 19794-2:2005 7.3
ISO_VIEW_HEADER = struct.Struct(">BBBB")  # finger position, view/impression, quality, count
ISO_MINUTIA = struct.Struct(">HHBB")  # type+x, reserved+y, angle, quality
#: ISO/IEC 19794-4 impression type 0: live-scan plain
IMPRESSION_LIVE_PLAIN = 0


def encode_iso_19794_2(points: Sequence[MinutiaPoint], *, width: int, height: int, position: int,
                       quality: int, ppi: int = 500, view: int = 0,
                       impression: int = IMPRESSION_LIVE_PLAIN) -> bytes:
    """An ISO/IEC 19794-2:2005 finger minutiae record with one finger view.

    Record header (24 bytes): "FMR\\0", " 20\\0", record length (4), capture equipment (2:
    certification flag 4 bits + device type 12 bits, 0 = unreported), image width and height
    (2 + 2), x and y resolution in pixels per centimetre (2 + 2), number of views (1), reserved
    (1). View header (4): finger position, view number (high nibble) + impression type, finger
    quality 0..100, minutiae count. Each minutia (6): type (2 bits: 01 ending, 10
    bifurcation) + x (14 bits), 2 reserved bits + y (14 bits), angle in 360/256 degree units,
    quality 0..100. Then a 2-byte extended data block length (0).
    """
    pts = list(points)[:255]
    ppcm = int(round(ppi / 2.54))
    body = bytearray(ISO_VIEW_HEADER.pack(int(position), ((view & 0x0F) << 4) | (impression & 0x0F),
                                          max(0, min(100, int(quality))), len(pts)))
    for p in pts:
        kind = 0b10 if p.kind == "bifurcation" else 0b01
        angle = int(round((p.angle % 360.0) / (360.0 / 256.0))) % 256
        body += ISO_MINUTIA.pack((kind << 14) | (p.x & 0x3FFF), p.y & 0x3FFF, angle, max(0, min(100, p.quality)))
    body += struct.pack(">H", 0)
    length = ISO_FMR_HEADER.size + len(body)
    header = ISO_FMR_HEADER.pack(b"FMR\x00", b" 20\x00", length, 0, width, height, ppcm, ppcm, 1, 0)
    return header + bytes(body)


@dataclass(frozen=True)
class MinutiaeRecord:
    width: int
    height: int
    ppi: int
    position: int
    quality: int
    points: tuple[MinutiaPoint, ...]


def decode_iso_19794_2(data: bytes) -> MinutiaeRecord:
    """Read back a one-view record written by :func:`encode_iso_19794_2` (strict checks)."""
    if len(data) < ISO_FMR_HEADER.size + ISO_VIEW_HEADER.size + 2:
        raise CaptureError("finger.template_invalid", reason="short")
    magic, version, length, _equip, w, h, xres, _yres, views, _ = ISO_FMR_HEADER.unpack_from(data)
    if magic != b"FMR\x00" or version != b" 20\x00" or length != len(data) or views < 1:
        raise CaptureError("finger.template_invalid", reason="header")
    pos, _vi, quality, count = ISO_VIEW_HEADER.unpack_from(data, ISO_FMR_HEADER.size)
    off = ISO_FMR_HEADER.size + ISO_VIEW_HEADER.size
    if off + count * ISO_MINUTIA.size + 2 > len(data):
        raise CaptureError("finger.template_invalid", reason="count")
    pts = []
    for i in range(count):
        tx, ry, angle, q = ISO_MINUTIA.unpack_from(data, off + i * ISO_MINUTIA.size)
        kind = {0b01: "ending", 0b10: "bifurcation"}.get(tx >> 14, "other")
        pts.append(MinutiaPoint(tx & 0x3FFF, ry & 0x3FFF, angle * 360.0 / 256.0, kind, q))
    return MinutiaeRecord(w, h, int(round(xres * 2.54)), pos, quality, tuple(pts))
