"""Minutiae records as the ABIS reads them: ISO/IEC 19794-2:2005 bytes to points, and points to
the nbis (NIST NBIS bozorth3) minutiae objects the verifier compares."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from kiosk.errors import KioskError


class AbisError(KioskError):
    code = "abis.error"


def _extractor() -> Any:
    from kiosk.capture.finger import _extractor as nbis_extractor

    return nbis_extractor(False, 500)


def load_template(iso: bytes) -> Any:
    """A minutiae record as nbis minutiae (what bozorth3 compares)."""
    return nbis_minutiae(template_points(iso))


def template_points(iso: bytes) -> np.ndarray:
    """(n, 3) x, y, direction (degrees) of a minutiae record: ISO/IEC 19794-2:2005 as the
    station writes it (kiosk.capture.iso19794_2), or the shorter layout nbis-py's own
    ``to_iso_19794_2_2005`` writes (no finger-view header; mindtct at the central)."""
    from kiosk.capture.finger import minutia_points
    from kiosk.capture.iso19794_2 import decode_iso_19794_2
    from kiosk.capture.report import CaptureError

    try:
        pts = [(p.x, p.y, p.angle) for p in decode_iso_19794_2(iso).points]
    except CaptureError:
        try:
            pts = [(p.x, p.y, p.angle) for p in minutia_points(_extractor().load_iso_19794_2_2005(iso))]
        except Exception:  # noqa: BLE001 - nbis raises its own error types for bad bytes
            pts = []
        if not pts:
            raise AbisError("abis.bad_template") from None
    return np.array(pts, dtype=np.float32).reshape(-1, 3)


_NBIS_HEADER = struct.Struct(">4s4sIHHHHHBB")


def nbis_minutiae(points: np.ndarray) -> Any:
    """nbis minutiae from points, through the record layout nbis-py reads back (its
    ``load_iso_19794_2_2005`` expects what its writer produces: the 24-byte record header,
    then one reserved byte and the minutiae count, then 6 bytes per minutia as in ISO)."""
    pts = np.asarray(points, dtype=np.float32).reshape(-1, 3)[:255]
    body = bytearray((0, len(pts)))
    for x, y, a in pts:
        angle = int(round((float(a) % 360.0) / (360.0 / 256.0))) % 256
        body += struct.pack(">HHBB", (0b01 << 14) | (int(x) & 0x3FFF), int(y) & 0x3FFF, angle, 60)
    header = _NBIS_HEADER.pack(b"FMR\x00", b" 20\x00", _NBIS_HEADER.size + len(body), 0,
                               int(pts[:, 0].max(initial=0)) + 1, int(pts[:, 1].max(initial=0)) + 1, 0, 0, 0, 0)
    return _extractor().load_iso_19794_2_2005(bytes(header + body))
