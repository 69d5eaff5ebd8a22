"""A running station: its config, record store and devices (mocks started for a simulated one).

The CLI and the TUI both start from here, so they see the same station.
"""

from __future__ import annotations

from kiosk.config import Config
from kiosk.devices.registry import DeviceSet
from kiosk.store import RecordStore


class Station:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.store = RecordStore(cfg.station.data_dir, policy=cfg.policy)
        self.devices = DeviceSet(cfg)

    def close(self) -> None:
        self.devices.close()
        self.store.close()

    def __enter__(self) -> "Station":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
