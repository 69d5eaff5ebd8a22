"""deploy/: udev rules cover every USB id the drivers know; systemd units are hardened."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest

from kiosk.devices.known_ids import KNOWN_USB_IDS, describe

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULE_IDS = re.compile(r'ATTRS\{idVendor\}=="([0-9a-f]{4})"(?:.*?ATTRS\{idProduct\}=="([0-9a-f]{4})")?')


def rules() -> list[str]:
    text = (DEPLOY / "udev" / "99-kiosk.rules").read_text()
    return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def rule_ids() -> set[tuple[int, int | None]]:
    out = set()
    for line in rules():
        m = RULE_IDS.search(line)
        if m:
            out.add((int(m[1], 16), int(m[2], 16) if m[2] else None))
    return out


@pytest.mark.parametrize("ids", sorted(KNOWN_USB_IDS, key=str), ids=lambda i: f"{i[0]:04x}:{i[1] or 0:04x}")
def test_udev_rules_grant_the_kiosk_group_every_known_id(ids: tuple[int, int | None]) -> None:
    vendor, product = ids
    matching = [line for line in rules() if f'ATTRS{{idVendor}}=="{vendor:04x}"' in line
                and (product is None and "idProduct" not in line
                     or product is not None and f'ATTRS{{idProduct}}=="{product:04x}"' in line)]
    assert matching, f"no udev rule for {KNOWN_USB_IDS[ids]}"
    assert all('GROUP="kiosk"' in line and 'MODE="0660"' in line for line in matching)


def test_udev_rules_name_no_unknown_device() -> None:
    assert rule_ids() <= set(KNOWN_USB_IDS)


def test_cameras_are_left_to_the_video_group() -> None:
    assert any('SUBSYSTEM=="video4linux"' in line and 'GROUP="video"' in line for line in rules())


def test_known_ids_cover_the_brief_and_describe_vendor_wide_entries() -> None:
    assert {(0x10C4, 0xEA60), (0x1A86, 0x7523), (0x0403, 0x6001), (0x067B, 0x2303), (0x056A, 0x00A5),
            (0x056A, 0x00A4), (0x056A, 0x00A8), (0x0F49, None)} <= set(KNOWN_USB_IDS)
    assert describe(0x0F49, 0x1234) == "Evolis card printer"
    assert describe(0x056A, 0x00A8) == "Wacom STU-540 signature pad"
    assert describe(0x056A, 0x0001) == "Wacom (signature pad / tablet)"
    assert describe(0x1234, 0x0001) is None


def unit(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / "systemd" / name).read_text())
    return parser


@pytest.mark.parametrize("name, command", [("kiosk-sync.service", "kiosk sync"), ("kiosk-ui@.service", "kiosk")])
def test_units_run_unprivileged_and_hardened(name: str, command: str) -> None:
    service = unit(name)["Service"]
    assert service["User"] == "kiosk" and service["ExecStart"].endswith("/bin/" + command)
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                       "PrivateTmp": "yes", "UMask": "0077", "CapabilityBoundingSet": ""}.items():
        assert service.get(key) == value, key
    # the only writable places are the ones systemd creates for the service, private
    assert service["StateDirectory"] == "kiosk" and service["StateDirectoryMode"] == "0700"
    assert "ReadWritePaths" not in service


def test_ui_unit_owns_its_console() -> None:
    u = unit("kiosk-ui@.service")
    assert u["Service"]["TTYPath"] == "/dev/%I" and u["Service"]["StandardInput"] == "tty"
    assert "getty@%i.service" in u["Unit"]["Conflicts"]
