"""ZFM driver specifics beyond the fingerprint contract: codes, transport URLs, LED, busy, timing."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from device_mocks.fingerprints import FingerprintGenerator
from device_mocks.zfm import ZfmEmulator, ZfmMock, pack_4bpp
from kiosk.devices.errors import DeviceAbsent, DeviceBusy, DeviceFault, DeviceProtocolError
from kiosk.devices.zfm import (
    CONFIRMATION_REASONS,
    IMAGE_BYTES,
    ZfmFingerprintDriver,
    confirmation_error,
    unpack_image,
)
from kiosk.i18n import catalog

DRIVER_SOURCES = [Path(__file__).resolve().parents[2] / "kiosk" / "devices" / n for n in ("zfm.py", "zfm_wire.py")]


def params(port: str, **kw: object) -> ZfmFingerprintDriver.Params:
    # the driver's default reply timeout: the emulator's synthetic GenImg takes ~0.1 s, several times that on a loaded machine
    return ZfmFingerprintDriver.Params(port=port, **{"timeout_s": 2.0, "poll_interval_s": 0.01, **kw})  # type: ignore[arg-type]


@pytest.fixture
def mock(tmp_path: Path) -> Iterator[ZfmMock]:
    m = ZfmMock(ZfmEmulator(seed=9), tmp_path, control=False)
    yield m
    m.close()


@pytest.mark.parametrize("language", ["en", "id"])
def test_every_confirmation_code_and_protocol_error_has_words(language: str) -> None:
    words = catalog(language)
    for reason in [*CONFIRMATION_REASONS.values(), "unknown_code"]:
        assert f"device.fault.{reason}" in words
    for code in {c for src in DRIVER_SOURCES for c in re.findall(r'"(zfm\.[a-z_.]+)"', src.read_text())}:
        assert code in words, code


def test_confirmation_codes_map_to_typed_errors() -> None:
    assert isinstance(confirmation_error(0x01, device="j", instruction=1), DeviceProtocolError)
    err = confirmation_error(0x13, device="j", instruction=0x13)
    assert isinstance(err, DeviceFault) and err.reason == "wrong_password" and err.params["code"] == "0x13"
    unknown = confirmation_error(0xEE, device="j", instruction=1)
    assert isinstance(unknown, DeviceFault) and unknown.reason == "unknown_code"


def test_unpack_image_reverses_the_4bpp_packing() -> None:
    img = FingerprintGenerator(4).impression(4, 0)
    back = unpack_image(pack_4bpp(img))
    assert back.shape == (288, 256)
    assert np.array_equal(back, (img >> 4) * 17)


def test_missing_port_is_device_absent_naming_the_device(tmp_path: Path) -> None:
    d = ZfmFingerprintDriver("jari", params(str(tmp_path / "ttyUSB9")))
    with pytest.raises(DeviceAbsent) as err:
        d.open()
    assert err.value.device == "jari" and not d.is_open


def test_loop_url_echo_is_refused_as_a_protocol_error() -> None:
    d = ZfmFingerprintDriver("jari", params("loop://"))
    with pytest.raises(DeviceProtocolError) as err:
        d.open()
    assert err.value.code == "zfm.bad_packet_id"  # our own command came back, not an ack
    assert not d.is_open


def test_spy_url_hexdumps_the_traffic(mock: ZfmMock, tmp_path: Path) -> None:
    dump = tmp_path / "spy.txt"
    with ZfmFingerprintDriver("jari", params(f"spy://{mock.server.port}?file={dump}")) as d:
        d.info()
    text = dump.read_text()
    assert "TX   0000  EF 01 FF FF FF FF 01" in text.upper()  # a command went out
    assert "RX   0000  EF 01 FF FF FF FF 07" in text.upper()  # and its acknowledge came back


def test_protocol_log_keeps_the_last_exchange(mock: ZfmMock) -> None:
    with ZfmFingerprintDriver("jari", params(mock.server.port)) as d:
        d.template_count()
        lines = d.last_exchange().splitlines()
    assert " tx ef 01 ff ff ff ff 01 00 03 1d 00 21" in lines[-2]
    assert " rx ef 01 ff ff ff ff 07 00 05 00 00 00 00 0c" in lines[-1]


def test_wrong_password_at_open_is_a_fault_and_leaves_it_closed(tmp_path: Path) -> None:
    m = ZfmMock(ZfmEmulator(password=0x1234), tmp_path, control=False)
    try:
        d = ZfmFingerprintDriver("jari", params(m.server.port, password=0x9999))
        with pytest.raises(DeviceFault) as err:
            d.open()
        assert err.value.reason == "wrong_password" and not d.is_open
        with ZfmFingerprintDriver("jari", params(m.server.port, password=0x1234)) as ok:
            assert ok.template_count() == 0
    finally:
        m.close()


def test_packet_size_mismatch_fails_self_test_but_capture_follows_the_module(tmp_path: Path) -> None:
    m = ZfmMock(ZfmEmulator(packet_size=64), tmp_path, control=False)
    try:
        with ZfmFingerprintDriver("jari", params(m.server.port, packet_size=128)) as d:
            result = d.self_test()
            assert not result.passed
            assert [c for c, ok, _ in result.checks if not ok] == ["zfm.check.parameters"]
            assert d.capture(timeout_s=2).metadata["bytes"] == IMAGE_BYTES
    finally:
        m.close()


def test_no_finger_polls_until_the_finger_arrives(mock: ZfmMock) -> None:
    mock.emulator.inject("no_finger", 5)
    with ZfmFingerprintDriver("jari", params(mock.server.port)) as d:
        img = d.capture(timeout_s=5)
    assert img.pixels.shape == (288, 256)
    assert mock.emulator.commands_seen.count(0x01) == 6


def test_enroll_and_store_through_the_driver(mock: ZfmMock) -> None:
    with ZfmFingerprintDriver("jari", params(mock.server.port)) as d:
        for buf in (1, 2):
            d.capture(timeout_s=2)
            d.img2tz(buf)
        d.reg_model()
        d.store(1, 3)
        assert d.template_count() == 1
        assert len(d.up_char(1)) == 512
        d.empty()
        assert d.template_count() == 0
        with pytest.raises(DeviceFault) as err:
            d.load_char(1, 3)
        assert err.value.reason == "template_read_failed"


@pytest.mark.parametrize("led", ["aura", "onoff"])
def test_led_is_lit_during_capture_and_off_after(mock: ZfmMock, led: str) -> None:
    seen: list[bool] = []
    original = mock.emulator._command

    def spy(code: int, args: bytes) -> list[bytes]:
        if code == 0x01:
            seen.append(mock.emulator.led_on)
        return original(code, args)

    mock.emulator._command = spy  # type: ignore[method-assign]
    with ZfmFingerprintDriver("jari", params(mock.server.port, led=led)) as d:
        d.capture(timeout_s=2)
    assert seen == [True]
    assert mock.emulator.led_on is False


def test_second_call_during_a_capture_is_busy(mock: ZfmMock) -> None:
    mock.emulator.inject("no_finger")
    with ZfmFingerprintDriver("jari", params(mock.server.port)) as d:
        cancel = threading.Event()
        worker = threading.Thread(target=lambda: pytest.raises(Exception, d.capture, timeout_s=5, cancel=cancel))
        worker.start()
        time.sleep(0.1)
        with pytest.raises(DeviceBusy):
            d.info()
        assert d.status().state == "busy"
        cancel.set()
        worker.join()


def test_bad_checksum_and_garbage_are_protocol_errors_and_the_next_call_recovers(mock: ZfmMock) -> None:
    with ZfmFingerprintDriver("jari", params(mock.server.port)) as d:
        for fault, code in (("bad_checksum", "zfm.bad_checksum"), ("garbage", "zfm.garbage")):
            mock.emulator.inject(fault, 1)
            with pytest.raises(DeviceProtocolError) as err:
                d.template_count()
            assert err.value.code == code
            assert d.template_count() == 0


def test_wire_timing_makes_the_upload_take_at_least_the_wire_time(tmp_path: Path) -> None:
    baud = 921600
    m = ZfmMock(ZfmEmulator(baudrate=baud, packet_size=256), tmp_path, wire_timing=True, control=False)
    try:
        with ZfmFingerprintDriver("jari", params(m.server.port, baudrate=baud, packet_size=256)) as d:
            img = d.capture(timeout_s=5)
        wire_bytes = 12 + (IMAGE_BYTES // 256) * (256 + 11)
        assert img.metadata["upload_s"] >= wire_bytes * 10 / baud * 0.95
    finally:
        m.close()
