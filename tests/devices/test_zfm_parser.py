"""Property tests: random and corrupted byte streams into the ZFM packet parser and the driver.

Whatever arrives, the result is a packet or a typed device error (DeviceTimeout,
DeviceProtocolError, DeviceFault) within the reply timeout: never a hang, never another exception.
"""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.devices.errors import DeviceError, DeviceFault, DeviceProtocolError, DeviceTimeout
from kiosk.devices.zfm import (
    IMAGE_BYTES,
    Packet,
    PacketReader,
    Pid,
    SystemParameters,
    ZfmFingerprintDriver,
    encode_packet,
)

REPLY_PIDS = st.sampled_from([int(Pid.ACK), int(Pid.DATA), int(Pid.END)])


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class ChunkedSource:
    """Hands out a byte stream in the given chunk sizes; when empty, time passes (a port timeout)."""

    def __init__(self, data: bytes, chunks: list[int], clock: FakeClock) -> None:
        self.data = data
        self.chunks = chunks or [7]
        self.clock = clock
        self.calls = 0

    def __call__(self, n: int) -> bytes:
        self.calls += 1
        if self.calls > 100_000:
            raise AssertionError("the reader keeps reading: it would hang")
        if not self.data:
            self.clock.now += 0.1
            return b""
        size = min(n, self.chunks[self.calls % len(self.chunks)] or 1)
        out, self.data = self.data[:size], self.data[size:]
        return out


def reader_for(data: bytes, chunks: list[int] | None = None) -> PacketReader:
    clock = FakeClock()
    return PacketReader(ChunkedSource(data, chunks or [], clock), device="jari", timeout_s=1.0, clock=clock)


@given(st.binary(max_size=600), st.lists(st.integers(1, 64), max_size=8))
def test_random_bytes_give_a_packet_or_a_typed_error(data: bytes, chunks: list[int]) -> None:
    try:
        packet = reader_for(data, chunks).read_packet()
    except (DeviceTimeout, DeviceProtocolError) as exc:
        assert exc.device == "jari"
    else:
        assert packet.pid in (Pid.ACK, Pid.DATA, Pid.END)


@given(st.integers(0, 0xFFFFFFFF), REPLY_PIDS, st.binary(max_size=256), st.lists(st.integers(1, 300), max_size=5))
def test_encoded_packets_parse_back_in_any_chunking(address: int, pid: int, payload: bytes, chunks: list[int]) -> None:
    raw = encode_packet(address, pid, payload)
    assert reader_for(raw, chunks).read_packet() == Packet(address, pid, payload)


@given(REPLY_PIDS, st.binary(min_size=1, max_size=256), st.data())
def test_any_flipped_byte_is_caught(pid: int, payload: bytes, data: st.DataObject) -> None:
    raw = bytearray(encode_packet(0xFFFFFFFF, pid, payload))
    # every byte but the address (which the reader hands up for the driver to check)
    index = data.draw(st.sampled_from([i for i in range(len(raw)) if not 2 <= i < 6]))
    raw[index] ^= data.draw(st.integers(1, 255))
    with pytest.raises((DeviceProtocolError, DeviceTimeout)):
        reader_for(bytes(raw)).read_packet()


@given(REPLY_PIDS, st.binary(max_size=256), st.integers(0, 260))
def test_truncated_packets_time_out(pid: int, payload: bytes, keep: int) -> None:
    raw = encode_packet(0xFFFFFFFF, pid, payload)
    keep = min(keep, len(raw) - 1)
    with pytest.raises(DeviceTimeout) as err:
        reader_for(raw[:keep]).read_packet()
    assert err.value.params["received"] == keep


@given(st.binary(max_size=40))
def test_system_parameters_parse_or_refuse(data: bytes) -> None:
    try:
        sys = SystemParameters.parse(data, device="jari")
    except DeviceProtocolError:
        return
    assert sys.packet_size in (32, 64, 128, 256)


class ScriptedPort:
    """A stand-in for serial.Serial whose replies are a scripted byte stream."""

    def __init__(self, script: bytes) -> None:
        self.script = script
        self.written = bytearray()
        self.is_open = True

    def read(self, n: int) -> bytes:
        if not self.script:
            time.sleep(0.001)  # a port's read timeout passing
            return b""
        out, self.script = self.script[:n], self.script[n:]
        return out

    def write(self, data: bytes) -> int:
        self.written += data
        return len(data)

    def flush(self) -> None:
        pass

    def reset_input_buffer(self) -> None:
        pass  # keep the script: the test decides what "arrives"

    def close(self) -> None:
        self.is_open = False


def driver_on(script: bytes) -> ZfmFingerprintDriver:
    d = ZfmFingerprintDriver("jari", ZfmFingerprintDriver.Params(port="loop://", timeout_s=0.02, poll_interval_s=0.0))
    # wire the scripted port in place of an opened serial port (open() itself talks to the device)
    d.link.port = ScriptedPort(script)  # type: ignore[assignment]
    d._open = True
    return d


def good_ack(code: int = 0, data: bytes = b"") -> bytes:
    return encode_packet(0xFFFFFFFF, Pid.ACK, bytes([code]) + data)


# streams that look like the start of a real exchange, then go wrong
STREAMS = st.one_of(
    st.binary(max_size=400),
    st.builds(lambda tail: good_ack() + tail, st.binary(max_size=400)),
    st.builds(lambda n, tail: good_ack() + encode_packet(0xFFFFFFFF, Pid.DATA, bytes(128)) * n + tail,
              st.integers(0, 4), st.binary(max_size=200)),
    st.builds(lambda code, tail: good_ack(code) + tail, st.integers(0, 255), st.binary(max_size=50)),
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(STREAMS, st.sampled_from(["capture", "up_image", "up_char", "sys_para", "template_count", "self_test"]))
def test_driver_meets_any_reply_with_a_typed_error_and_no_hang(script: bytes, call: str) -> None:
    d = driver_on(script)
    calls = {
        "capture": lambda: d.capture(timeout_s=0.05),
        "up_image": d.up_image,
        "up_char": lambda: d.up_char(1),
        "sys_para": d.read_system_parameters,
        "template_count": d.template_count,
        "self_test": d.self_test,
    }
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            calls[call]()
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - the test inspects what escaped
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(5.0)
    assert not worker.is_alive(), "the driver hung on a corrupted stream"
    exc = outcome[0]
    assert exc is None or isinstance(exc, DeviceError), repr(exc)
    if isinstance(exc, DeviceError):
        assert exc.device == "jari"


def test_short_image_upload_is_a_protocol_error() -> None:
    script = good_ack() + encode_packet(0xFFFFFFFF, Pid.END, bytes(100))
    with pytest.raises(DeviceProtocolError) as err:
        driver_on(script).up_image()
    assert err.value.params["expected"] == IMAGE_BYTES


def test_reply_from_another_address_is_a_protocol_error() -> None:
    with pytest.raises(DeviceProtocolError) as err:
        driver_on(encode_packet(0x01020304, Pid.ACK, b"\x00\x00\x01")).template_count()
    assert err.value.code == "zfm.wrong_address"


def test_confirmation_code_in_a_scripted_ack_becomes_its_fault() -> None:
    with pytest.raises(DeviceFault) as err:
        driver_on(good_ack(0x06)).img2tz(1)
    assert err.value.reason == "image_messy"
