"""The ZFM / R30x / AS60x / R503 UART protocol: packets, codes, parameter blocks, transfer bounds.

References (all public):

- the ZFM user manual (ZhianTec, "ZFM user manualV15.pdf" in brianrho/FPM ``extras/documentation``)
  and the R30x / AS608 manuals: packet layout, instruction set, confirmation codes 0x00-0x21,
  the 16-byte ReadSysPara block, 4-bit image upload in packet-size chunks;
- the R503 user manual (Hangzhou Grow, v1.2; Adafruit product 4651's "R503 fingerprint module user
  manual"): ReadProdInfo (0x3C), 192x192 images, the R503-era confirmation codes 0x1F-0x29 and
  0xFC-0xFE;
- brianrho/FPM ``src/fpm.h`` (MIT): the 46-byte ``FPMProductInfo`` layout (module model 16, batch
  number 4, serial number 8, hardware version 2, sensor model 8, image width 2, image height 2,
  template size 2, database size 2; big endian), "only the R503 is known to support this";
- pyfingerprint 1.5 and adafruit-circuitpython-fingerprint 2.2: the packet framing and checksum as
  independent clients implement them (both run against our emulator in the tests).

Packet::

    EF 01 | address (4, big endian) | packet id (1) | length (2) | payload | checksum (2)

``length`` counts the payload plus the two checksum bytes; the checksum is the 16-bit sum of the
packet id, both length bytes and every payload byte.
"""

from __future__ import annotations

import enum
import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from kiosk.devices.base import ProtocolLog
from kiosk.devices.errors import DeviceError, DeviceFault, DeviceProtocolError, DeviceTimeout

HEADER = b"\xef\x01"
#: start code 2 + address 4 + packet id 1 + length 2 + checksum 2
PACKET_OVERHEAD = 11
PACKET_SIZES = {0: 32, 1: 64, 2: 128, 3: 256}
#: largest payload a reply may carry: the biggest data packet (256) is the limit on the wire
MAX_PAYLOAD = 256
#: 8N1: a start bit, eight data bits, a stop bit per byte
BITS_PER_BYTE = 10


class Pid(enum.IntEnum):
    COMMAND = 0x01
    DATA = 0x02
    ACK = 0x07
    END = 0x08


class Instr(enum.IntEnum):
    GEN_IMG = 0x01
    IMG2TZ = 0x02
    MATCH = 0x03
    SEARCH = 0x04
    REG_MODEL = 0x05
    STORE = 0x06
    LOAD_CHAR = 0x07
    UP_CHAR = 0x08
    DOWN_CHAR = 0x09
    UP_IMAGE = 0x0A
    DOWN_IMAGE = 0x0B
    DELETE_CHAR = 0x0C
    EMPTY = 0x0D
    SET_SYS_PARA = 0x0E
    READ_SYS_PARA = 0x0F
    SET_PWD = 0x12
    VFY_PWD = 0x13
    GET_RANDOM_CODE = 0x14
    SET_ADDR = 0x15
    HIGH_SPEED_SEARCH = 0x1B
    TEMPLATE_NUM = 0x1D
    READ_INDEX_TABLE = 0x1F
    AURA_LED_CONFIG = 0x35
    CHECK_SENSOR = 0x36
    READ_PROD_INFO = 0x3C
    SOFT_RESET = 0x3D
    HAND_SHAKE = 0x40
    OPEN_LED = 0x50
    CLOSE_LED = 0x51


#: confirmation code -> DeviceFault reason (catalog key ``device.fault.<reason>``).
#: 0x01 (the module could not read our packet) is a protocol error, not an operator fault.
CONFIRMATION_REASONS: dict[int, str] = {
    0x02: "no_finger",
    0x03: "image_failed",
    0x04: "image_too_dry",
    0x05: "image_too_wet",
    0x06: "image_messy",
    0x07: "too_few_features",
    0x08: "no_match",
    0x09: "not_found",
    0x0A: "combine_failed",
    0x0B: "bad_location",
    0x0C: "template_read_failed",
    0x0D: "template_upload_failed",
    0x0E: "data_receive_failed",
    0x0F: "image_upload_failed",
    0x10: "delete_failed",
    0x11: "clear_failed",
    0x13: "wrong_password",
    0x15: "no_valid_image",
    0x18: "flash_write_failed",
    0x19: "undefined_error",
    0x1A: "invalid_register",
    0x1B: "bad_register_config",
    0x1C: "bad_notepad_page",
    0x1D: "port_failed",
    # R503 manual additions
    0x1F: "library_full",
    0x20: "wrong_address",
    0x21: "password_required",
    0x22: "template_empty",
    0x24: "library_empty",
    0x26: "sensor_timeout",
    0x27: "already_enrolled",
    0x29: "sensor_hardware",
    0xFC: "unsupported_command",
    0xFD: "hardware_error",
    0xFE: "command_failed",
}
CONFIRMATION_RECEIVE_ERROR = 0x01
#: answers that mean "this module has no such instruction" (classic modules answer 0x01 or
#: 0x19 to an instruction they do not know; R503-era firmware answers 0xFC)
NOT_SUPPORTED = frozenset({0x01, 0x19, 0xFC})


def checksum(pid: int, length: int, payload: bytes) -> int:
    return (pid + (length >> 8) + (length & 0xFF) + sum(payload)) & 0xFFFF


def encode_packet(address: int, pid: int, payload: bytes) -> bytes:
    length = len(payload) + 2
    return (HEADER + address.to_bytes(4, "big") + bytes([pid]) + length.to_bytes(2, "big") + payload
            + checksum(pid, length, payload).to_bytes(2, "big"))


@dataclass(frozen=True)
class Packet:
    address: int
    pid: int
    payload: bytes


def confirmation_error(code: int, *, device: str, instruction: int) -> DeviceError:
    """The typed error for a non-zero confirmation code."""
    name = instruction_name(instruction)
    if code == CONFIRMATION_RECEIVE_ERROR:
        return DeviceProtocolError("zfm.receive_error", device=device, instruction=name)
    reason = CONFIRMATION_REASONS.get(code)
    if reason is None:
        return DeviceFault("unknown_code", device=device, code=f"0x{code:02x}", instruction=name)
    return DeviceFault(reason, device=device, code=f"0x{code:02x}", instruction=name)


def instruction_name(code: int) -> str:
    """``UpImage(0x0a)``: the manual's name of an instruction, for logs and error details."""
    try:
        name = "".join(part.capitalize() for part in Instr(code).name.split("_"))
    except ValueError:
        name = "Instruction"
    return f"{name}(0x{code:02x})"


def describe_packet(direction: str, raw: bytes) -> str:
    """One packet in words for the technician's exchange log: type, instruction or confirmation
    code, payload length. Anything that is not a whole packet is labelled as such."""
    if len(raw) < 11 or raw[:2] != HEADER:
        return f"{len(raw)} bytes, not a packet"
    pid, length = raw[6], int.from_bytes(raw[7:9], "big")
    payload = raw[9:9 + max(length - 2, 0)]
    if pid == Pid.COMMAND and payload:
        return f"command {instruction_name(payload[0])} args {len(payload) - 1}"
    if pid == Pid.ACK and payload:
        code = payload[0]
        meaning = "ok" if code == 0 else ("receive_error" if code == 1 else CONFIRMATION_REASONS.get(code, "unknown"))
        return f"ack 0x{code:02x} {meaning} data {len(payload) - 1}"
    if pid in (Pid.DATA, Pid.END):
        return f"{'data' if pid == Pid.DATA else 'end of data'} {len(payload)} bytes"
    return f"packet id 0x{pid:02x} length {length}"


class PacketReader:
    """Reads whole packets from a byte source, checking header, packet id, length and checksum.

    ``read(n)`` returns up to ``n`` bytes and fewer (possibly none) when its own timeout passed,
    as ``serial.Serial.read`` does. A packet not complete by ``timeout_s`` (or by the caller's
    ``deadline``, whichever is first) is a DeviceTimeout, whatever the source does; anything
    malformed is a DeviceProtocolError. Nothing else escapes.
    """

    def __init__(self, read: Callable[[int], bytes], *, device: str, timeout_s: float,
                 log: ProtocolLog | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._read = read
        self.device = device
        self.timeout_s = timeout_s
        self.log = log
        self._clock = clock

    def _exact(self, n: int, deadline: float, got_so_far: bytes) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            # an empty read only means the source's short poll timeout passed: keep waiting
            # until the packet's own deadline (a real GenImg takes a few hundred ms)
            buf += self._read(n - len(buf))
            if len(buf) < n and self._clock() >= deadline:
                seen = got_so_far + bytes(buf)
                if self.log is not None and seen:
                    self.log.record("rx", seen)
                raise DeviceTimeout(device=self.device, waited_s=self.timeout_s, received=len(seen))
        return bytes(buf)

    def _bad(self, code: str, raw: bytes, **params: object) -> DeviceProtocolError:
        if self.log is not None:
            self.log.record("rx", raw)
        return DeviceProtocolError(code, device=self.device, data=raw[:16].hex(" "), **params)

    def read_packet(self, *, deadline: float | None = None, quiet: bool = False) -> Packet:
        """The next packet. ``quiet``: a good packet is not logged (bulk data); a bad one always is."""
        own = self._clock() + self.timeout_s
        deadline = own if deadline is None else min(own, deadline)
        head = self._exact(9, deadline, b"")
        if head[:2] != HEADER:
            raise self._bad("zfm.garbage", head)
        pid = head[6]
        if pid not in (Pid.ACK, Pid.DATA, Pid.END):
            raise self._bad("zfm.bad_packet_id", head, pid=f"0x{pid:02x}")
        length = int.from_bytes(head[7:9], "big")
        if length < 2 or length > MAX_PAYLOAD + 2:
            raise self._bad("zfm.bad_length", head, length=length)
        body = self._exact(length, deadline, head)
        raw = head + body
        payload = body[:-2]
        if checksum(pid, length, payload) != int.from_bytes(body[-2:], "big"):
            raise self._bad("zfm.bad_checksum", raw)
        if self.log is not None and not quiet:
            self.log.record("rx", raw)
        return Packet(int.from_bytes(head[2:6], "big"), pid, payload)


def wire_seconds(n_bytes: int, baudrate: int) -> float:
    return n_bytes * BITS_PER_BYTE / baudrate


@dataclass(frozen=True)
class TransferBudget:
    """What one bulk transfer (UpImage, UpChar) may legitimately take, from the manual's rules:
    the data comes in packets of the module's packet size (only the last may be shorter), so
    ``expected`` bytes need ``ceil(expected / packet_size)`` packets, and at the port's baud rate
    those take ``wire_seconds``. A peer streaming empty or 1-byte packets, or dripping full ones,
    runs out of packets or of time instead of holding the driver."""

    expected: int
    packet_size: int
    max_packets: int
    seconds: float

    @classmethod
    def for_transfer(cls, expected: int, *, packet_size: int, baudrate: int, timeout_s: float,
                     slack: float = 1.5) -> "TransferBudget":
        packets = max(1, math.ceil(expected / packet_size))
        on_wire = expected + packets * PACKET_OVERHEAD
        # slack covers a module that pauses between packets; timeout_s its time to start sending
        return cls(expected, packet_size, packets, timeout_s + slack * wire_seconds(on_wire, baudrate))


def receive_transfer(next_packet: Callable[[float], Packet], budget: TransferBudget, *, device: str,
                     clock: Callable[[], float] = time.monotonic) -> bytes:
    """Collect data packets until the end packet, within ``budget`` (packets, bytes and time).

    ``next_packet(deadline)`` reads one packet, giving up at ``deadline``."""
    deadline = clock() + budget.seconds
    data = bytearray()
    for count in range(1, budget.max_packets + 1):
        try:
            packet = next_packet(deadline)
        except DeviceTimeout as exc:
            if clock() >= deadline:
                raise DeviceTimeout("zfm.transfer_too_slow", device=device, waited_s=round(budget.seconds, 3),
                                    received=len(data), expected=budget.expected) from None
            raise exc
        if packet.pid not in (Pid.DATA, Pid.END):
            raise DeviceProtocolError("zfm.expected_data", device=device, pid=f"0x{packet.pid:02x}")
        data += packet.payload
        if len(data) > budget.expected:
            raise DeviceProtocolError("zfm.too_much_data", device=device, limit=budget.expected)
        if packet.pid == Pid.END:
            return bytes(data)
        if len(packet.payload) != budget.packet_size:
            # only the last packet may be short: an empty or 1-byte packet mid-transfer is no module's
            raise DeviceProtocolError("zfm.short_data_packet", device=device, packet=count,
                                      got=len(packet.payload), expected=budget.packet_size)
    raise DeviceProtocolError("zfm.too_many_packets", device=device, limit=budget.max_packets)


@dataclass(frozen=True)
class SystemParameters:
    """The 16 bytes ReadSysPara returns."""

    status_register: int
    system_id: int
    library_size: int
    security_level: int
    address: int
    packet_size: int
    baudrate: int

    @classmethod
    def parse(cls, data: bytes, *, device: str) -> "SystemParameters":
        if len(data) < 16:
            raise DeviceProtocolError("zfm.short_reply", device=device, length=len(data))
        word = lambda i: int.from_bytes(data[i:i + 2], "big")  # noqa: E731
        size_code = word(12)
        if size_code not in PACKET_SIZES:
            raise DeviceProtocolError("zfm.bad_sys_para", device=device, field="packet_size", value=size_code)
        return cls(status_register=word(0), system_id=word(2), library_size=word(4), security_level=word(6),
                   address=int.from_bytes(data[8:12], "big"), packet_size=PACKET_SIZES[size_code],
                   baudrate=9600 * word(14))


#: the sizes a module reports through ReadProdInfo must be ones a sensor can have: a bad value
#: would size a transfer to a peer's liking
MAX_IMAGE_SIDE = 512
MAX_TEMPLATE_BYTES = 4096
PRODUCT_INFO_BYTES = 46


@dataclass(frozen=True)
class SensorGeometry:
    """Image and template sizes: from ReadProdInfo, or the classic R30x/AS60x values."""

    width: int = 256
    height: int = 288
    template_bytes: int = 512

    @property
    def image_bytes(self) -> int:
        # 4 bits per pixel, two pixels per byte, first pixel in the high nibble
        return self.width * self.height // 2


CLASSIC = SensorGeometry()


@dataclass(frozen=True)
class ProductInfo:
    """The 46 bytes ReadProdInfo (0x3C) returns on R503-era modules (layout: FPM ``FPMProductInfo``)."""

    module_model: str
    batch_number: str
    serial_number: str
    hardware_version: str
    sensor_model: str
    image_width: int
    image_height: int
    template_bytes: int
    library_size: int

    @classmethod
    def parse(cls, data: bytes, *, device: str) -> "ProductInfo":
        if len(data) < PRODUCT_INFO_BYTES:
            raise DeviceProtocolError("zfm.short_reply", device=device, length=len(data))
        text = lambda a, b: data[a:b].split(b"\0", 1)[0].decode("ascii", "replace").strip()  # noqa: E731
        word = lambda i: int.from_bytes(data[i:i + 2], "big")  # noqa: E731
        info = cls(module_model=text(0, 16), batch_number=text(16, 20), serial_number=text(20, 28),
                   hardware_version=f"{data[28]}.{data[29]}", sensor_model=text(30, 38),
                   image_width=word(38), image_height=word(40), template_bytes=word(42), library_size=word(44))
        for field, value, top in (("image_width", info.image_width, MAX_IMAGE_SIDE),
                                  ("image_height", info.image_height, MAX_IMAGE_SIDE),
                                  ("template_bytes", info.template_bytes, MAX_TEMPLATE_BYTES)):
            if not 0 < value <= top or (field == "image_width" and value % 2):
                raise DeviceProtocolError("zfm.bad_product_info", device=device, field=field, value=value)
        return info

    @property
    def geometry(self) -> SensorGeometry:
        return SensorGeometry(self.image_width, self.image_height, self.template_bytes)


def unpack_image(data: bytes, geometry: SensorGeometry = CLASSIC) -> np.ndarray:
    """4-bit pixels (high nibble first) to a uint8 image; 0..15 is spread over 0..255."""
    packed = np.frombuffer(data, dtype=np.uint8)
    pixels = np.empty(packed.size * 2, dtype=np.uint8)
    pixels[0::2] = packed >> 4
    pixels[1::2] = packed & 0x0F
    return (pixels * 17).reshape(geometry.height, geometry.width)
