"""Two independent client libraries drive our ZFM emulator over its pty, as they would a module:
pyfingerprint 1.5 (opens the port path itself with pyserial) and Adafruit's
adafruit-circuitpython-fingerprint 2.2 (through Blinka, given a UART-like object).

Neither library was written with our driver or mock in mind, so what they accept is what a
real module's answers look like to the field's clients. Their behaviour is as their sources show:
pyfingerprint's ``downloadImage`` builds a 256x288 PIL image from the data packets; Adafruit's
``get_fpdata`` returns the payload bytes of every data packet up to the end packet.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest
import serial

from device_mocks.zfm import ZfmEmulator, ZfmMock

# Blinka detects the board it runs on; on a plain PC it needs to be told (its documented override)
os.environ.setdefault("BLINKA_FORCECHIP", "GENERIC_X86")
os.environ.setdefault("BLINKA_FORCEBOARD", "GENERIC_LINUX_PC")

import adafruit_fingerprint  # noqa: E402 - after the Blinka board override above
from pyfingerprint import pyfingerprint  # noqa: E402


@pytest.fixture
def classic(tmp_path: Path) -> Iterator[ZfmMock]:
    m = ZfmMock(ZfmEmulator(seed=6), tmp_path, control=False)
    yield m
    m.close()


@pytest.fixture
def r503(tmp_path: Path) -> Iterator[ZfmMock]:
    m = ZfmMock(ZfmEmulator(seed=6, model="r503"), tmp_path, control=False)
    yield m
    m.close()


class PySerialUart:
    """The part of CircuitPython's ``busio.UART`` the Adafruit library uses, over pyserial:
    ``read(n)`` returns up to n bytes (None when nothing came before the timeout), ``write``,
    ``reset_input_buffer``."""

    def __init__(self, port: str, baudrate: int = 57600, timeout: float = 2.0) -> None:
        self._serial = serial.Serial(port, baudrate=baudrate, timeout=timeout)

    def read(self, nbytes: int | None = None) -> bytes | None:
        data = self._serial.read(nbytes or 1)
        return bytes(data) if data else None

    def write(self, buf: bytes | bytearray | list[int]) -> int | None:
        return self._serial.write(bytes(buf))

    def reset_input_buffer(self) -> None:
        self._serial.reset_input_buffer()

    def close(self) -> None:
        self._serial.close()


# -- pyfingerprint ------------------------------------------------------------------------------
def test_pyfingerprint_enrolls_stores_and_finds_a_finger(classic: ZfmMock) -> None:
    f = pyfingerprint.PyFingerprint(classic.server.port, 57600, 0xFFFFFFFF, 0x00000000)
    assert f.verifyPassword()
    status, system_id, capacity, level, address, packet_code, baud_code = f.getSystemParameters()
    assert (capacity, address, packet_code, baud_code) == (1000, 0xFFFFFFFF, 2, 6)
    assert f.getTemplateCount() == 0
    assert f.readImage()
    f.convertImage(0x01)
    assert f.readImage()
    f.convertImage(0x02)
    assert f.compareCharacteristics() > 0
    assert f.createTemplate()
    position = f.storeTemplate()
    assert position == 0 and f.getTemplateCount() == 1
    assert f.readImage()
    f.convertImage(0x01)
    assert f.searchTemplate()[0] == position


def test_pyfingerprint_downloads_a_256x288_image_and_a_template_round_trip(classic: ZfmMock, tmp_path: Path) -> None:
    from PIL import Image

    f = pyfingerprint.PyFingerprint(classic.server.port, 57600, 0xFFFFFFFF, 0x00000000)
    assert f.verifyPassword() and f.readImage()
    f.downloadImage(str(tmp_path / "finger.bmp"))
    with Image.open(tmp_path / "finger.bmp") as img:
        assert img.size == (256, 288) and img.getextrema()[1] - img.getextrema()[0] > 64
    f.convertImage(0x01)
    template = f.downloadCharacteristics(0x01)
    assert len(template) == 512
    assert f.uploadCharacteristics(0x02, template)
    assert f.downloadCharacteristics(0x02) == template


# -- Adafruit CircuitPython (through Blinka) ----------------------------------------------------
def test_adafruit_reads_parameters_captures_and_uploads_a_classic_image(classic: ZfmMock) -> None:
    uart = PySerialUart(classic.server.port)
    try:
        finger = adafruit_fingerprint.Adafruit_Fingerprint(uart)  # verifies the password, reads the parameters
        assert (finger.library_size, finger.data_packet_size, finger.baudrate) == (1000, 2, 6)
        assert finger.count_templates() == adafruit_fingerprint.OK and finger.template_count == 0
        assert finger.get_image() == adafruit_fingerprint.OK
        assert len(finger.get_fpdata("image")) == 256 * 288 // 2
        assert finger.image_2_tz(1) == adafruit_fingerprint.OK
        template = finger.get_fpdata("char", 1)
        assert len(template) == 512
        finger.send_fpdata(template, "char", 2)
        assert finger.compare_templates() == adafruit_fingerprint.OK
    finally:
        uart.close()


def test_adafruit_sees_the_r503s_sizes_and_lights_its_aura_led(r503: ZfmMock) -> None:
    uart = PySerialUart(r503.server.port)
    try:
        finger = adafruit_fingerprint.Adafruit_Fingerprint(uart)
        assert finger.library_size == 200
        assert finger.set_led(color=2, mode=3) == adafruit_fingerprint.OK
        assert r503.emulator.led_on
        assert finger.get_image() == adafruit_fingerprint.OK
        assert len(finger.get_fpdata("image")) == 192 * 192 // 2
        assert finger.image_2_tz(1) == adafruit_fingerprint.OK
        assert len(finger.get_fpdata("char", 1)) == 1536
    finally:
        uart.close()
