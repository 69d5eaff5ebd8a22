"""The ZFM emulator is faithful: an independent protocol client drives it over the pty."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from device_mocks.zfm import ZfmEmulator, ZfmMock, send_control, start_for_station
from tests.devices.zfm_reference_client import ADDR, CMD, RefClient, RefError, frame

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def mock(tmp_path: Path) -> Iterator[ZfmMock]:
    m = ZfmMock(ZfmEmulator(seed=3), tmp_path)
    yield m
    m.close()


@pytest.fixture
def ref(mock: ZfmMock) -> Iterator[RefClient]:
    with RefClient(mock.server.port, timeout=1.0) as client:
        yield client


def test_handshake_accepts_default_password_and_refuses_another(ref: RefClient) -> None:
    assert ref.vfy_pwd(0) == 0x00
    assert ref.vfy_pwd(0x1234) == 0x13


def test_nondefault_password_must_be_verified_before_other_commands(tmp_path: Path) -> None:
    m = ZfmMock(ZfmEmulator(password=0xCAFE), tmp_path)
    try:
        with RefClient(m.server.port) as ref:
            assert ref.ask(0x1D)[0] == 0x21
            assert ref.vfy_pwd(0xCAFE) == 0
            assert ref.template_num() == 0
    finally:
        m.close()


def test_system_parameters_are_factory_defaults(ref: RefClient) -> None:
    p = ref.read_sys_para()
    assert p["address"] == ADDR
    assert p["packet_size"] == 128
    assert p["baud"] == 57600
    assert p["capacity"] == 1000


def test_image_upload_is_256x288_4bpp_in_packet_size_chunks(ref: RefClient) -> None:
    assert ref.gen_img() == 0
    code, data, sizes = ref.up_image()
    assert code == 0
    assert len(data) == 256 * 288 // 2
    assert sizes == [128] * (len(data) // 128)
    # a finger image: dark ridges and white background are both there
    nibbles = np.frombuffer(data, np.uint8) >> 4
    assert nibbles.min() <= 3 and nibbles.max() == 15


def test_upimage_before_any_capture_is_refused(ref: RefClient) -> None:
    assert ref.up_image()[0] == 0x0F


def test_enroll_store_search_and_count_the_library(ref: RefClient) -> None:
    for buf in (1, 2):
        assert ref.gen_img() == 0
        assert ref.img2tz(buf) == 0
    assert ref.reg_model() == 0
    assert ref.store(1, 7) == 0
    assert ref.template_num() == 1
    assert ref.search(1, 0, 1000)[:2] == (0, 7)
    assert ref.store(1, 5000) == 0x0B
    assert ref.delete(7, 1) == 0
    assert ref.search(1, 0, 1000)[0] == 0x09
    assert ref.store(1, 1) == 0 and ref.empty() == 0 and ref.template_num() == 0


def test_template_download_and_upload_round_trip(ref: RefClient) -> None:
    blob = bytes(range(256)) * 2
    assert ref.down_char(2, blob, 128) == 0
    code, back = ref.up_char(2)
    assert code == 0 and back == blob
    assert ref.up_char(1)[0] == 0x0D  # nothing in buffer 1 yet
    assert ref.load_char(1, 3) == 0x0C  # empty page


def test_corrupted_command_is_answered_with_receive_error(ref: RefClient) -> None:
    bad = bytearray(frame(CMD, b"\x1d"))
    bad[-1] ^= 0xFF
    ref.raw_write(bytes(bad))
    pid, body = ref.receive()
    assert pid == 0x07 and body[0] == 0x01


def test_leading_noise_is_skipped_like_the_module_does(ref: RefClient) -> None:
    ref.raw_write(b"\x00\x13\xef\x99" + frame(CMD, b"\x1d"))
    pid, body = ref.receive()
    assert body[0] == 0 and body[1:3] == b"\x00\x00"


def test_packets_for_another_address_are_ignored(ref: RefClient) -> None:
    ref.raw_write(frame(CMD, b"\x1d", addr=0x12345678))
    with pytest.raises(RefError, match="timeout"):
        ref.timeout = 0.2
        ref.receive()


def test_faults_no_finger_messy_checksum_garbage_silence(mock: ZfmMock, ref: RefClient) -> None:
    mock.emulator.inject("no_finger", 2)
    assert [ref.gen_img() for _ in range(3)] == [0x02, 0x02, 0x00]
    mock.emulator.inject("image_messy", 1)
    assert ref.img2tz(1) == 0x06
    mock.emulator.inject("wrong_password", 1)
    assert ref.vfy_pwd(0) == 0x13
    mock.emulator.inject("bad_checksum", 1)
    with pytest.raises(RefError, match="checksum"):
        ref.template_num()
    mock.emulator.inject("garbage", 1)
    with pytest.raises(RefError):
        ref.template_num()
    ref.timeout = 0.2
    mock.emulator.inject("silence", 1)
    with pytest.raises(RefError, match="timeout"):
        ref.template_num()
    ref.timeout = 10.0  # the short wait was for the silence; a loaded machine answers slowly
    assert ref.template_num() == 0


def test_unplug_closes_the_port_and_replug_serves_at_the_same_path(mock: ZfmMock) -> None:
    port = mock.server.port
    ref = RefClient(port)
    mock.server.unplug()
    assert not os.path.exists(port)
    with pytest.raises(OSError):
        for _ in range(3):
            ref.raw_write(frame(CMD, b"\x1d"))
            ref.receive()
    ref.close()
    mock.server.replug()
    with RefClient(port) as again:
        assert again.template_num() == 0


def test_control_socket_injects_faults_and_unplugs(mock: ZfmMock, ref: RefClient) -> None:
    assert mock.control_path is not None
    assert send_control(mock.control_path, "fault no_finger 1")["faults"] == {"no_finger": 1}
    assert ref.gen_img() == 0x02
    assert send_control(mock.control_path, "unplug")["plugged"] is False
    assert send_control(mock.control_path, "replug")["plugged"] is True
    assert send_control(mock.control_path, "bogus")["ok"] is False


def test_start_for_station_follows_the_driver_table(tmp_path: Path) -> None:
    handle = start_for_station({"packet_size": 64, "baudrate": 115200}, tmp_path)
    try:
        with RefClient(handle.overrides["port"]) as ref:
            p = ref.read_sys_para()
            assert (p["packet_size"], p["baud"]) == (64, 115200)
    finally:
        handle.close()


def test_runs_alone_and_prints_the_port_first(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "device_mocks.zfm", "--workdir", str(tmp_path)],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()
        assert proc.stdout.readline().startswith("control: ")
        with RefClient(port, timeout=10.0) as ref:  # a freshly started process on a loaded machine
            assert ref.vfy_pwd(0) == 0
    finally:
        proc.terminate()
        proc.wait(10)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=12), st.sampled_from([b"\x1d", b"\x0f", b"\x13\0\0\0\0"]))
def test_emulator_survives_any_byte_stream_and_answers_only_well_formed_packets(chunks: list[bytes],
                                                                               command: bytes) -> None:
    emu = ZfmEmulator()
    replies = [r for chunk in chunks for r in emu.feed(chunk)]
    # whatever came before, a clean command still gets its acknowledge once the noise is flushed
    # (a partial packet in the noise may swallow the start of it, as on the real module)
    replies += emu.feed(frame(CMD, command))
    replies += emu.feed(b"\0" * 300 + frame(CMD, command))
    for r in replies:
        assert r[:2] == b"\xef\x01" and r[2:6] == b"\xff\xff\xff\xff"
        size = int.from_bytes(r[7:9], "big")
        assert len(r) == 9 + size
        assert int.from_bytes(r[-2:], "big") == (r[6] + r[7] + r[8] + sum(r[9:-2])) & 0xFFFF
    assert replies and replies[-1][6] == 0x07


def test_a_restarted_station_mock_goes_on_with_new_fingers(tmp_path: Path) -> None:
    """The same fingers after a restart would be a resident already enrolled: the central holds
    the next resident as a duplicate (seen in the simulated station after a restart)."""
    first = start_for_station({}, tmp_path)
    try:
        with RefClient(first.overrides["port"]) as ref:
            assert ref.gen_img() == 0x00 and ref.gen_img() == 0x00
        before = first.emulator.captures
    finally:
        first.close()
    again = start_for_station({}, tmp_path)
    try:
        assert again.emulator.captures == before == 2
        with RefClient(again.overrides["port"]) as ref:
            assert ref.gen_img() == 0x00
        assert again.emulator.finger == 3  # the third finger of the station's life, not the first again
    finally:
        again.close()
