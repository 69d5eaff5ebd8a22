"""The SBI emulator as a two-eye iris device (type "Iris", deviceSubType "Double"), for a
station's ``mock = "sbi_iris"``; everything else is device_mocks.sbi."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from device_mocks.sbi import SbiDeviceService, SbiMock


def start_for_station(params: dict[str, Any], workdir: Path) -> SbiMock:
    """Start the iris emulator: on the configured port if one is set, else a free one."""
    port = int(params.get("port", 0) or 0)
    return SbiMock(SbiDeviceService(Path(workdir), port=port, seed=3, bio_type="Iris"))
