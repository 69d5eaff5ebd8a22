"""``kiosk devices`` and ``kiosk diag`` over a station config whose fingerprint sensor is the ZFM mock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.devices import discovery
from kiosk.devices.known_ids import lookup
from tests.conftest import BASE_CONFIG, run_kiosk

ZFM_MOCKED = """
[devices.jari]
driver = "zfm"
mock = "zfm"
timeout_s = 2.0
poll_interval_s = 0.01
"""

ZFM_MISSING = """
[devices.jari]
driver = "zfm"
port = "{port}"
timeout_s = 0.3
"""


def station(tmp_path: Path, devices: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(BASE_CONFIG + devices)
    return path


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["--lang", "en", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_devices_lists_the_configured_sensor_as_ready_and_what_is_attached(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_json(capsys, "--config", str(station(tmp_path, ZFM_MOCKED)), "devices")
    assert code == 0
    (row,) = out["configured"]
    assert (row["name"], row["kind"], row["state"], row["mock"]) == ("jari", "fingerprint", "ready", "zfm")
    assert set(out["attached"]) >= {"serial", "usb", "usb_note", "video"}


def test_diag_passes_every_step_and_shows_the_hexdump(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_json(capsys, "--config", str(station(tmp_path, ZFM_MOCKED)), "diag", "jari", "--hexdump")
    assert code == 0 and out["ok"]
    (dev,) = out["devices"]
    assert [s["step"] for s in dev["steps"]] == ["build", "open", "info", "self_test", "capture", "close"]
    assert all(s["ok"] and s["seconds"] >= 0 for s in dev["steps"])
    assert "256x288 px" in dev["steps"][4]["detail"]
    assert " tx ef 01 ff ff ff ff 01" in dev["hexdump"]


def test_diag_of_an_unplugged_sensor_fails_naming_it_and_what_to_do(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = station(tmp_path, ZFM_MISSING.format(port=tmp_path / "ttyUSB7"))
    code, out = run_json(capsys, "--config", str(cfg), "diag")
    assert code == 1 and not out["ok"]
    failed = out["devices"][0]["steps"][-1]
    assert failed["step"] == "open" and failed["code"] == "device.absent"
    assert "jari" in failed["message"] and "plug" in failed["message"]
    code, listing = run_json(capsys, "--config", str(cfg), "devices")
    assert code == 0 and listing["configured"][0]["state"] == "absent"


def test_diag_of_an_unknown_device_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", "en", "--config", str(station(tmp_path, ZFM_MOCKED)), "diag", "kamera"]) == 2
    assert "kamera" in capsys.readouterr().err


def test_devices_says_so_when_libusb_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import usb.core

    def no_backend(**kw: object) -> None:
        raise usb.core.NoBackendError("No backend available")

    monkeypatch.setattr(usb.core, "find", no_backend)
    assert main(["--lang", "en", "--config", str(station(tmp_path, "")), "devices"]) == 0
    assert "libusb is not installed" in capsys.readouterr().out
    found = discovery.attached()
    assert found.usb == () and found.usb_note == "diag.usb_no_backend"


def test_known_ids_name_adapters_and_vendors() -> None:
    assert "CP210x" in lookup(0x10C4, 0xEA60).name  # type: ignore[union-attr]
    assert lookup(0x056A, 0x00A8).kind == "signature"  # type: ignore[union-attr]  # any Wacom product
    assert lookup(0x0F49, 0x1234).kind == "printer"  # type: ignore[union-attr]
    assert lookup(0x1234, 0x5678) is None and lookup(None, None) is None


def test_kiosk_diag_command_line_exit_code_and_words(tmp_path: Path) -> None:
    proc = run_kiosk("--lang", "en", "--config", str(station(tmp_path, ZFM_MOCKED)), "diag", timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "All device checks passed." in proc.stdout
    assert "test capture" in proc.stdout
