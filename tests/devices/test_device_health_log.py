"""Device loss and recovery reach the station log: one line when a device goes, one when it
comes back, however often it is asked in between (issue 15, "Logs and the service")."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.devices.base import DeviceState, health_log
from kiosk.devices.errors import DeviceAbsent
from tests.devices.zfm_rig import ZfmRig


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def health() -> Iterator[Collect]:
    handler = Collect()
    health_log.addHandler(handler)
    yield handler
    health_log.removeHandler(handler)


def test_loss_and_recovery_are_logged_once_each(tmp_path: Path, health: Collect) -> None:
    rig = ZfmRig(tmp_path)
    try:
        d = rig.driver
        d.open()
        assert d.capture(timeout_s=5.0).pixels.size
        assert health.records == []  # a device that is there says nothing
        rig.unplug()
        for _ in range(3):
            with pytest.raises(DeviceAbsent):
                d.capture(timeout_s=0.5)
        assert d.status().state == DeviceState.ABSENT
        rig.replug()
        d.open()
        assert d.status().state == DeviceState.READY
        d.status()
        d.close()
    finally:
        rig.close()
    assert [r.getMessage() for r in health.records] == ["device lost", "device recovered"]
    lost, back = health.records
    assert lost.levelno == logging.ERROR and lost.device == "sidik-jari" and lost.reason == "device.absent"  # type: ignore[attr-defined]
    assert "port" in lost.detail  # type: ignore[attr-defined]
    assert back.device == "sidik-jari" and back.missing_s >= 0  # type: ignore[attr-defined]
