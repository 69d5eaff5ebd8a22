"""Diagnostics that find the fault: the technician reads device, port and OS error; the operator
reads one short sentence; the exchange log keeps the failure, with readable times and decoded
packets; the port list shows the configured port; the words follow the station's language."""

from __future__ import annotations

import re
import termios
from pathlib import Path
from typing import Iterator

import pytest
import serial

from device_mocks.zfm import ZfmEmulator, ZfmMock
from kiosk.cli import main
from kiosk.devices.base import Device, Worded
from kiosk.devices.errors import DeviceAbsent, DeviceProtocolError, os_error_text
from kiosk.devices.zfm import ZfmFingerprintDriver
from kiosk.diagnostics.ports import configured_ports
from kiosk.diagnostics.runner import diagnose
from kiosk.diagnostics.words import detail_words, error_words
from kiosk.i18n import catalog, set_language
from tests.conftest import BASE_CONFIG, run_kiosk

READABLE_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} ")


class Devices:
    def __init__(self, **drivers: Device) -> None:
        self.drivers = drivers

    def get(self, name: str) -> Device:
        return self.drivers[name]

    def names(self) -> list[str]:
        return list(self.drivers)


@pytest.fixture
def mock(tmp_path: Path) -> Iterator[ZfmMock]:
    m = ZfmMock(ZfmEmulator(seed=8), tmp_path / "mock", control=False)
    yield m
    m.close()


@pytest.fixture
def english() -> Iterator[None]:
    set_language("en")
    yield
    set_language("id")


def zfm(port: str) -> ZfmFingerprintDriver:
    return ZfmFingerprintDriver("jari", ZfmFingerprintDriver.Params(port=port, timeout_s=2.0, poll_interval_s=0.01))


# -- errors in the technician's and the operator's terms ---------------------------------------
def test_os_error_is_named_by_errno_from_pyserial_and_termios_errors() -> None:
    assert os_error_text(serial.SerialException(2, "could not open port x: [Errno 2] ...")) == \
        "ENOENT: No such file or directory"
    assert os_error_text(termios.error(5, "Input/output error")) == "EIO: Input/output error"
    assert os_error_text(ValueError("no errno here")) == ""


def test_unplugged_sensor_names_device_port_and_os_error_for_the_technician_only(tmp_path: Path, english: None) -> None:
    port = str(tmp_path / "ttyUSB7")
    with pytest.raises(DeviceAbsent) as err:
        zfm(port).open()
    words = error_words(err.value, device="jari")
    assert words["technical"].startswith(f"jari @ {port}: device.absent")
    assert words["technical"].endswith("ENOENT: No such file or directory")
    # the operator's sentence stays short: no path, no errno, no code
    assert "jari" in words["message"] and port not in words["message"] and "ENOENT" not in words["message"]
    assert len(words["message"]) < 100


def test_kiosk_diag_shows_the_technician_line_for_a_pulled_cable(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(BASE_CONFIG + f'\n[devices.jari]\ndriver = "zfm"\nport = "{tmp_path}/ttyUSB7"\ntimeout_s = 0.3\n')
    proc = run_kiosk("--lang", "id", "--config", str(cfg), "diag", timeout=60)
    assert proc.returncode == 1
    assert f"rincian teknis: jari @ {tmp_path}/ttyUSB7: device.absent" in proc.stdout
    assert "ENOENT: No such file or directory" in proc.stdout


def test_a_driver_that_does_not_name_the_os_error_still_gets_it_from_the_cause(english: None) -> None:
    from kiosk.devices.hid_digitizer import HidDigitizerSignatureDriver

    try:
        try:
            raise OSError(19, "No such device")
        except OSError:
            raise DeviceAbsent(device="pad") from None
    except DeviceAbsent as exc:
        line = error_words(exc, device="pad", params=HidDigitizerSignatureDriver.Params(vendor_id=0x056A, product_id=0x00A8))
    assert line["technical"] == "pad @ USB 056a:00a8: device.absent; ENODEV: No such device"


# -- the exchange log ----------------------------------------------------------------------------
def test_exchange_log_keeps_the_failure_with_readable_times_and_decoded_packets(mock: ZfmMock) -> None:
    with zfm(mock.server.port) as d:
        mock.emulator.inject("bad_checksum", count=1)
        with pytest.raises(DeviceProtocolError):
            d.template_count()
        entries = d.log.hexdump().splitlines()
    assert all(READABLE_TIME.match(line) for line in entries), entries
    assert "| command VfyPwd(0x13) args 4" in entries[0]
    assert any("| ack 0x00 ok data 16" in line for line in entries)  # ReadSysPara's answer
    # the failed exchange is the last one: the command, the damaged answer, the failure
    assert "| command TemplateNum(0x1d)" in entries[-3]
    assert " rx ef 01 ff ff ff ff 07" in entries[-2]
    assert "!! zfm.bad_checksum" in entries[-1]


# -- ports -----------------------------------------------------------------------------------------
def test_port_list_shows_the_configured_ports_present_or_missing(mock: ZfmMock, tmp_path: Path) -> None:
    good = ZfmFingerprintDriver.Params(port=mock.server.port)
    missing = ZfmFingerprintDriver.Params(port=str(tmp_path / "ttyUSB9"))
    found, gone = configured_ports([("jari", good), ("cadangan", missing)])
    assert found.exists and found.resolves_to.startswith("/dev/pts/")
    assert not gone.exists and gone.os_error == "ENOENT: No such file or directory"


# -- words in the station's language ------------------------------------------------------------------
def test_indonesian_diagnostics_show_no_raw_codes_or_english_details(mock: ZfmMock) -> None:
    set_language("id")
    result = diagnose(Devices(jari=zfm(mock.server.port)), "jari", capture_timeout_s=10)
    assert result.ok, result.as_dict()
    text = "\n".join(s.detail for s in result.steps)
    assert "zfm.check" not in text and "zfm.detail" not in text
    for english_word in ("templates", "library", "bytes", "packet", " ok"):
        assert english_word not in text, (english_word, text)
    assert "Jabat tangan (kata sandi): baik (diterima)" in text and "templat tersimpan" in text and "piksel" in text


def test_worded_details_translate_and_plain_values_stay() -> None:
    set_language("id")
    assert detail_words(Worded("zfm.detail.templates", "3 templates", count=3)) == "3 templat tersimpan"
    assert detail_words("ZFM/R30x") == "ZFM/R30x"
    assert detail_words("device.busy") == catalog("id")["device.busy"]


def test_kiosk_diag_in_indonesian_on_a_simulated_sensor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(BASE_CONFIG + '\n[devices.jari]\ndriver = "zfm"\nmock = "zfm"\ntimeout_s = 2.0\npoll_interval_s = 0.01\n')
    assert main(["--lang", "id", "--config", str(cfg), "diag"]) == 0
    out = capsys.readouterr().out
    assert "Semua pemeriksaan perangkat lulus." in out
    assert not re.search(r"zfm\.(check|detail)|templates|non-black|cards None", out), out
