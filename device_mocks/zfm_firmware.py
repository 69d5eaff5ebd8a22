"""The firmware of a ZFM / R30x / AS60x or R503 fingerprint module: packets in, packets out, no I/O.

Served on a pty by :mod:`device_mocks.zfm`. Follows the public references, not our driver:

- the ZFM user manual (ZhianTec, in brianrho/FPM ``extras/documentation``) and the R30x/AS608
  manuals for the classic module: 256x288 images at 4 bits per pixel, 512-byte character files,
  confirmation codes 0x00-0x21, ReadSysPara's 16 bytes;
- the R503 user manual (Hangzhou Grow, v1.2) for ``model="r503"``: 192x192 images, 1536-byte
  templates, a 200-template library, ReadProdInfo (0x3C) answering the 46-byte block laid out as
  brianrho/FPM ``src/fpm.h`` ``FPMProductInfo`` reads it, 0xFC for an instruction it does not know;
- pyfingerprint 1.5 and adafruit-circuitpython-fingerprint 2.2 talk to this emulator in the tests
  as independent clients.

A classic module answers an instruction it does not know (ReadProdInfo included) with 0x19; the
manuals do not say what it answers, so this is a choice, and the driver treats 0x01, 0x19 and 0xFC
alike as "not supported".

Two faults model a hostile or broken peer on the wire (issue: a driver kept busy by it):
``empty_packets`` answers an upload with a flood of empty data packets, ``tiny_packets`` sends the
upload one byte per packet.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from device_mocks.fingerprints import FingerprintGenerator

# Wire constants are spelled out here rather than imported from the driver: the emulator stands
# for the module's firmware, and must not silently follow a bug in the driver.
START = b"\xef\x01"
PID_COMMAND, PID_DATA, PID_ACK, PID_END = 0x01, 0x02, 0x07, 0x08
SIZE_CODES = {32: 0, 64: 1, 128: 2, 256: 3}
FAULTS = ("no_finger", "image_messy", "wrong_password", "bad_checksum", "garbage", "silence",
          "empty_packets", "tiny_packets")
#: how many empty data packets the ``empty_packets`` fault sends (the issue's attack ran for 32 s)
FLOOD_PACKETS = 40_000
#: master prints the sensor keeps (1.2 MB each): one finger is on the glass at a time, and a
#: day of "a new finger each image" kept 32 masters (38 MB) that were never touched again
MASTER_CACHE = 4


@dataclass(frozen=True)
class ModuleModel:
    """What differs between the modules the emulator can be."""

    width: int
    height: int
    char_bytes: int
    library_size: int
    system_id: int
    #: answer to an instruction the module does not know
    unknown_instruction: int
    #: ReadProdInfo fields (None: the module has no such instruction)
    product: tuple[str, str, str, tuple[int, int], str] | None = None


MODELS: dict[str, ModuleModel] = {
    "classic": ModuleModel(256, 288, 512, 1000, 0x0009, 0x19),
    "r503": ModuleModel(192, 192, 1536, 200, 0x0000, 0xFC,
                        product=("R503", "2301", "00001234", (1, 2), "FPC1021")),
}
WIDTH, HEIGHT = MODELS["classic"].width, MODELS["classic"].height
CHAR_BYTES = MODELS["classic"].char_bytes


def pack_4bpp(pixels: np.ndarray) -> bytes:
    """Two pixels per byte, first in the high nibble (the UpImage format)."""
    nib = (pixels.astype(np.uint8) >> 4).reshape(-1)
    return ((nib[0::2] << 4) | nib[1::2]).astype(np.uint8).tobytes()


def _sum16(pid: int, length: int, payload: bytes) -> int:
    total = pid + (length >> 8) + (length & 0xFF)
    for b in payload:
        total += b
    return total & 0xFFFF


@dataclass
class ZfmEmulator:
    """The module's firmware: packets in, packets out. No I/O; thread-safe via ``lock``."""

    address: int = 0xFFFFFFFF
    password: int = 0
    packet_size: int = 128
    baudrate: int = 57600
    #: "classic" (ZFM-20 / R30x / AS60x) or "r503"
    model: str = "classic"
    #: None: the model's own library size
    library_size: int | None = None
    security_level: int = 3
    seed: int = 1
    #: which finger is on the glass (drives the image and the features)
    finger: int = 1
    #: a resident going through their fingers: every image is of a new finger (a simulated
    #: station's enrollment needs ten different fingers; the wrong-finger check would flag repeats)
    new_finger_each_image: bool = False
    #: images taken before this emulator started (a simulated station keeps the count in its mocks
    #: folder, so a restarted station goes on with new residents' fingers instead of replaying the
    #: first ones, which the central would hold as duplicates of the residents already enrolled)
    first_capture: int = 0
    #: called with the new count after each image (outside the firmware: where the count is kept)
    on_capture: Callable[[int], None] | None = None
    faults: dict[str, int | None] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; known: {', '.join(MODELS)}")
        self.spec = MODELS[self.model]
        if self.library_size is None:
            self.library_size = self.spec.library_size
        self._inbox = bytearray()
        self._verified = self.password == 0
        self._image: bytes | None = None
        self._image_finger = 0
        self._captures = self.first_capture
        self.chars: dict[int, bytes] = {}
        self.library: dict[int, bytes] = {}
        self.led_on = False
        self._download: tuple[str, int] | None = None
        self._download_data = bytearray()
        self._rng = random.Random(self.seed)
        self._generator = FingerprintGenerator(self.seed, cache_size=MASTER_CACHE)
        self.commands_seen: list[int] = []

    @property
    def captures(self) -> int:
        """Images taken, counting those before this emulator started (``first_capture``)."""
        return self._captures

    # -- faults -----------------------------------------------------------------------------
    def inject(self, name: str, count: int | None = None) -> None:
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
        with self.lock:
            self.faults[name] = count

    def clear(self) -> None:
        with self.lock:
            self.faults.clear()

    def _fault(self, name: str) -> bool:
        """Whether fault ``name`` fires now (and use up one of its count)."""
        if name not in self.faults:
            return False
        left = self.faults[name]
        if left is not None:
            if left <= 1:
                del self.faults[name]
            else:
                self.faults[name] = left - 1
        return True

    # -- framing ------------------------------------------------------------------------------
    def packet(self, pid: int, payload: bytes) -> bytes:
        length = len(payload) + 2
        return (START + self.address.to_bytes(4, "big") + bytes([pid]) + length.to_bytes(2, "big") + payload
                + _sum16(pid, length, payload).to_bytes(2, "big"))

    def _ack(self, code: int, data: bytes = b"") -> bytes:
        return self.packet(PID_ACK, bytes([code]) + data)

    def _data_packets(self, data: bytes) -> list[bytes]:
        if self._fault("empty_packets"):
            return [self.packet(PID_DATA, b"")] * FLOOD_PACKETS
        n = 1 if self._fault("tiny_packets") else self.packet_size
        chunks = [data[i:i + n] for i in range(0, len(data), n)]
        return [self.packet(PID_END if i == len(chunks) - 1 else PID_DATA, c) for i, c in enumerate(chunks)]

    def feed(self, data: bytes) -> list[bytes]:
        """Bytes from the host in; the reply packets (possibly none) out, in order."""
        with self.lock:
            self._inbox += data
            out: list[bytes] = []
            while True:
                start = self._inbox.find(START)
                if start < 0:
                    # keep a trailing 0xEF: it may be the first half of the next start code
                    del self._inbox[: max(0, len(self._inbox) - 1)]
                    break
                del self._inbox[:start]
                if len(self._inbox) < 9:
                    break
                length = int.from_bytes(self._inbox[7:9], "big")
                if length < 2 or length > 258:
                    del self._inbox[:2]  # not a real packet start: resynchronise
                    continue
                if len(self._inbox) < 9 + length:
                    break
                raw = bytes(self._inbox[: 9 + length])
                del self._inbox[: 9 + length]
                out.extend(self._packet_in(raw))
            return self._apply_reply_faults(out)

    def _apply_reply_faults(self, out: list[bytes]) -> list[bytes]:
        if not out:
            return out
        if self._fault("silence"):
            return []
        if self._fault("garbage"):
            return [bytes(self._rng.randrange(256) for _ in range(12))]
        if self._fault("bad_checksum"):
            first = bytearray(out[0])
            first[-1] ^= 0x5A
            out[0] = bytes(first)
        return out

    def _packet_in(self, raw: bytes) -> list[bytes]:
        address = int.from_bytes(raw[2:6], "big")
        pid, length = raw[6], int.from_bytes(raw[7:9], "big")
        payload, cks = raw[9:-2], int.from_bytes(raw[-2:], "big")
        if address != self.address:
            return []  # a packet for another module on the bus: not ours to answer
        if _sum16(pid, length, payload) != cks:
            self._download = None
            return [self._ack(0x01)]
        if pid in (PID_DATA, PID_END):
            return self._data_in(pid, payload)
        if pid != PID_COMMAND or not payload:
            return [self._ack(0x01)]
        self._download = None
        self.commands_seen.append(payload[0])
        return self._command(payload[0], payload[1:])

    def _data_in(self, pid: int, payload: bytes) -> list[bytes]:
        if self._download is None:
            return []  # stray data: the module ignores it
        self._download_data += payload
        if pid == PID_END:
            kind, target = self._download
            data = bytes(self._download_data)
            self._download = None
            if kind == "char":
                self.chars[target] = data[:self.spec.char_bytes].ljust(self.spec.char_bytes, b"\0")
            else:
                self._image = data
        return []  # downloads are not acknowledged packet by packet

    # -- the instruction set ---------------------------------------------------------------------
    def _features(self, finger: int) -> bytes:
        """A char file that depends only on the finger (two placements give the same one)."""
        out = bytearray()
        block = 0
        while len(out) < self.spec.char_bytes:
            out += hashlib.sha256(f"zfm-{self.seed}-{finger}-{block}".encode()).digest()
            block += 1
        return bytes(out[:self.spec.char_bytes])

    def sys_params(self) -> bytes:
        status = (0b0100 if self._verified else 0) | (0b1000 if self._image else 0)
        assert self.library_size is not None
        return (status.to_bytes(2, "big") + self.spec.system_id.to_bytes(2, "big") + self.library_size.to_bytes(2, "big")
                + self.security_level.to_bytes(2, "big") + self.address.to_bytes(4, "big")
                + SIZE_CODES[self.packet_size].to_bytes(2, "big") + (self.baudrate // 9600).to_bytes(2, "big"))

    def _command(self, code: int, args: bytes) -> list[bytes]:
        if code == 0x13:  # VfyPwd
            if len(args) != 4:
                return [self._ack(0x01)]
            if self._fault("wrong_password") or int.from_bytes(args, "big") != self.password:
                self._verified = False
                return [self._ack(0x13)]
            self._verified = True
            return [self._ack(0x00)]
        if not self._verified and self.password != 0:
            # a module with the factory password 0 needs no handshake; any other one does
            return [self._ack(0x21)]
        if code == 0x0F:  # ReadSysPara
            return [self._ack(0x00, self.sys_params())]
        if code == 0x3C and self.spec.product is not None:  # ReadProdInfo (R503)
            return [self._ack(0x00, self.product_info())]
        if code == 0x01:  # GenImg
            if self._fault("no_finger"):
                return [self._ack(0x02)]
            self._captures += 1
            if self.on_capture is not None:
                self.on_capture(self._captures)
            if self.new_finger_each_image:
                self.finger = self._captures
            grey = self._generator.impression(self.finger, self._captures, size=(self.spec.height, self.spec.width))
            self._image = pack_4bpp(grey)
            self._image_finger = self.finger
            return [self._ack(0x00)]
        if code == 0x0A:  # UpImage
            if self._image is None:
                return [self._ack(0x0F)]
            return [self._ack(0x00), *self._data_packets(self._image)]
        if code == 0x0B:  # DownImage
            self._download, self._download_data = ("image", 0), bytearray()
            return [self._ack(0x00)]
        if code == 0x02:  # Img2Tz
            if len(args) != 1:
                return [self._ack(0x01)]
            if self._image is None:
                return [self._ack(0x15)]
            if self._fault("image_messy"):
                return [self._ack(0x06)]
            self.chars[args[0]] = self._features(self._image_finger)
            return [self._ack(0x00)]
        if code == 0x05:  # RegModel
            a, b = self.chars.get(1), self.chars.get(2)
            if a is None or b is None or a != b:
                return [self._ack(0x0A)]
            return [self._ack(0x00)]
        if code == 0x03:  # Match
            a, b = self.chars.get(1), self.chars.get(2)
            if a is None or b is None or a != b:
                return [self._ack(0x08, b"\0\0")]
            return [self._ack(0x00, (200).to_bytes(2, "big"))]
        if code == 0x04:  # Search: buffer, start page, count
            if len(args) != 5:
                return [self._ack(0x01)]
            want = self.chars.get(args[0])
            start, count = int.from_bytes(args[1:3], "big"), int.from_bytes(args[3:5], "big")
            for page in range(start, start + count):
                if want is not None and self.library.get(page) == want:
                    return [self._ack(0x00, page.to_bytes(2, "big") + (200).to_bytes(2, "big"))]
            return [self._ack(0x09, b"\0\0\0\0")]
        if code == 0x06:  # Store
            if len(args) != 3:
                return [self._ack(0x01)]
            page = int.from_bytes(args[1:3], "big")
            if page >= self.library_size:
                return [self._ack(0x0B)]
            if args[0] not in self.chars:
                return [self._ack(0x0C)]
            self.library[page] = self.chars[args[0]]
            return [self._ack(0x00)]
        if code == 0x07:  # LoadChar
            if len(args) != 3:
                return [self._ack(0x01)]
            page = int.from_bytes(args[1:3], "big")
            if page >= self.library_size:
                return [self._ack(0x0B)]
            if page not in self.library:
                return [self._ack(0x0C)]
            self.chars[args[0]] = self.library[page]
            return [self._ack(0x00)]
        if code == 0x08:  # UpChar
            if len(args) != 1:
                return [self._ack(0x01)]
            if args[0] not in self.chars:
                return [self._ack(0x0D)]
            return [self._ack(0x00), *self._data_packets(self.chars[args[0]])]
        if code == 0x09:  # DownChar
            if len(args) != 1:
                return [self._ack(0x01)]
            self._download, self._download_data = ("char", args[0]), bytearray()
            return [self._ack(0x00)]
        if code == 0x0C:  # DeletChar: page, count
            if len(args) != 4:
                return [self._ack(0x01)]
            page, count = int.from_bytes(args[:2], "big"), int.from_bytes(args[2:], "big")
            if page + count > self.library_size:
                return [self._ack(0x10)]
            for p in range(page, page + count):
                self.library.pop(p, None)
            return [self._ack(0x00)]
        if code == 0x0D:  # Empty
            self.library.clear()
            return [self._ack(0x00)]
        if code == 0x1D:  # TemplateNum
            return [self._ack(0x00, len(self.library).to_bytes(2, "big"))]
        if code == 0x1F:  # ReadIndexTable (ReadConList): 32 bytes, bit p of byte i = page*256 + i*8 + p used
            if len(args) != 1:
                return [self._ack(0x01)]
            table = bytearray(32)
            for slot in self.library:
                if slot // 256 == args[0]:
                    table[(slot % 256) // 8] |= 1 << (slot % 8)
            return [self._ack(0x00, bytes(table))]
        if code == 0x14:  # GetRandomCode
            return [self._ack(0x00, self._rng.getrandbits(32).to_bytes(4, "big"))]
        if code == 0x12:  # SetPwd
            if len(args) != 4:
                return [self._ack(0x01)]
            self.password = int.from_bytes(args, "big")
            return [self._ack(0x00)]
        if code == 0x35:  # AuraLedConfig: control, speed, colour, count
            if len(args) != 4:
                return [self._ack(0x01)]
            self.led_on = args[0] in (1, 3, 5)
            return [self._ack(0x00)]
        if code in (0x50, 0x51):  # OpenLED / CloseLED
            self.led_on = code == 0x50
            return [self._ack(0x00)]
        return [self._ack(self.spec.unknown_instruction)]  # not an instruction this module knows

    def product_info(self) -> bytes:
        """ReadProdInfo's 46 bytes: model 16, batch 4, serial 8, hardware version 2, sensor 8,
        then image width, image height, template size and library size as big-endian words."""
        assert self.spec.product is not None and self.library_size is not None
        model, batch, serial, (major, minor), sensor = self.spec.product
        text = lambda value, n: value.encode("ascii")[:n].ljust(n, b"\0")  # noqa: E731
        return (text(model, 16) + text(batch, 4) + text(serial, 8) + bytes([major, minor]) + text(sensor, 8)
                + b"".join(v.to_bytes(2, "big") for v in (self.spec.width, self.spec.height, self.spec.char_bytes,
                                                           self.library_size)))

    def status(self) -> dict[str, Any]:
        with self.lock:
            return {"model": self.model, "faults": dict(self.faults), "templates": len(self.library), "led_on": self.led_on,
                    "password_verified": self._verified}
