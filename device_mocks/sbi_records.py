"""ISO/IEC 19794-4:2011 finger and 19794-6:2011 iris image records as the SBI mock writes them.

Written after MOSIP's reference device service (mosip-mock-services MockMDS): its records under
``Profile/Default/Registration/`` set the certification flag with two certification blocks
(authority 0x0040, scheme 2) and carry three extended data blocks after each finger image,
segmentation (0x0001), annotation (0x0002) and a comment (0x0003, "This is of Finger (N)"),
each block's 2-byte length counting its 4-byte header. Iris records use the 2011 image-format
numbers (10 JPEG 2000, 14 PNG) and eye labels (1 right, 2 left) of those samples.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
from functools import lru_cache

import cv2
import numpy as np

FINGER_COMPRESSION = {"raw": 0, "wsq": 2, "jp2": 4, "png": 6}
IRIS_FORMAT = {"raw": 2, "jp2": 10, "png": 14}
#: the certification blocks of MockMDS's sample records: (authority id, scheme id)
CERTIFICATIONS = ((0x0040, 2), (0x0040, 2))


def _encode(pixels: np.ndarray, compression: str) -> bytes:
    if compression == "raw":
        return pixels.tobytes()
    if compression == "wsq":
        import wsq  # noqa: F401  (registers the WSQ Pillow plugin)
        from PIL import Image

        out = io.BytesIO()
        Image.fromarray(pixels).save(out, "WSQ")
        return out.getvalue()
    ok, buf = cv2.imencode(".jp2" if compression == "jp2" else ".png", pixels)
    if not ok:
        raise RuntimeError(f"OpenCV cannot encode {compression}")
    return buf.tobytes()


@lru_cache(maxsize=256)
def encoded_image(kind: str, seed: int, compression: str) -> tuple[np.ndarray, bytes]:
    """A synthetic image (``kind`` "finger": generator finger ``seed``; "iris-1"/"iris-2": the
    eyes of person ``seed``) and its compressed bytes, made once per process."""
    if kind == "finger":
        from device_mocks.sbi import synthetic_finger

        pixels = synthetic_finger(seed)
    else:
        from device_mocks.irises import synthetic_iris

        pixels = np.ascontiguousarray(synthetic_iris(seed, int(kind[-1])))
    return pixels, _encode(pixels, compression)


def _now() -> bytes:
    now = dt.datetime.now(dt.UTC)
    return struct.pack(">HBBBBBH", now.year, now.month, now.day, now.hour, now.minute, now.second,
                       now.microsecond // 1000)


def extended_blocks(position: int, quality: int, width: int, height: int) -> bytes:
    """Segmentation, annotation and comment blocks shaped like MockMDS's samples."""
    segmentation = struct.pack(">HHBHHBBBBHHHH", 0x0040, 0x0001, quality, 0x0040, 0x000F, 1, position, quality, 2,
                               0, 0, width, height) + b"\x40"
    annotation = bytes([2, 1, 1, 10, 2])
    comment = f"This is of Finger ({position})".encode()
    return b"".join(struct.pack(">HH", kind, len(data) + 4) + data
                    for kind, data in ((1, segmentation), (2, annotation), (3, comment)))


def iso_finger_record(pixels: np.ndarray, position: int, quality: int, *, compression: str = "jp2",
                      ppi: int = 500, certified: bool = True, extended: bool = True,
                      encoded: bytes | None = None) -> bytes:
    """One-representation ISO/IEC 19794-4:2011 finger image record (``encoded``: the image
    already compressed, to spare the mock encoding the same synthetic finger again)."""
    if compression not in FINGER_COMPRESSION:
        raise ValueError(f"unknown compression {compression!r}")
    image = encoded if encoded is not None else _encode(pixels, compression)
    height, width = pixels.shape
    certs = (bytes([len(CERTIFICATIONS)]) + b"".join(struct.pack(">HB", a, s) for a, s in CERTIFICATIONS)
             if certified else b"")
    rep = b"".join([
        _now(),
        struct.pack(">BHH", 0, 0x0101, 0x0001),  # technology unknown, vendor, device type
        struct.pack(">BBHH", 1, quality, 0x0101, 0x0001),  # one quality block
        certs,
        struct.pack(">BBB", position, 0, 1),  # position, representation number, ppi
        struct.pack(">HHHH", ppi, ppi, ppi, ppi),
        struct.pack(">BBB", 8, FINGER_COMPRESSION[compression], 0),  # bit depth, compression, live-scan plain
        struct.pack(">HHI", width, height, len(image)),
        image,
        extended_blocks(position, quality, width, height) if extended else b"",
    ])
    rep = struct.pack(">I", len(rep) + 4) + rep
    header = struct.pack(">4s4sIHBB", b"FIR\x00", b"020\x00", 16 + len(rep), 1, int(certified), 1)
    return header + rep


def iso_iris_record(pixels: np.ndarray, eye: int, quality: int, *, compression: str = "png",
                    encoded: bytes | None = None) -> bytes:
    """One-representation ISO/IEC 19794-6:2011 iris image record (cropped image type 3)."""
    image = encoded if encoded is not None else _encode(pixels, compression)
    height, width = pixels.shape
    rep = b"".join([
        _now(),
        struct.pack(">BHH", 1, 0x735F, 0x3006),  # CMOS/CCD, vendor and type as in MockMDS's samples
        struct.pack(">BBHH", 1, quality, 0, 0),
        struct.pack(">HBBB", 1, eye, 3, IRIS_FORMAT[compression]),  # representation 1, eye, cropped, format
        struct.pack(">BHHBHHH", 0x40, width, height, 8, 0, 0xFFFF, 0xFFFF),
        struct.pack(">6H", 0, 0, 0, 0, 0, 0),  # iris centre and diameter: not computed
        struct.pack(">I", len(image)),
        image,
    ])
    rep = struct.pack(">I", len(rep) + 4) + rep
    return struct.pack(">4s4sIHBB", b"IIR\x00", b"020\x00", 16 + len(rep), 1, 0, 1) + rep
