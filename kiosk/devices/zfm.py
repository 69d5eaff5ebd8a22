"""Driver for ZhianTec ZFM / Hangzhou Grow R30x and R503 / Synochip AS60x fingerprint sensors.

These modules speak one UART protocol (the "ZFM user manual", the R307 / AS608 manuals, the R503
user manual; the wire format, codes and parameter blocks are in :mod:`kiosk.devices.zfm_wire`,
which cites them):

    EF 01 | address (4, big endian) | packet id (1) | length (2) | payload | checksum (2)

A command payload is an instruction code and its arguments; an acknowledge starts with a
confirmation code (0x00 = OK). Bulk transfers (UpImage, UpChar, DownChar) follow the acknowledge
with data packets of the module's packet size (32/64/128/256 bytes, from ReadSysPara) and end
with an end-of-data packet.

Sizes: at open the driver asks ReadProdInfo (0x3C; R503-era modules: 192x192 images, 1536-byte
templates); a module that refuses it (0x01, 0x19 or 0xFC) keeps the classic 256x288 image and
512-byte template. Every bulk transfer is bounded by the packets, bytes and time its size
legitimately takes at the port's baud rate (:class:`~kiosk.devices.zfm_wire.TransferBudget`): a
peer streaming empty or 1-byte packets, or dripping them, is refused instead of holding the driver.

Why not a library: ``pyfingerprint`` (the usual Python choice) is unmaintained since 2019, opens
the port itself from a device path (no pyserial URLs, so no ``spy://`` hexdumps and no
``loop://`` tests), raises bare ``Exception`` with English text for every confirmation code, and
its image download goes through PIL into a file. Adafruit's CircuitPython library targets
``busio.UART`` and swallows packet errors. Neither gives typed errors, cancellable captures or a
wire log, so the protocol is implemented here (it is small) on top of pyserial.

The port is a pyserial URL (``serial.serial_for_url``): a device path such as ``/dev/ttyUSB0``,
``spy:///dev/ttyUSB0`` to hex-dump the traffic on stderr, or ``loop://`` in tests. Every packet
also goes into :attr:`Device.log` for ``kiosk diag --hexdump``, decoded (command names,
confirmation codes, lengths), with every failure next to it (image and template transfers log
their first and last data packet only, so the command exchange stays readable).

Unplug: any serial/OS error on the port means the device vanished; the port is dropped and every
call raises DeviceAbsent naming the device until ``open()`` succeeds again once it is back.
Only one call runs at a time; a second one meanwhile gets DeviceBusy.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from typing import Annotated, Callable, Iterator, Literal

from kiosk.devices.base import DeviceInfo, DeviceState, DeviceStatus, SelfTestResult, Worded
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
from kiosk.devices.zfm_link import PORT_GONE, ZfmLink  # noqa: F401 - PORT_GONE re-exported
from kiosk.typed_tables import Gt, Interval

from kiosk.devices.zfm_wire import (  # noqa: F401 - re-exported: the driver's public names
    CLASSIC,
    CONFIRMATION_REASONS,
    CONFIRMATION_RECEIVE_ERROR,
    HEADER,
    MAX_PAYLOAD,
    NOT_SUPPORTED,
    PACKET_SIZES,
    Instr,
    Packet,
    PacketReader,
    Pid,
    ProductInfo,
    SensorGeometry,
    SystemParameters,
    TransferBudget,
    checksum,
    confirmation_error,
    describe_packet,
    encode_packet,
    receive_transfer,
    unpack_image,
)

IMAGE_WIDTH = CLASSIC.width
IMAGE_HEIGHT = CLASSIC.height
#: the classic R30x/AS60x image upload: 4 bits per pixel, two pixels per byte
IMAGE_BYTES = CLASSIC.image_bytes
#: a classic character file / template in a char buffer (R503: 1536, from ReadProdInfo)
TEMPLATE_BYTES = CLASSIC.template_bytes


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
        self.log.decoder = describe_packet
        #: the serial port and the packets on it
        self.link = ZfmLink(name, url=params.port, baudrate=params.baudrate, address=params.address,
                            timeout_s=params.timeout_s, packet_size=params.packet_size, log=self.log)
        self._lock = threading.Lock()
        self._sys: SystemParameters | None = None
        #: what ReadProdInfo told at open (None: a classic module without the instruction)
        self.product: ProductInfo | None = None
        #: image and template sizes every transfer is sized and bounded by
        self.geometry: SensorGeometry = CLASSIC

    # -- the port (kiosk.devices.zfm_link) ----------------------------------------------------------
    def _do_open(self) -> None:
        self.link.open()
        try:
            self.link.reset_input()
            self.verify_password()
            self._sys = self.read_system_parameters()
            self.product = self.read_product_info()
            self.geometry = self.product.geometry if self.product is not None else CLASSIC
        except BaseException:
            self._do_close()
            raise

    def _do_close(self) -> None:
        self.link.close()

    def _live_port(self) -> None:
        self.require_open()
        self.link.require()

    def command(self, instruction: int, args: bytes = b"", *, check: bool = True) -> tuple[int, bytes]:
        """Send one command; return (confirmation code, rest of the acknowledge).

        With ``check`` a non-zero confirmation raises its typed error.
        """
        return self.link.command(instruction, args, check=check)

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
        sys = SystemParameters.parse(data, device=self.name)
        self.link.packet_size = sys.packet_size  # data packets go at the module's own size
        return sys

    def read_product_info(self) -> ProductInfo | None:
        """ReadProdInfo (0x3C, R503-era modules); None when the module refuses the instruction
        (classic R30x/AS60x answer 0x01 or 0x19, later firmware 0xFC) or ignores it (no answer
        within the reply timeout: the manuals of the older modules do not say what they do), so
        the classic sizes hold."""
        try:
            code, data = self.command(Instr.READ_PROD_INFO, check=False)
        except DeviceTimeout:
            return None
        if code in NOT_SUPPORTED:
            return None
        if code != 0:
            raise confirmation_error(code, device=self.name, instruction=Instr.READ_PROD_INFO)
        return ProductInfo.parse(data, device=self.name)

    def gen_img(self) -> bool:
        """Take an image into the image buffer; False when no finger is on the sensor."""
        code, _ = self.command(Instr.GEN_IMG, check=False)
        if code == 0x02:
            return False
        if code != 0:
            raise confirmation_error(code, device=self.name, instruction=Instr.GEN_IMG)
        return True

    def up_image(self) -> bytes:
        expected = self.geometry.image_bytes
        self.command(Instr.UP_IMAGE)
        data = self.link.receive_data(expected)
        if len(data) != expected:
            raise DeviceProtocolError("zfm.image_size", device=self.name, got=len(data), expected=expected)
        return data

    def img2tz(self, buffer_id: int) -> None:
        self.command(Instr.IMG2TZ, bytes([buffer_id]))

    def reg_model(self) -> None:
        self.command(Instr.REG_MODEL)

    def up_char(self, buffer_id: int) -> bytes:
        self.command(Instr.UP_CHAR, bytes([buffer_id]))
        return self.link.receive_data(self.geometry.template_bytes)

    def down_char(self, buffer_id: int, template: bytes) -> None:
        self.command(Instr.DOWN_CHAR, bytes([buffer_id]))
        self.link.send_data(template)

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
        extra = {"library_size": sys.library_size, "security_level": sys.security_level,
                 "packet_size": sys.packet_size, "baudrate": sys.baudrate,
                 "status_register": f"0x{sys.status_register:04x}", "port": self.params.port,
                 "image": f"{self.geometry.width}x{self.geometry.height}",
                 "template_bytes": self.geometry.template_bytes}
        prod = self.product
        if prod is None:
            return DeviceInfo(vendor="ZhianTec-compatible", model=f"ZFM/R30x/AS60x (system id 0x{sys.system_id:04x})",
                              serial=f"addr 0x{sys.address:08x}", firmware="", extra=extra)
        extra.update(sensor=prod.sensor_model, batch=prod.batch_number)
        return DeviceInfo(vendor="Grow (R503-era)", model=f"{prod.module_model} (system id 0x{sys.system_id:04x})",
                          serial=prod.serial_number or f"addr 0x{sys.address:08x}",
                          firmware=f"hw {prod.hardware_version}", extra=extra)

    def status(self) -> DeviceStatus:
        if not self.is_open:
            return DeviceStatus(DeviceState.CLOSED)
        if not self.link.usable:
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
            check("zfm.check.password", lambda: (self.verify_password(), Worded("zfm.detail.accepted", "accepted"))[1])

            def sys_para() -> str:
                sys = self._sys = self.read_system_parameters()
                if sys.packet_size != self.params.packet_size:
                    raise DeviceProtocolError("zfm.packet_size_mismatch", device=self.name,
                                              configured=self.params.packet_size, module=sys.packet_size)
                return Worded("zfm.detail.parameters", f"library {sys.library_size}, packet {sys.packet_size}, "
                              f"baud {sys.baudrate}", library=sys.library_size, packet=sys.packet_size,
                              baud=sys.baudrate)

            check("zfm.check.parameters", sys_para)
            def library() -> str:
                count = self.template_count()
                return Worded("zfm.detail.templates", f"{count} templates", count=count)

            check("zfm.check.library", library)

            def round_trip() -> str:
                pattern = bytes((i * 37 + 11) & 0xFF for i in range(self.geometry.template_bytes))
                self.down_char(2, pattern)
                back = self.up_char(2)
                if back != pattern:
                    raise DeviceProtocolError("zfm.round_trip_mismatch", device=self.name, got=len(back))
                return Worded("zfm.detail.bytes", f"{len(back)} bytes", count=len(back))

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
                if self.link.port is not None:
                    self._led_best_effort(False)
        return FingerImage(pixels=unpack_image(data, self.geometry), ppi=500, position=position, captured_at=time.time(),
                           metadata={"sensor": "zfm", "bits_per_pixel": 4, "upload_s": round(upload_s, 4),
                                     "bytes": len(data)})

    def _led_best_effort(self, on: bool) -> None:
        # modules without the LED command answer 0x01/0x19; the capture does not depend on the light
        try:
            self.set_led(on)
        except (DeviceFault, DeviceProtocolError):
            pass

