"""Reader of ISO/IEC 19794-6:2011 iris image records (the ``bioValue`` of an SBI iris device).

Layout (all integers big-endian), as MOSIP's reference device service writes it (the records
``Left_Iris.iso`` / ``Right_Iris.iso`` under mosip-mock-services ``MockMDS/Profile/Default/
Registration/``, read by the tests as they are) and MOSIP's biometrics-util decodes it:

General header, 16 bytes::

    "IIR\\0"  version "020\\0"  record length (4)  representations (2)
    certification flag (1)  eyes represented (1)

Each iris representation::

    representation length (4)  capture date-time (9)  device technology (1: 0 unknown,
    1 CMOS/CCD)  device vendor (2)  device type (2)
    quality block count (1) + 5 bytes each (score, algorithm vendor 2, algorithm 2)
    [certification block count (1) + 3 bytes each, only when the certification flag is set]
    representation number (2)  eye label (1: 0 undefined, 1 right, 2 left)
    image type (1: 1 uncropped, 2 VGA, 3 cropped, 7 cropped and masked)
    image format (1: 2 mono raw, 10 mono JPEG 2000, 14 mono PNG)  image properties (1)
    width (2)  height (2)  bit depth (1)  range (2)  roll angle (2)  roll uncertainty (2)
    iris centre smallest/largest x, smallest/largest y (2 each)
    iris diameter smallest/largest (2 each)  image data length (4)  image data

The 2005 edition numbered the formats differently (14 was JPEG 2000 there); only the 2011
version "020" is read. Every malformed input raises :class:`IrisRecordError`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import cv2
import numpy as np

MAGIC = b"IIR\x00"
VERSION_2011 = b"020\x00"
GENERAL_HEADER = struct.Struct(">4s4sIHBB")
#: image properties .. image data length, after the image format byte
IMAGE_FIELDS = struct.Struct(">BHHBHHH4H2HI")

EYE_UNDEFINED, EYE_RIGHT, EYE_LEFT = 0, 1, 2
EYE_NAMES = {EYE_UNDEFINED: "undefined", EYE_RIGHT: "right", EYE_LEFT: "left"}
FORMAT_MONO_RAW, FORMAT_MONO_JPEG2000, FORMAT_MONO_PNG = 2, 10, 14
FORMAT_NAMES = {FORMAT_MONO_RAW: "raw", FORMAT_MONO_JPEG2000: "jpeg2000", FORMAT_MONO_PNG: "png"}
IMAGE_TYPE_NAMES = {1: "uncropped", 2: "vga", 3: "cropped", 7: "cropped-masked"}


class IrisRecordError(ValueError):
    """The bytes are not a well-formed ISO/IEC 19794-6:2011 record."""


@dataclass(frozen=True)
class IrisRepresentation:
    eye: int  # EYE_RIGHT, EYE_LEFT or EYE_UNDEFINED
    quality: int | None  # first quality block's score (0..100); None when the device gave none
    image_type: int
    image_format: int
    width: int
    height: int
    bit_depth: int
    image_data: bytes
    certifications: tuple[tuple[int, int], ...] = ()

    @property
    def eye_name(self) -> str:
        return EYE_NAMES.get(self.eye, f"unknown-{self.eye}")

    @property
    def format_name(self) -> str:
        return FORMAT_NAMES.get(self.image_format, f"unknown-{self.image_format}")

    def decode(self) -> np.ndarray:
        """The grey-scale iris image as a uint8 H x W array."""
        if self.bit_depth != 8:
            raise IrisRecordError(f"bit depth {self.bit_depth} (only 8-bit grey images are read)")
        if self.image_format == FORMAT_MONO_RAW:
            if len(self.image_data) != self.width * self.height:
                raise IrisRecordError("raw image size does not match its header")
            pixels = np.frombuffer(self.image_data, dtype=np.uint8).reshape(self.height, self.width)
        elif self.image_format in (FORMAT_MONO_JPEG2000, FORMAT_MONO_PNG):
            buf = np.frombuffer(self.image_data, dtype=np.uint8)
            decoded = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE) if buf.size else None
            if decoded is None:
                raise IrisRecordError(f"{self.format_name} image data does not decode")
            pixels = decoded
        else:
            raise IrisRecordError(f"unsupported iris image format {self.image_format}")
        if pixels.shape != (self.height, self.width):
            raise IrisRecordError(f"image is {pixels.shape[1]}x{pixels.shape[0]} but header says "
                                  f"{self.width}x{self.height}")
        return np.ascontiguousarray(pixels, dtype=np.uint8)


@dataclass(frozen=True)
class IrisRecord:
    representations: tuple[IrisRepresentation, ...]


def parse_iris_record(data: bytes) -> IrisRecord:
    if len(data) < GENERAL_HEADER.size:
        raise IrisRecordError("record shorter than its general header")
    magic, version, length, count, cert_flag, _eyes = GENERAL_HEADER.unpack_from(data)
    if magic != MAGIC:
        raise IrisRecordError(f"not an iris image record (magic {magic!r})")
    if version != VERSION_2011:
        raise IrisRecordError(f"unsupported record version {version!r} (want 2011 '020')")
    if length != len(data):
        raise IrisRecordError(f"record length field {length} but {len(data)} bytes given")
    if count == 0:
        raise IrisRecordError("record holds no iris representation")
    pos = GENERAL_HEADER.size
    reps = []

    def take(n: int) -> bytes:
        nonlocal pos
        if pos + n > len(data):
            raise IrisRecordError(f"record truncated at byte {pos} (wanted {n} more)")
        out = data[pos:pos + n]
        pos += n
        return out

    for _ in range(count):
        start = pos
        rep_length = int.from_bytes(take(4), "big")
        take(9 + 5)  # capture date-time; device technology, vendor, type
        qualities = [take(5)[0] for _ in range(take(1)[0])]
        certifications: list[tuple[int, int]] = []
        if cert_flag:
            for _ in range(take(1)[0]):
                block = take(3)
                certifications.append((int.from_bytes(block[:2], "big"), block[2]))
        take(2)  # representation number
        eye, image_type, image_format = take(3)
        (_props, width, height, bit_depth, _range, _roll, _roll_unc, *_centre_and_diameter,
         image_length) = IMAGE_FIELDS.unpack(take(IMAGE_FIELDS.size))
        image = take(image_length)
        if pos - start != rep_length:
            raise IrisRecordError(f"representation length field {rep_length} but {pos - start} bytes used")
        if eye not in EYE_NAMES:
            raise IrisRecordError(f"unknown eye label {eye}")
        if width == 0 or height == 0:
            raise IrisRecordError("image has zero size")
        for q in qualities:
            if q > 100 and q != 255:  # 255: "quality computation failed"
                raise IrisRecordError(f"quality score {q} out of 0..100")
        quality = qualities[0] if qualities and qualities[0] != 255 else None
        reps.append(IrisRepresentation(eye=eye, quality=quality, image_type=image_type, image_format=image_format,
                                       width=width, height=height, bit_depth=bit_depth, image_data=image,
                                       certifications=tuple(certifications)))
    if pos != len(data):
        raise IrisRecordError(f"{len(data) - pos} bytes after the last representation")
    return IrisRecord(tuple(reps))
