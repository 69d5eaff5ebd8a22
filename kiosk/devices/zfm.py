"""Driver for ZhianTec ZFM / Hangzhou Grow R30x / Synochip AS60x optical fingerprint sensors.

These modules speak one UART protocol (the "ZFM user manual" / R307 / AS608 manuals):

    EF 01 | address (4, big endian) | packet id (1) | length (2) | payload | checksum (2)

``length`` counts the payload plus the two checksum bytes; the checksum is the 16-bit sum of the
packet id, both length bytes and every payload byte. Packet ids: 0x01 command, 0x02 data, 0x07
acknowledge, 0x08 last data packet. A command payload is an instruction code and its
arguments; an acknowledge starts with a confirmation code (0x00 = OK). Bulk transfers (UpImage,
UpChar, DownChar) follow the acknowledge with data packets of the module's packet size
(32/64/128/256 bytes, from ReadSysPara) and end with an end-of-data packet.

Why not a library: ``pyfingerprint`` (the usual Python choice) is unmaintained since 2019, opens
the port itself from a device path (no pyserial URLs, so no ``spy://`` hexdumps and no
``loop://`` tests), raises bare ``Exception`` with English text for every confirmation code, and
its image download goes through PIL into a file. Adafruit's CircuitPython library targets
``busio.UART`` and swallows packet errors. Neither gives typed errors, cancellable captures or a
wire log, so the protocol is implemented here (it is small) on top of pyserial.

The port is a pyserial URL (``serial.serial_for_url``): a device path such as ``/dev/ttyUSB0``,
``spy:///dev/ttyUSB0`` to hex-dump the traffic on stderr, or ``loop://`` in tests. Every packet
also goes into :attr:`Device.log` for ``kiosk diag --hexdump`` (image and template transfers
log their first and last data packet only, so the command exchange stays readable).

Unplug: any serial/OS error on the port means the device vanished; the port is dropped and every
call raises DeviceAbsent naming the device until ``open()`` succeeds again once it is back.
Only one call runs at a time; a second one meanwhile gets DeviceBusy.
"""

from __future__ import annotations

import contextlib
import enum
import threading
import time
from dataclasses import dataclass
from typing import Annotated, Callable, Iterator, Literal

import numpy as np
import serial

from kiosk.devices.base import DeviceInfo, DeviceState, DeviceStatus, ProtocolLog, SelfTestResult
from kiosk.devices.errors import (
    CaptureCancelled,
    DeviceAbsent,
    DeviceBusy,
    DeviceError,
    DeviceFault,
    DeviceProtocolError,
    DeviceTimeout,
)
from kiosk.devices.protocols import FingerImage, FingerprintScanner
from kiosk.typed_tables import Gt, Interval

try:
    import termios

    #: what pyserial lets through when the port vanished: its own error, OS errors, termios errors
    PORT_GONE: tuple[type[BaseException], ...] = (serial.SerialException, OSError, termios.error)
except ImportError:  # not POSIX
    PORT_GONE = (serial.SerialException, OSError)

HEADER = b"\xef\x01"
IMAGE_WIDTH = 256
IMAGE_HEIGHT = 288
#: 4 bits per pixel, two pixels per byte, first pixel in the high nibble
IMAGE_BYTES = IMAGE_WIDTH * IMAGE_HEIGHT // 2
#: a character file / template in a char buffer (the manuals give 512 bytes for R30x/AS60x)
TEMPLATE_BYTES = 512
PACKET_SIZES = {0: 32, 1: 64, 2: 128, 3: 256}
#: largest payload a reply may carry: the biggest data packet (256) is the limit on the wire
MAX_PAYLOAD = 256


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
    TEMPLATE_NUM = 0x1D
    AURA_LED_CONFIG = 0x35
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
    0x20: "wrong_address",
    0x21: "password_required",
}
CONFIRMATION_RECEIVE_ERROR = 0x01


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
    if code == CONFIRMATION_RECEIVE_ERROR:
        return DeviceProtocolError("zfm.receive_error", device=device, instruction=f"0x{instruction:02x}")
    reason = CONFIRMATION_REASONS.get(code)
    if reason is None:
        return DeviceFault("unknown_code", device=device, code=f"0x{code:02x}", instruction=f"0x{instruction:02x}")
    return DeviceFault(reason, device=device, code=f"0x{code:02x}", instruction=f"0x{instruction:02x}")


class PacketReader:
    """Reads whole packets from a byte source, checking header, packet id, length and checksum.

    ``read(n)`` returns up to ``n`` bytes and fewer (possibly none) when its own timeout passed,
    as ``serial.Serial.read`` does. A packet not complete by ``timeout_s`` is a DeviceTimeout,
    whatever the source does; anything malformed is a DeviceProtocolError. Nothing else escapes.
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

    def read_packet(self) -> Packet:
        deadline = self._clock() + self.timeout_s
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
        if self.log is not None:
            self.log.record("rx", raw)
        return Packet(int.from_bytes(head[2:6], "big"), pid, payload)


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


def unpack_image(data: bytes) -> np.ndarray:
    """4-bit pixels (high nibble first) to a uint8 image; 0..15 is spread over 0..255."""
    packed = np.frombuffer(data, dtype=np.uint8)
    pixels = np.empty(packed.size * 2, dtype=np.uint8)
    pixels[0::2] = packed >> 4
    pixels[1::2] = packed & 0x0F
    return (pixels * 17).reshape(IMAGE_HEIGHT, IMAGE_WIDTH)


class ZfmFingerprintDriver(FingerprintScanner):
    """A ZFM-20 / R305 / R307 / AS608 sensor on a serial port (USB-serial adapter or UART)."""

    @dataclass(frozen=True)
    class Params:
        #: pyserial URL or device path: "/dev/ttyUSB0", "spy:///dev/ttyUSB0", "loop://"
        port: str = "/dev/ttyUSB0"
        #: the module's UART speed (9600 x N, N = 1..12; factory default 57600)
        baudrate: Literal[9600, 19200, 28800, 38400, 48000, 57600, 67200, 76800, 86400, 96000, 105600, 115200] = 57600
        #: module address (factory default 0xFFFFFFFF)
        address: Annotated[int, Interval(ge=0, le=0xFFFFFFFF)] = 0xFFFFFFFF
        #: module password checked by VfyPwd at open (factory default 0)
        password: Annotated[int, Interval(ge=0, le=0xFFFFFFFF)] = 0
        #: data packet size we send with until ReadSysPara tells the module's own (32/64/128/256)
        packet_size: Literal[32, 64, 128, 256] = 128
        #: seconds to wait for one reply packet
        timeout_s: Annotated[float, Gt(0)] = 2.0
        #: seconds between GenImg polls while waiting for a finger
        poll_interval_s: Annotated[float, Gt(0)] = 0.05
        #: finger light: "aura" (R503 AuraLedConfig 0x35), "onoff" (OpenLED/CloseLED 0x50/0x51), "none"
        led: Literal["none", "aura", "onoff"] = "none"

    params: "ZfmFingerprintDriver.Params"

    def __init__(self, name: str, params: "ZfmFingerprintDriver.Params") -> None:
        super().__init__(name, params)
        self._port: serial.SerialBase | None = None
        self._lock = threading.Lock()
        self._sys: SystemParameters | None = None
        #: set when the port vanished; every call says DeviceAbsent until reopened
        self._lost = False

    # -- transport -----------------------------------------------------------------------------
    def _absent(self, exc: BaseException | None = None) -> DeviceAbsent:
        self._lost = True
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except Exception:  # the port is already gone; closing it is only tidying up
                pass
        return DeviceAbsent(device=self.name, port=self.params.port, reason=str(exc or "")[:80])

    def _do_open(self) -> None:
        if self._port is not None:
            self._do_close()
        try:
            self._port = serial.serial_for_url(self.params.port, baudrate=self.params.baudrate,
                                               timeout=min(self.params.timeout_s, 0.25), write_timeout=self.params.timeout_s)
        except (*PORT_GONE, ValueError) as exc:
            raise DeviceAbsent(device=self.name, port=self.params.port, reason=str(exc)[:80]) from None
        self._lost = False
        try:
            self._reset_input()
            self.verify_password()
            self._sys = self.read_system_parameters()
        except BaseException:
            self._do_close()
            raise

    def _do_close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except PORT_GONE:
                pass

    def _live_port(self) -> serial.SerialBase:
        self.require_open()
        if self._port is None or self._lost:
            raise DeviceAbsent(device=self.name, port=self.params.port, reason="unplugged")
        return self._port

    def _reset_input(self) -> None:
        port = self._port
        if port is None:
            raise DeviceAbsent(device=self.name, port=self.params.port, reason="unplugged")
        try:
            port.reset_input_buffer()
        except PORT_GONE as exc:
            raise self._absent(exc) from None

    def _read(self, n: int) -> bytes:
        port = self._port
        if port is None:
            raise DeviceAbsent(device=self.name, port=self.params.port, reason="unplugged")
        try:
            return bytes(port.read(n))
        except PORT_GONE as exc:
            raise self._absent(exc) from None

    def _send(self, pid: int, payload: bytes) -> None:
        port = self._port
        if port is None:
            raise DeviceAbsent(device=self.name, port=self.params.port, reason="unplugged")
        raw = encode_packet(self.params.address, pid, payload)
        self.log.record("tx", raw)
        try:
            port.write(raw)
            port.flush()
        except serial.SerialTimeoutException:
            raise DeviceTimeout(device=self.name, waited_s=self.params.timeout_s, received=0) from None
        except PORT_GONE as exc:
            raise self._absent(exc) from None

    def _receive(self, *, log: bool = True) -> Packet:
        reader = PacketReader(self._read, device=self.name, timeout_s=self.params.timeout_s,
                              log=self.log if log else None)
        try:
            packet = reader.read_packet()
        except DeviceProtocolError:
            # drop whatever else the garbage left behind so the next command starts clean
            if self._port is not None:
                self._reset_input()
            raise
        if packet.address != self.params.address:
            raise DeviceProtocolError("zfm.wrong_address", device=self.name, address=f"0x{packet.address:08x}")
        return packet

    def command(self, instruction: int, args: bytes = b"", *, check: bool = True) -> tuple[int, bytes]:
        """Send one command; return (confirmation code, rest of the acknowledge).

        With ``check`` a non-zero confirmation raises its typed error.
        """
        # a late reply to an earlier timed-out command must not be taken for this one's
        self._reset_input()
        self._send(Pid.COMMAND, bytes([instruction]) + args)
        ack = self._receive()
        if ack.pid != Pid.ACK or not ack.payload:
            raise DeviceProtocolError("zfm.expected_ack", device=self.name, pid=f"0x{ack.pid:02x}")
        code = ack.payload[0]
        if check and code != 0:
            raise confirmation_error(code, device=self.name, instruction=instruction)
        return code, ack.payload[1:]

    def _receive_data(self, limit: int) -> bytes:
        """Data packets after an acknowledge, until the end packet."""
        data = bytearray()
        count = 0
        while True:
            # log the first data packet and the end one: 288 image packets would flush the
            # command/acknowledge exchange a technician wants to read out of the ring
            count += 1
            packet = self._receive(log=count == 1)
            if packet.pid == Pid.END and count > 1:
                self.log.record("rx", encode_packet(packet.address, packet.pid, packet.payload))
            if packet.pid not in (Pid.DATA, Pid.END):
                raise DeviceProtocolError("zfm.expected_data", device=self.name, pid=f"0x{packet.pid:02x}")
            data += packet.payload
            if len(data) > limit:
                raise DeviceProtocolError("zfm.too_much_data", device=self.name, limit=limit)
            if packet.pid == Pid.END:
                return bytes(data)

    def _send_data(self, data: bytes) -> None:
        size = self._sys.packet_size if self._sys else self.params.packet_size
        chunks = [data[i:i + size] for i in range(0, len(data), size)] or [b""]
        for i, chunk in enumerate(chunks):
            self._send(Pid.END if i == len(chunks) - 1 else Pid.DATA, chunk)

    @contextlib.contextmanager
    def _guarded(self) -> Iterator[None]:
        """One call at a time: a second caller gets DeviceBusy instead of interleaved packets."""
        self._live_port()
        if not self._lock.acquire(blocking=False):
            raise DeviceBusy(device=self.name)
        try:
            yield
        finally:
            self._lock.release()

    # -- the module's commands -------------------------------------------------------------------
    def verify_password(self) -> None:
        self.command(Instr.VFY_PWD, self.params.password.to_bytes(4, "big"))

    def read_system_parameters(self) -> SystemParameters:
        _, data = self.command(Instr.READ_SYS_PARA)
        return SystemParameters.parse(data, device=self.name)

    def gen_img(self) -> bool:
        """Take an image into the image buffer; False when no finger is on the sensor."""
        code, _ = self.command(Instr.GEN_IMG, check=False)
        if code == 0x02:
            return False
        if code != 0:
            raise confirmation_error(code, device=self.name, instruction=Instr.GEN_IMG)
        return True

    def up_image(self) -> bytes:
        self.command(Instr.UP_IMAGE)
        data = self._receive_data(IMAGE_BYTES)
        if len(data) != IMAGE_BYTES:
            raise DeviceProtocolError("zfm.image_size", device=self.name, got=len(data), expected=IMAGE_BYTES)
        return data

    def img2tz(self, buffer_id: int) -> None:
        self.command(Instr.IMG2TZ, bytes([buffer_id]))

    def reg_model(self) -> None:
        self.command(Instr.REG_MODEL)

    def up_char(self, buffer_id: int) -> bytes:
        self.command(Instr.UP_CHAR, bytes([buffer_id]))
        return self._receive_data(TEMPLATE_BYTES)

    def down_char(self, buffer_id: int, template: bytes) -> None:
        self.command(Instr.DOWN_CHAR, bytes([buffer_id]))
        self._send_data(template)

    def store(self, buffer_id: int, page: int) -> None:
        self.command(Instr.STORE, bytes([buffer_id]) + page.to_bytes(2, "big"))

    def load_char(self, buffer_id: int, page: int) -> None:
        self.command(Instr.LOAD_CHAR, bytes([buffer_id]) + page.to_bytes(2, "big"))

    def delete_char(self, page: int, count: int = 1) -> None:
        self.command(Instr.DELETE_CHAR, page.to_bytes(2, "big") + count.to_bytes(2, "big"))

    def empty(self) -> None:
        self.command(Instr.EMPTY)

    def template_count(self) -> int:
        _, data = self.command(Instr.TEMPLATE_NUM)
        if len(data) < 2:
            raise DeviceProtocolError("zfm.short_reply", device=self.name, length=len(data))
        return int.from_bytes(data[:2], "big")

    def set_led(self, on: bool) -> None:
        """Finger light on/off, in the way the configured module supports."""
        if self.params.led == "aura":
            # control 3 = always on, 4 = always off; speed 0; colour 2 = blue; count 0 = endless
            self.command(Instr.AURA_LED_CONFIG, bytes([3 if on else 4, 0, 2, 0]))
        elif self.params.led == "onoff":
            self.command(Instr.OPEN_LED if on else Instr.CLOSE_LED)

    # -- the Device protocol -----------------------------------------------------------------------
    def info(self) -> DeviceInfo:
        self._live_port()
        with self._guarded():
            sys = self._sys = self.read_system_parameters()
        return DeviceInfo(
            vendor="ZhianTec-compatible", model=f"ZFM/R30x/AS60x (system id 0x{sys.system_id:04x})",
            serial=f"addr 0x{sys.address:08x}", firmware="",
            extra={"library_size": sys.library_size, "security_level": sys.security_level,
                   "packet_size": sys.packet_size, "baudrate": sys.baudrate,
                   "status_register": f"0x{sys.status_register:04x}", "port": self.params.port},
        )

    def status(self) -> DeviceStatus:
        if not self.is_open:
            return DeviceStatus(DeviceState.CLOSED)
        if self._lost or self._port is None:
            return DeviceStatus(DeviceState.ABSENT, "device.absent", {"device": self.name})
        if self._lock.locked():
            return DeviceStatus(DeviceState.BUSY, "device.busy", {"device": self.name})
        try:
            with self._guarded():
                self.read_system_parameters()
        except DeviceAbsent as exc:
            return DeviceStatus(DeviceState.ABSENT, exc.code, exc.params)
        except DeviceError as exc:
            return DeviceStatus(DeviceState.ERROR, exc.code, exc.params)
        return DeviceStatus(DeviceState.READY)

    def self_test(self) -> SelfTestResult:
        """Non-destructive: handshake, parameters, library count, a template round trip through a
        char buffer (DownChar then UpChar: data packets both ways, no flash written)."""
        self._live_port()
        checks: list[tuple[str, bool, str]] = []

        def check(code: str, fn: Callable[[], str]) -> None:
            try:
                checks.append((code, True, fn()))
            except DeviceAbsent:
                raise
            except DeviceError as exc:
                checks.append((code, False, exc.technical()))

        with self._guarded():
            check("zfm.check.password", lambda: (self.verify_password(), "ok")[1])

            def sys_para() -> str:
                sys = self._sys = self.read_system_parameters()
                if sys.packet_size != self.params.packet_size:
                    raise DeviceProtocolError("zfm.packet_size_mismatch", device=self.name,
                                              configured=self.params.packet_size, module=sys.packet_size)
                return f"library {sys.library_size}, packet {sys.packet_size}, baud {sys.baudrate}"

            check("zfm.check.parameters", sys_para)
            check("zfm.check.library", lambda: f"{self.template_count()} templates")

            def round_trip() -> str:
                pattern = bytes((i * 37 + 11) & 0xFF for i in range(TEMPLATE_BYTES))
                self.down_char(2, pattern)
                back = self.up_char(2)
                if back != pattern:
                    raise DeviceProtocolError("zfm.round_trip_mismatch", device=self.name, got=len(back))
                return f"{len(back)} bytes"

            check("zfm.check.char_buffer", round_trip)
        return SelfTestResult(all(ok for _, ok, _ in checks), tuple(checks))

    def capture(self, position: int = 0, *, timeout_s: float = 10.0,
                cancel: threading.Event | None = None) -> FingerImage:
        with self._guarded():
            self._led_best_effort(True)
            try:
                deadline = time.monotonic() + timeout_s
                while True:
                    if cancel is not None and cancel.is_set():
                        raise CaptureCancelled(device=self.name)
                    if self.gen_img():
                        break
                    if time.monotonic() >= deadline:
                        raise DeviceFault("no_finger", device=self.name, waited_s=timeout_s)
                    if cancel is not None:
                        if cancel.wait(self.params.poll_interval_s):
                            raise CaptureCancelled(device=self.name)
                    else:
                        time.sleep(self.params.poll_interval_s)
                started = time.monotonic()
                data = self.up_image()
                upload_s = time.monotonic() - started
            finally:
                if self._port is not None:
                    self._led_best_effort(False)
        return FingerImage(pixels=unpack_image(data), ppi=500, position=position, captured_at=time.time(),
                           metadata={"sensor": "zfm", "bits_per_pixel": 4, "upload_s": round(upload_s, 4),
                                     "bytes": len(data)})

    def _led_best_effort(self, on: bool) -> None:
        # modules without the LED command answer 0x01/0x19; the capture does not depend on the light
        try:
            self.set_led(on)
        except (DeviceFault, DeviceProtocolError):
            pass

