"""deploy/ follows the conventions of the hardware daemons next to it (issue 15): Type=notify
with a watchdog, State/LogsDirectory with modes, a sysusers.d user, an EnvironmentFile, hwdb
entries like libfprint's; an installed kiosk finds /etc/kiosk/config.toml by default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kiosk import config as config_module
from kiosk.devices.known_ids import KNOWN_USB_IDS
from kiosk.ops.logs import station_log_dir
from tests.ops.test_deploy import DEPLOY, unit

UNITS = ["kiosk-sync.service", "kiosk-ui@.service"]


@pytest.mark.parametrize("name", UNITS)
def test_units_are_notify_services_with_a_watchdog(name: str) -> None:
    service = unit(name)["Service"]
    assert service["Type"] == "notify" and service["NotifyAccess"] == "main"
    assert int(service["WatchdogSec"]) > 0


@pytest.mark.parametrize("name", UNITS)
def test_units_get_private_state_and_log_folders_and_an_environment_file(name: str) -> None:
    service = unit(name)["Service"]
    assert (service["StateDirectory"], service["StateDirectoryMode"]) == ("kiosk", "0700")
    assert (service["LogsDirectory"], service["LogsDirectoryMode"]) == ("kiosk", "0700")
    assert service["EnvironmentFile"] == "-/etc/default/kiosk"
    env = (DEPLOY / "default" / "kiosk").read_text()
    assert re.search(r"^KIOSK_CONFIG=/etc/kiosk/config.toml$", env, re.M)


def test_sysusers_creates_the_kiosk_user_with_its_device_groups() -> None:
    lines = [ln.split() for ln in (DEPLOY / "sysusers.d" / "kiosk.conf").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert lines[0][:3] == ["u", "kiosk", "-"] and lines[0][-1] == "/var/lib/kiosk"
    assert {("m", "kiosk", "video"), ("m", "kiosk", "dialout")} <= {tuple(ln) for ln in lines}


def hwdb_matches() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    current: list[str] = []
    for line in (DEPLOY / "udev" / "60-kiosk.hwdb").read_text().splitlines():
        if line.startswith("usb:"):
            current = out.setdefault(line, [])
        elif line.startswith(" "):
            current.append(line.strip())
    return out


def test_hwdb_marks_every_known_id_in_libfprints_form() -> None:
    matches = hwdb_matches()
    want = {f"usb:v{v:04X}p{p:04X}*" if p is not None else f"usb:v{v:04X}p*" for v, p in KNOWN_USB_IDS}
    assert set(matches) == want
    assert all(props == ["ID_KIOSK_DEVICE=1", "ID_PERSIST=0"] for props in matches.values())


def test_rules_keep_hwdb_marked_devices_powered() -> None:
    text = (DEPLOY / "udev" / "99-kiosk.rules").read_text()
    assert 'ENV{ID_KIOSK_DEVICE}=="1"' in text and 'ATTR{power/control}="on"' in text


def test_guide_lists_the_system_packages() -> None:
    guide = (DEPLOY / "README.md").read_text()
    for package in ("libusb-1.0-0", "python3-venv", "cups", "systemd", "udev"):
        assert package in guide


def test_an_installed_kiosk_reads_etc_kiosk_by_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KIOSK_CONFIG", raising=False)
    # site-packages: no pyproject.toml next to the package
    monkeypatch.setattr(config_module, "DEFAULT_CONFIG", tmp_path / "site-packages" / "config.toml")
    assert config_module.default_config_path() == Path("/etc/kiosk/config.toml")
    monkeypatch.setenv("KIOSK_CONFIG", "/srv/station.toml")
    assert config_module.default_config_path() == Path("/srv/station.toml")


def test_a_source_checkout_reads_its_own_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KIOSK_CONFIG", raising=False)
    assert config_module.default_config_path() == config_module.DEFAULT_CONFIG


def test_the_log_goes_to_systemds_logs_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LOGS_DIRECTORY", raising=False)
    assert station_log_dir(tmp_path) == tmp_path / "logs"
    monkeypatch.setenv("LOGS_DIRECTORY", "/var/log/kiosk")
    assert station_log_dir(tmp_path) == Path("/var/log/kiosk")
