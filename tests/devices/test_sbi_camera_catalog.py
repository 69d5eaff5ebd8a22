"""Every message code the SBI and camera drivers can raise or report has words in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kiosk.devices.sbi_device import STATUS_MAP
from kiosk.devices.sbi_wire import FAULT_REASONS
from kiosk.i18n import LANGUAGES, catalog

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "kiosk/devices/sbi.py", ROOT / "kiosk/devices/sbi_device.py", ROOT / "kiosk/devices/sbi_wire.py",
           ROOT / "kiosk/devices/sbi_iris.py", ROOT / "kiosk/devices/camera.py"]


def codes_in_sources() -> set[str]:
    codes: set[str] = set()
    for path in SOURCES:
        text = path.read_text()
        codes |= set(re.findall(r'"((?:sbi|camera)\.[a-z_]+)"', text))
        codes |= {f"device.fault.{r}" for r in re.findall(r'DeviceFault\(\s*"([a-z_]+)"', text)}
    codes |= {f"device.fault.{reason}" for reason in FAULT_REASONS.values()}
    codes |= {"device.fault.no_iris", "device.fault.sbi_vendor_error", "device.fault.sbi_error"}
    codes |= {reason for _, reason in STATUS_MAP.values() if reason}
    # "no_finger" is the shared fingerprint fault: its words come with the ZFM driver's catalog
    codes.discard("device.fault.no_finger")
    return codes


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_code_has_words(language: str) -> None:
    codes = codes_in_sources()
    assert len(codes) > 20  # the scan found the codes, not nothing
    missing = sorted(c for c in codes if c not in catalog(language))
    assert not missing, missing
