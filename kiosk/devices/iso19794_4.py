"""Reader of ISO/IEC 19794-4:2011 finger image records (the ``bioValue`` an SBI device returns).

Layout (all integers big-endian):

General header, 16 bytes::

    "FIR\\0"  version "020\\0"  record length (4)  representations (2)
    certification flag (1)  distinct finger positions (1)

Each finger representation::

    representation length (4)  capture date-time (9: year 2, month, day, hour, minute, second,
    millisecond 2)  device technology (1)  device vendor (2)  device type (2)
    quality block count (1) + 5 bytes each (score, algorithm vendor 2, algorithm 2)
    [certification block count (1) + 3 bytes each, only when the certification flag is set]
    finger position (1)  representation number (1)  scale units (1: 1 ppi, 2 ppcm)
    scan sampling rate h, v (2, 2)  image sampling rate h, v (2, 2)  bit depth (1)
    compression (1)  impression type (1)  line length h, v (2, 2)  image data length (4)
    image data
    [extended data blocks, up to the representation length: block type (2)  block length (2,
    counting these four bytes)  block data; 0x0001 segmentation, 0x0002 annotation, 0x0003
    comment, 0x0004-0x00FF reserved, 0x0100-0xFFFF vendor-defined]

MOSIP's reference device service (mosip-mock-services MockMDS, the records under
``Profile/Default/Registration/``) sets the certification flag with two certification blocks and
writes a segmentation, an annotation and a comment block after every image; the tests read those
records as they are. Segmentation and annotation blocks are kept as bytes (the kiosk does not
use them); a comment is decoded as text.

Compression codes: 0 raw, 1 raw bit-packed, 2 WSQ, 3 JPEG, 4 JPEG 2000 lossy,
5 JPEG 2000 lossless, 6 PNG. Every malformed input raises :class:`IsoRecordError`.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import cv2
import numpy as np

MAGIC = b"FIR\x00"
VERSION_2011 = b"020\x00"
GENERAL_HEADER = struct.Struct(">4s4sIHBB")

COMPRESSION_NAMES = {0: "raw", 1: "raw-packed", 2: "wsq", 3: "jpeg", 4: "jpeg2000", 5: "jpeg2000-lossless",
                     6: "png"}


class IsoRecordError(ValueError):
    """The bytes are not a well-formed ISO/IEC 19794-4:2011 record."""


#: extended data block types of ISO/IEC 19794-4:2011 (0x0100 and above are vendor-defined)
EXTENDED_SEGMENTATION = 0x0001
EXTENDED_ANNOTATION = 0x0002
EXTENDED_COMMENT = 0x0003
EXTENDED_NAMES = {EXTENDED_SEGMENTATION: "segmentation", EXTENDED_ANNOTATION: "annotation",
                  EXTENDED_COMMENT: "comment"}


@dataclass(frozen=True)
class ExtendedDataBlock:
    """One extended data block after a representation's image."""

    type: int
    data: bytes

    @property
    def name(self) -> str:
        if self.type in EXTENDED_NAMES:
            return EXTENDED_NAMES[self.type]
        return "vendor" if self.type >= 0x0100 else "reserved"

    @property
    def text(self) -> str:
        """A comment block's text (ISO/IEC 19794-4 comments are character data; undecodable
        bytes are replaced, not raised: a comment never decides anything)."""
        return self.data.decode("utf-8", errors="replace").rstrip("\x00")


@dataclass(frozen=True)
class FingerRepresentation:
    position: int
    quality: int | None  # first quality block's score (0..100), None when the device gave none
    ppi: int
    bit_depth: int
    compression: int
    width: int
    height: int
    image_data: bytes
    #: (certification authority id, certification scheme id) pairs; empty when the flag is 0
    certifications: tuple[tuple[int, int], ...] = ()
    extended_data: tuple[ExtendedDataBlock, ...] = ()

    @property
    def comment(self) -> str:
        return "\n".join(b.text for b in self.extended_data if b.type == EXTENDED_COMMENT)

    @property
    def compression_name(self) -> str:
        return COMPRESSION_NAMES.get(self.compression, f"unknown-{self.compression}")

    def decode(self) -> np.ndarray:
        """The grey-scale image as a uint8 H x W array."""
        return decode_image(self)


@dataclass(frozen=True)
class FingerRecord:
    representations: tuple[FingerRepresentation, ...]


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise IsoRecordError(f"record truncated at byte {self.pos} (wanted {n} more)")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "big")


def parse_record(data: bytes) -> FingerRecord:
    if len(data) < GENERAL_HEADER.size:
        raise IsoRecordError("record shorter than its general header")
    magic, version, length, count, cert_flag, _positions = GENERAL_HEADER.unpack_from(data)
    if magic != MAGIC:
        raise IsoRecordError(f"not a finger image record (magic {magic!r})")
    if version != VERSION_2011:
        raise IsoRecordError(f"unsupported record version {version!r} (want 2011 '020')")
    if length != len(data):
        raise IsoRecordError(f"record length field {length} but {len(data)} bytes given")
    if count == 0:
        raise IsoRecordError("record holds no finger representation")
    reader = _Reader(data)
    reader.pos = GENERAL_HEADER.size
    reps = []
    for _ in range(count):
        start = reader.pos
        rep_length = reader.u32()
        reader.take(9)  # capture date and time
        reader.take(5)  # device technology, vendor, type
        qualities = [reader.take(5)[0] for _ in range(reader.u8())]
        certifications: list[tuple[int, int]] = []
        if cert_flag:
            for _ in range(reader.u8()):
                certifications.append((reader.u16(), reader.u8()))
        position = reader.u8()
        reader.u8()  # representation number
        scale = reader.u8()
        reader.take(4)  # scan sampling rates
        h_rate, _v_rate = reader.u16(), reader.u16()
        bit_depth = reader.u8()
        compression = reader.u8()
        reader.u8()  # impression type
        width, height = reader.u16(), reader.u16()
        image = reader.take(reader.u32())
        if rep_length < reader.pos - start:
            raise IsoRecordError(f"representation length field {rep_length} but {reader.pos - start} bytes used")
        extended = _extended_blocks(reader.take(rep_length - (reader.pos - start)))
        if scale not in (1, 2):
            raise IsoRecordError(f"unknown scale units {scale}")
        if width == 0 or height == 0:
            raise IsoRecordError("image has zero size")
        ppi = h_rate if scale == 1 else round(h_rate * 2.54)
        reps.append(FingerRepresentation(position=position, quality=qualities[0] if qualities else None, ppi=ppi,
                                         bit_depth=bit_depth, compression=compression, width=width, height=height,
                                         image_data=image, certifications=tuple(certifications),
                                         extended_data=extended))
    if reader.pos != len(data):
        raise IsoRecordError(f"{len(data) - reader.pos} bytes after the last representation")
    return FingerRecord(tuple(reps))


def _extended_blocks(data: bytes) -> tuple[ExtendedDataBlock, ...]:
    """The extended data blocks filling the rest of a representation, exactly."""
    blocks = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < 4:
            raise IsoRecordError(f"{len(data) - pos} stray bytes after the image (an extended data block needs 4)")
        block_type, length = struct.unpack_from(">HH", data, pos)
        if block_type == 0:
            raise IsoRecordError("extended data block of type 0")
        if length < 4 or pos + length > len(data):
            raise IsoRecordError(f"extended data block 0x{block_type:04x} has length {length} "
                                 f"with {len(data) - pos} bytes left")
        blocks.append(ExtendedDataBlock(block_type, data[pos + 4:pos + length]))
        pos += length
    return tuple(blocks)


def decode_image(rep: FingerRepresentation) -> np.ndarray:
    """Decode one representation's image data, checking it has the size the header declares."""
    if rep.compression == 0:
        if rep.bit_depth != 8 or len(rep.image_data) != rep.width * rep.height:
            raise IsoRecordError("raw image size does not match its header")
        pixels = np.frombuffer(rep.image_data, dtype=np.uint8).reshape(rep.height, rep.width)
    elif rep.compression == 2:
        pixels = _decode_wsq(rep.image_data)
    elif rep.compression in (3, 4, 5, 6):
        buf = np.frombuffer(rep.image_data, dtype=np.uint8)
        decoded = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE) if buf.size else None
        if decoded is None:
            raise IsoRecordError(f"{rep.compression_name} image data does not decode")
        pixels = decoded
    else:
        raise IsoRecordError(f"unsupported image compression {rep.compression}")
    if pixels.shape != (rep.height, rep.width):
        raise IsoRecordError(f"image is {pixels.shape[1]}x{pixels.shape[0]} but header says {rep.width}x{rep.height}")
    return np.ascontiguousarray(pixels, dtype=np.uint8)


def _decode_wsq(data: bytes) -> np.ndarray:
    # The ``wsq`` package registers a Pillow plugin for the FBI's WSQ codec.
    try:
        import wsq  # noqa: F401  (import registers the plugin)
        from PIL import Image
    except ImportError:
        raise IsoRecordError("WSQ image but no WSQ decoder installed (pip package 'wsq')") from None

    try:
        with Image.open(io.BytesIO(data)) as img:
            return np.asarray(img.convert("L"))
    except Exception as exc:  # Pillow raises many kinds for corrupt input
        raise IsoRecordError(f"WSQ image data does not decode: {exc}") from None
