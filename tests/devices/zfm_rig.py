"""The ZFM driver against its pty emulator, as a rig for the fingerprint contract suite."""

from __future__ import annotations

from pathlib import Path

from device_mocks.zfm import ZfmEmulator, ZfmMock
from kiosk.devices.zfm import ZfmFingerprintDriver


class ZfmRig:
    def __init__(self, tmp_path: Path) -> None:
        # no control socket: the suite drives the emulator in process
        self.mock = ZfmMock(ZfmEmulator(seed=5), tmp_path / "zfm", control=False)
        # the driver's default reply timeout: a synthetic GenImg can take 0.5 s on a loaded machine
        params = ZfmFingerprintDriver.Params(port=self.mock.server.port, timeout_s=2.0, poll_interval_s=0.01)
        self.driver = ZfmFingerprintDriver("sidik-jari", params)

    def finger_absent(self, absent: bool) -> None:
        if absent:
            self.mock.emulator.inject("no_finger")
        else:
            self.mock.emulator.clear()

    def unplug(self) -> None:
        self.mock.server.unplug()

    def replug(self) -> None:
        self.mock.server.replug()

    def close(self) -> None:
        self.mock.close()


def make_zfm_rig(tmp_path: Path) -> ZfmRig:
    return ZfmRig(tmp_path)
