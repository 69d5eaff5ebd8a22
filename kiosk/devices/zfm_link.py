"""One ZFM packet exchange at a time over a serial port: the transport under
:class:`kiosk.devices.zfm.ZfmFingerprintDriver`.

The wire format (header, address, packet id, length, checksum), packet reading and transfer
budgets are in :mod:`kiosk.devices.zfm_wire`, which cites the ZFM / R30x / AS60x / R503 manuals.
This module owns the port: opening it from a pyserial URL, sending a command and reading its
acknowledge, the bulk data packets that follow UpImage / UpChar / DownChar, and the rule that
any serial or OS error means the device vanished (the port is dropped and every call raises
DeviceAbsent until the driver opens it again).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import serial

from kiosk.devices.errors import DeviceAbsent, DeviceError, DeviceProtocolError, DeviceTimeout, os_error_text
from kiosk.devices.zfm_wire import (
    Packet,
    PacketReader,
    Pid,
    TransferBudget,
    confirmation_error,
    encode_packet,
    receive_transfer,
)

if TYPE_CHECKING:
    from kiosk.devices.base import ProtocolLog

try:
    import termios

    #: what pyserial lets through when the port vanished: its own error, OS errors, termios errors
    PORT_GONE: tuple[type[BaseException], ...] = (serial.SerialException, OSError, termios.error)
except ImportError:  # not POSIX
    PORT_GONE = (serial.SerialException, OSError)


class ZfmLink:
    """The serial port of one module and the packets on it (callers serialise their calls)."""

    def __init__(self, device: str, *, url: str, baudrate: int, address: int, timeout_s: float,
                 packet_size: int, log: "ProtocolLog") -> None:
        self.device = device
        self.url = url
        self.baudrate = baudrate
        self.address = address
        self.timeout_s = timeout_s
        #: data packet size: the configured one until ReadSysPara tells the module's own
        self.packet_size = packet_size
        self.log = log
        self.port: serial.SerialBase | None = None
        #: set when the port vanished; every call says DeviceAbsent until reopened
        self.lost = False

    # -- the port ----------------------------------------------------------------------------------
    def open(self) -> None:
        if self.port is not None:
            self.close()
        try:
            self.port = serial.serial_for_url(self.url, baudrate=self.baudrate,
                                              timeout=min(self.timeout_s, 0.25), write_timeout=self.timeout_s)
        except (*PORT_GONE, ValueError) as exc:
            absent = DeviceAbsent(device=self.device, port=self.url, reason=str(exc)[:120], os_error=os_error_text(exc))
            self.log.failure(absent.technical())
            raise absent from None
        self.lost = False

    def close(self) -> None:
        port, self.port = self.port, None
        if port is not None:
            try:
                port.close()
            except PORT_GONE:
                pass

    def absent(self, exc: BaseException | None = None) -> DeviceAbsent:
        """Drop the port after it failed; the error to raise."""
        self.lost = True
        port, self.port = self.port, None
        if port is not None:
            try:
                port.close()
            except Exception:  # the port is already gone; closing it is only tidying up
                pass
        return DeviceAbsent(device=self.device, port=self.url, reason=str(exc or "")[:80], os_error=os_error_text(exc))

    @property
    def usable(self) -> bool:
        return self.port is not None and not self.lost

    def require(self) -> serial.SerialBase:
        if self.port is None or self.lost:
            raise DeviceAbsent(device=self.device, port=self.url, reason="unplugged")
        return self.port

    def reset_input(self) -> None:
        port = self._port_or_absent()
        try:
            port.reset_input_buffer()
        except PORT_GONE as exc:
            raise self.absent(exc) from None

    def _port_or_absent(self) -> serial.SerialBase:
        port = self.port
        if port is None:
            raise DeviceAbsent(device=self.device, port=self.url, reason="unplugged")
        return port

    def _read(self, n: int) -> bytes:
        port = self._port_or_absent()
        try:
            return bytes(port.read(n))
        except PORT_GONE as exc:
            raise self.absent(exc) from None

    # -- packets -----------------------------------------------------------------------------------
    def send(self, pid: int, payload: bytes) -> None:
        port = self._port_or_absent()
        raw = encode_packet(self.address, pid, payload)
        self.log.record("tx", raw)
        try:
            port.write(raw)
            port.flush()
        except serial.SerialTimeoutException:
            raise DeviceTimeout(device=self.device, waited_s=self.timeout_s, received=0) from None
        except PORT_GONE as exc:
            raise self.absent(exc) from None

    def receive(self, *, quiet: bool = False, deadline: float | None = None) -> Packet:
        reader = PacketReader(self._read, device=self.device, timeout_s=self.timeout_s, log=self.log)
        try:
            packet = reader.read_packet(deadline=deadline, quiet=quiet)
        except DeviceProtocolError:
            # drop whatever else the garbage left behind so the next command starts clean
            if self.port is not None:
                self.reset_input()
            raise
        if packet.address != self.address:
            raise DeviceProtocolError("zfm.wrong_address", device=self.device, address=f"0x{packet.address:08x}")
        return packet

    def command(self, instruction: int, args: bytes = b"", *, check: bool = True) -> tuple[int, bytes]:
        """Send one command; return (confirmation code, rest of the acknowledge).

        With ``check`` a non-zero confirmation raises its typed error.
        """
        try:
            # a late reply to an earlier timed-out command must not be taken for this one's
            self.reset_input()
            self.send(Pid.COMMAND, bytes([instruction]) + args)
            ack = self.receive()
            if ack.pid != Pid.ACK or not ack.payload:
                raise DeviceProtocolError("zfm.expected_ack", device=self.device, pid=f"0x{ack.pid:02x}")
            code = ack.payload[0]
            if check and code != 0:
                raise confirmation_error(code, device=self.device, instruction=instruction)
        except DeviceError as exc:
            # the failed exchange stays in the log next to its bytes, for the technician
            self.log.failure(exc.technical())
            raise
        return code, ack.payload[1:]

    def receive_data(self, expected: int) -> bytes:
        """Data packets after an acknowledge, until the end packet, bounded by the packets, bytes
        and time ``expected`` bytes legitimately take at the port's baud rate (TransferBudget)."""
        budget = TransferBudget.for_transfer(expected, packet_size=self.packet_size, baudrate=self.baudrate,
                                             timeout_s=self.timeout_s)
        count = 0

        def next_packet(deadline: float) -> Packet:
            # log the first data packet and the end one: 288 image packets would flush the
            # command/acknowledge exchange a technician wants to read out of the ring
            nonlocal count
            count += 1
            packet = self.receive(quiet=count > 1, deadline=deadline)
            if packet.pid == Pid.END and count > 1:
                self.log.record("rx", encode_packet(packet.address, packet.pid, packet.payload))
            return packet

        try:
            return receive_transfer(next_packet, budget, device=self.device)
        except DeviceError as exc:
            self.log.failure(exc.technical())
            if self.port is not None and not isinstance(exc, DeviceAbsent):
                self.reset_input()  # the rest of a refused stream must not meet the next command
            raise

    def send_data(self, data: bytes) -> None:
        size = self.packet_size
        chunks = [data[i:i + size] for i in range(0, len(data), size)] or [b""]
        for i, chunk in enumerate(chunks):
            self.send(Pid.END if i == len(chunks) - 1 else Pid.DATA, chunk)
