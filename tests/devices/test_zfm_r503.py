"""The ZFM family beyond the classic module: R503 product info and sizes, R503-era confirmation
codes, and bulk transfers bounded by what they can legitimately take on the wire.

The product-info sample is built field by field from brianrho/FPM ``src/fpm.h`` (MIT), the layout
its ``readProductInfo`` reads on an R503; the codes are the R503 user manual's (Hangzhou Grow v1.2).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from device_mocks.zfm import ZfmEmulator, ZfmMock
from device_mocks.zfm_firmware import FLOOD_PACKETS
from kiosk.devices.errors import DeviceError, DeviceFault, DeviceProtocolError, DeviceTimeout
from kiosk.devices.zfm import ZfmFingerprintDriver
from kiosk.devices.zfm_wire import (
    CLASSIC,
    Packet,
    Pid,
    ProductInfo,
    SensorGeometry,
    TransferBudget,
    confirmation_error,
    describe_packet,
    encode_packet,
    receive_transfer,
)
from kiosk.i18n import translate
from tests.devices.test_zfm_parser import ScriptedPort, good_ack

#: an R503's ReadProdInfo block as FPM's FPMProductInfo lays it out (big-endian words)
R503_PRODUCT_INFO = (b"R503".ljust(16, b"\0") + b"2301" + b"00001234" + bytes([1, 2]) + b"FPC1021\0"
                     + (192).to_bytes(2, "big") + (192).to_bytes(2, "big") + (1536).to_bytes(2, "big")
                     + (200).to_bytes(2, "big"))


def params(port: str, **kw: object) -> ZfmFingerprintDriver.Params:
    return ZfmFingerprintDriver.Params(port=port, **{"timeout_s": 2.0, "poll_interval_s": 0.01, **kw})  # type: ignore[arg-type]


@pytest.fixture
def r503(tmp_path: Path) -> Iterator[ZfmMock]:
    m = ZfmMock(ZfmEmulator(seed=4, model="r503"), tmp_path, control=False)
    yield m
    m.close()


@pytest.fixture
def classic(tmp_path: Path) -> Iterator[ZfmMock]:
    m = ZfmMock(ZfmEmulator(seed=4), tmp_path, control=False)
    yield m
    m.close()


# -- product info ------------------------------------------------------------------------------
def test_r503_product_info_parses_to_its_sizes() -> None:
    info = ProductInfo.parse(R503_PRODUCT_INFO, device="jari")
    assert (info.module_model, info.batch_number, info.serial_number) == ("R503", "2301", "00001234")
    assert (info.hardware_version, info.sensor_model) == ("1.2", "FPC1021")
    assert info.geometry == SensorGeometry(192, 192, 1536) and info.library_size == 200
    assert info.geometry.image_bytes == 192 * 192 // 2


@given(st.binary(max_size=80))
def test_product_info_parses_or_refuses_with_a_typed_error(data: bytes) -> None:
    try:
        info = ProductInfo.parse(data, device="jari")
    except DeviceProtocolError as exc:
        assert exc.code in ("zfm.short_reply", "zfm.bad_product_info")
    else:
        # sizes a peer reports can never make a transfer unbounded
        assert 0 < info.geometry.image_bytes <= 512 * 512 // 2 and 0 < info.template_bytes <= 4096


def test_driver_sizes_image_and_template_transfers_from_the_r503s_product_info(r503: ZfmMock) -> None:
    with ZfmFingerprintDriver("jari", params(r503.server.port)) as d:
        assert d.product is not None and d.product.module_model == "R503"
        assert d.geometry == SensorGeometry(192, 192, 1536)
        img = d.capture(timeout_s=2)
        assert img.pixels.shape == (192, 192) and img.metadata["bytes"] == 192 * 192 // 2
        d.img2tz(1)
        assert len(d.up_char(1)) == 1536
        result = d.self_test()
        assert result.passed, result.checks
        assert d.info().model.startswith("R503")
    assert 0x3C in r503.emulator.commands_seen


def test_classic_module_refusing_read_prod_info_keeps_the_classic_sizes(classic: ZfmMock) -> None:
    with ZfmFingerprintDriver("jari", params(classic.server.port)) as d:
        assert d.product is None and d.geometry == CLASSIC
        assert d.capture(timeout_s=2).pixels.shape == (288, 256)
        d.img2tz(1)
        assert len(d.up_char(1)) == 512


@pytest.mark.parametrize("refusal", [0x01, 0x19, 0xFC])
def test_any_not_supported_answer_to_read_prod_info_falls_back(refusal: int) -> None:
    d = ZfmFingerprintDriver("jari", ZfmFingerprintDriver.Params(port="loop://", timeout_s=0.05))
    d.link.port = ScriptedPort(good_ack(refusal))  # type: ignore[assignment]
    d._open = True
    assert d.read_product_info() is None


def test_a_module_ignoring_read_prod_info_falls_back_after_the_reply_timeout() -> None:
    d = ZfmFingerprintDriver("jari", ZfmFingerprintDriver.Params(port="loop://", timeout_s=0.05))
    d.link.port = ScriptedPort(b"")  # type: ignore[assignment]
    d._open = True
    assert d.read_product_info() is None


# -- R503-era confirmation codes ---------------------------------------------------------------
@pytest.mark.parametrize("code,reason", [(0x1F, "library_full"), (0x22, "template_empty"), (0x24, "library_empty"),
                                         (0x26, "sensor_timeout"), (0x27, "already_enrolled"),
                                         (0x29, "sensor_hardware"), (0xFC, "unsupported_command"),
                                         (0xFD, "hardware_error"), (0xFE, "command_failed")])
def test_r503_confirmation_codes_are_typed_faults_with_words_in_both_languages(code: int, reason: str) -> None:
    err = confirmation_error(code, device="jari", instruction=0x06)
    assert isinstance(err, DeviceFault) and err.reason == reason and err.params["instruction"] == "Store(0x06)"
    for lang in ("id", "en"):
        words = translate(err.code, lang, **err.params)
        assert words != err.code and "jari" in words or reason in ("already_enrolled",)


def test_packets_are_decoded_for_the_technician() -> None:
    assert describe_packet("tx", encode_packet(0xFFFFFFFF, Pid.COMMAND, b"\x0a")) == "command UpImage(0x0a) args 0"
    assert describe_packet("rx", good_ack(0x13)) == "ack 0x13 wrong_password data 0"
    assert describe_packet("rx", encode_packet(0xFFFFFFFF, Pid.DATA, bytes(128))) == "data 128 bytes"
    assert describe_packet("rx", b"\x00\x01") == "2 bytes, not a packet"


# -- transfers bounded by the wire -------------------------------------------------------------
def run_bounded(fn: object, limit_s: float = 20.0) -> tuple[BaseException | None, float]:
    """Run ``fn`` in a thread; (what it raised, seconds); fails the test if it is still running."""
    outcome: list[BaseException | None] = []
    started = time.monotonic()

    def run() -> None:
        try:
            fn()  # type: ignore[operator]
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - the test inspects what escaped
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(limit_s)
    assert not worker.is_alive(), "the transfer is still running: it is not bounded"
    return outcome[0], time.monotonic() - started


@pytest.mark.parametrize("fault", ["empty_packets", "tiny_packets"])
def test_a_peer_streaming_empty_or_one_byte_packets_is_refused_at_the_first_one(classic: ZfmMock, fault: str) -> None:
    with ZfmFingerprintDriver("jari", params(classic.server.port, timeout_s=2.0)) as d:
        assert d.gen_img()
        classic.emulator.inject(fault, count=1)
        exc, _ = run_bounded(d.up_image)
        assert isinstance(exc, DeviceProtocolError) and exc.code == "zfm.short_data_packet", exc
        assert exc.params["packet"] == 1 and exc.params["got"] in (0, 1)
        log = d.log.hexdump()
        assert "!! zfm.short_data_packet" in log and "command UpImage(0x0a)" in log
        # the rest of the refused stream is dropped: the next command works
        deadline = time.monotonic() + 60  # the flood is ~480 KB through a pty: slow on a loaded machine
        while True:
            try:
                assert d.template_count() == 0
                break
            except DeviceError:
                assert time.monotonic() < deadline, "the driver never recovered from the flood"


class EndlessPort(ScriptedPort):
    """A peer repeating one packet for ever."""

    def __init__(self, packet: bytes) -> None:
        super().__init__(b"")
        self.packet = packet
        self.offset = 0

    def read(self, n: int) -> bytes:
        stream = self.packet * (n // len(self.packet) + 2)
        out = stream[self.offset:self.offset + n]
        self.offset = (self.offset + n) % len(self.packet)
        return out


def endless(packet: bytes) -> ScriptedPort:
    return EndlessPort(packet)


def test_empty_packet_flood_through_a_scripted_port_stops_at_once() -> None:
    d = ZfmFingerprintDriver("jari", ZfmFingerprintDriver.Params(port="loop://", timeout_s=2.0))
    d.link.port = endless(encode_packet(0xFFFFFFFF, Pid.DATA, b""))  # type: ignore[assignment]
    d._open = True
    exc, took = run_bounded(lambda: d.link.receive_data(CLASSIC.image_bytes))
    assert isinstance(exc, DeviceProtocolError) and exc.code == "zfm.short_data_packet"
    assert took < 2.0  # well inside the single reply timeout, not 32 s


def test_full_packets_past_the_expected_count_are_refused() -> None:
    d = ZfmFingerprintDriver("jari", ZfmFingerprintDriver.Params(port="loop://", timeout_s=2.0))
    d.link.port = endless(encode_packet(0xFFFFFFFF, Pid.DATA, bytes(128)))  # type: ignore[assignment]
    d._open = True
    exc, _ = run_bounded(lambda: d.link.receive_data(512))
    assert isinstance(exc, DeviceProtocolError) and exc.code == "zfm.too_many_packets" and exc.params["limit"] == 4


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_peer_dripping_full_packets_runs_out_of_the_transfers_time() -> None:
    budget = TransferBudget.for_transfer(36864, packet_size=128, baudrate=57600, timeout_s=2.0)
    # 36864 bytes in 288 packets of 139 bytes at 57600 baud: 6.95 s on the wire
    assert budget.max_packets == 288 and budget.seconds == pytest.approx(2.0 + 1.5 * 288 * 139 * 10 / 57600)
    clock = Clock()
    sent = 0

    def drip(deadline: float) -> Packet:
        # each packet arrives just inside the single-reply timeout: no reply ever times out
        nonlocal sent
        clock.now += 1.9
        if clock.now >= deadline:
            raise DeviceTimeout(device="jari", waited_s=2.0, received=0)
        sent += 1
        return Packet(0xFFFFFFFF, Pid.DATA, bytes(128))

    with pytest.raises(DeviceTimeout) as err:
        receive_transfer(drip, budget, device="jari", clock=clock)
    assert err.value.code == "zfm.transfer_too_slow" and sent < 10
    assert err.value.params["received"] == sent * 128


def test_the_bound_leaves_a_real_upload_at_wire_speed_alone(tmp_path: Path) -> None:
    mock = ZfmMock(ZfmEmulator(seed=2, baudrate=115200, packet_size=256), tmp_path, wire_timing=True, control=False)
    try:
        with ZfmFingerprintDriver("jari", params(mock.server.port, baudrate=115200, timeout_s=2.0)) as d:
            assert d.gen_img()
            assert len(d.up_image()) == CLASSIC.image_bytes
    finally:
        mock.close()


def test_flood_fault_is_big_enough_to_have_held_the_old_driver() -> None:
    # 40,000 empty packets of 11 bytes: 440,000 bytes, the size of the 1-byte-packet stream
    assert FLOOD_PACKETS * 11 >= 440_000


PACKETS = st.lists(st.builds(lambda pid, n: Packet(0xFFFFFFFF, pid, bytes(n)),
                             st.sampled_from([int(Pid.DATA), int(Pid.END), int(Pid.ACK)]),
                             st.sampled_from([0, 1, 31, 32, 33, 64, 128, 256])), max_size=40)


@given(PACKETS, st.sampled_from([64, 512, 1536, 18432]), st.sampled_from([32, 64, 128, 256]))
def test_any_packet_stream_gives_the_data_or_a_typed_error_within_the_budget(
        packets: list[Packet], expected: int, size: int) -> None:
    budget = TransferBudget.for_transfer(expected, packet_size=size, baudrate=57600, timeout_s=1.0)
    clock = Clock()
    taken = 0

    def next_packet(deadline: float) -> Packet:
        nonlocal taken
        clock.now += 0.001
        if taken >= len(packets):  # the peer went quiet
            clock.now = deadline
            raise DeviceTimeout(device="jari", waited_s=1.0, received=0)
        taken += 1
        return packets[taken - 1]

    try:
        data = receive_transfer(next_packet, budget, device="jari", clock=clock)
    except (DeviceProtocolError, DeviceTimeout) as exc:
        assert exc.device == "jari"
    else:
        assert len(data) <= expected and packets[taken - 1].pid == Pid.END
        assert all(len(p.payload) == size for p in packets[:taken - 1])  # only the last may be short
    assert taken <= budget.max_packets
