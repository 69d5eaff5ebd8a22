"""A station's devices: drivers built on first use, with the simulations that stand in for them.

Which code serves each ``driver`` and ``mock`` name of config.toml is decided by the composition
root (:mod:`kiosk.composition`); this module only holds the built devices and closes them, so
the device layer names neither the printer package nor the mocks.
"""

from __future__ import annotations

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

    def get(self, name: str) -> Device:
        if name not in self._built:
            dev = self.cfg.device(name)
            if dev is None:
                raise KeyError(name)
            self._built[name] = self._build(dev)
        return self._built[name].driver

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
