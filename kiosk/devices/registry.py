"""A station's devices: drivers built on first use, with the simulations that stand in for them.

Which code serves each ``driver`` and ``mock`` name of config.toml is decided by the composition
root (:mod:`kiosk.composition`); this module only holds the built devices and closes them, so
the device layer names neither the printer package nor the mocks.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Protocol

from kiosk.devices.base import Device

if TYPE_CHECKING:
    from kiosk.config import Config, DeviceConfig


class MockHandle(Protocol):
    """What a simulation's ``start_for_station`` returns."""

    #: driver parameters that point the driver at the running mock (e.g. {"port": "/dev/pts/7"})
    overrides: dict[str, Any]

    def close(self) -> None: ...


@dataclass
class BuiltDevice:
    config: "DeviceConfig"
    driver: Device
    mock: MockHandle | None


class DeviceSet:
    """All configured devices of a station (drivers + running mocks); close() stops the mocks."""

    def __init__(self, cfg: "Config", *, build: Callable[["DeviceConfig"], BuiltDevice]) -> None:
        self.cfg = cfg
        #: builds one device (its mock started first); :func:`kiosk.composition.device_set` supplies it
        self._build = build
        self._built: dict[str, BuiltDevice] = {}
        #: the UI's workers ask for devices from several threads at once: one build per device (two
        #: camera mocks writing the same video file failed a day's run, tui_day)
        self._building = threading.RLock()

    def get(self, name: str) -> Device:
        built = self._built.get(name)
        if built is None:
            with self._building:
                built = self._built.get(name)
                if built is None:
                    dev = self.cfg.device(name)
                    if dev is None:
                        raise KeyError(name)
                    built = self._built[name] = self._build(dev)
        return built.driver

    def built(self, name: str) -> Device | None:
        """The driver if it was already built (its mock started), else None: for reports that
        must not start a mock or a device of their own (the diagnostics bundle)."""
        entry = self._built.get(name)
        return entry.driver if entry is not None else None

    def of_kind(self, kind: str) -> Device | None:
        for dev in self.cfg.devices:
            drv = self.get(dev.name)
            if drv.kind == kind:
                return drv
        return None

    def names(self) -> list[str]:
        return [d.name for d in self.cfg.devices]

    def close(self) -> None:
        for built in self._built.values():
            try:
                if built.driver.is_open:
                    built.driver.close()
            finally:
                if built.mock is not None:
                    built.mock.close()
        self._built.clear()

    def __enter__(self) -> "DeviceSet":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
