"""The SBI driver against the SBI device service emulator, as a rig for the fingerprint contract
suite (tests/devices/contract_fingerprint.py: add ``"sbi": "tests.devices.sbi_rig:make_sbi_rig"``
to its RIGS)."""

from __future__ import annotations

from pathlib import Path

from device_mocks.sbi import SbiDeviceService
from kiosk.devices.sbi import SbiFingerprintDriver


class SbiRig:
    def __init__(self, tmp_path: Path) -> None:
        self.service = SbiDeviceService(tmp_path / "sbi", seed=5)
        params = SbiFingerprintDriver.Params(trusted_cert=self.service.cert_path, port=self.service.port,
                                             request_timeout_s=2.0, device_id=self.service.device_id)
        self.driver = SbiFingerprintDriver("sidik-jari-sbi", params)

    def finger_absent(self, absent: bool) -> None:
        self.service.fault = "no_finger" if absent else None

    def unplug(self) -> None:
        self.service.unplug()

    def replug(self) -> None:
        self.service.plug()

    def close(self) -> None:
        self.service.close()


def make_sbi_rig(tmp_path: Path) -> SbiRig:
    return SbiRig(tmp_path)
