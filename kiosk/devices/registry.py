"""Build drivers from config.toml: one entry per driver name, imported only when used.

Adding a driver is one module plus one line in :data:`DRIVERS`. A ``[devices.NAME]`` table
holds ``driver = "..."``, optionally ``mock = "..."`` (simulated station: start that
device_mocks module and point the driver at it), and the driver's own parameters, checked
against the driver's ``Params`` dataclass when the config is loaded.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

from kiosk.config import Config, DeviceConfig, build
from kiosk.devices.base import Device
from kiosk.errors import ConfigError

#: driver name in config.toml -> "module:Class"
DRIVERS: dict[str, str] = {
    # fingerprint scanners
    "zfm": "kiosk.devices.zfm:ZfmFingerprintDriver",
    "sbi": "kiosk.devices.sbi:SbiFingerprintDriver",
    # cameras
    "opencv": "kiosk.devices.camera:OpenCvCameraDriver",
    # signature pads
    "hid-digitizer": "kiosk.devices.hid_digitizer:HidDigitizerSignatureDriver",
    "wacom-stu": "kiosk.devices.wacom_stu:WacomStuSignatureDriver",
    # card printers
    "evolis": "kiosk.printer.evolis:EvolisPrinterDriver",
    "cups": "kiosk.printer.cups:CupsPrinterDriver",
}


def register(name: str, target: str) -> None:
    DRIVERS[name] = target


def driver_class(name: str, *, file: Path | None = None, key: str = "") -> type[Device]:
    target = DRIVERS.get(name)
    if target is None:
        raise ConfigError("config.unknown_driver", file=str(file or "?"), key=key, driver=name,
                          known=", ".join(sorted(DRIVERS)))
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)  # type: ignore[no-any-return]


def check_device_config(dev: DeviceConfig, *, file: Path, base: Path) -> Any:
    """Validate a device table against its driver's parameters; returns the Params object."""
    key = f"devices.{dev.name}"
    cls = driver_class(dev.driver, file=file, key=f"{key}.driver")
    return build(cls.Params, dict(dev.params), key=key, file=file, base=base)


class MockHandle(Protocol):
    """What a device_mocks module's ``start_for_station`` returns."""

    #: driver parameters that point the driver at the running mock (e.g. {"port": "/dev/pts/7"})
    overrides: dict[str, Any]

    def close(self) -> None: ...


@dataclass
class BuiltDevice:
    config: DeviceConfig
    driver: Device
    mock: MockHandle | None


def build_device(cfg: Config, dev: DeviceConfig, *, workdir: Path | None = None) -> BuiltDevice:
    """Create the driver for one configured device, starting its mock first if it has one."""
    base = cfg.path.parent
    raw = dict(dev.params)
    mock: MockHandle | None = None
    if dev.mock:
        module = importlib.import_module(f"device_mocks.{dev.mock}")
        start: Callable[..., MockHandle] = module.start_for_station
        mock = start(dict(raw), workdir or cfg.station.data_dir / "mocks")
        raw.update(mock.overrides)
    cls = driver_class(dev.driver, file=cfg.path, key=f"devices.{dev.name}.driver")
    params = build(cls.Params, raw, key=f"devices.{dev.name}", file=cfg.path, base=base)
    return BuiltDevice(dev, cls(dev.name, params), mock)


class DeviceSet:
    """All configured devices of a station (drivers + running mocks); close() stops the mocks."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self._built: dict[str, BuiltDevice] = {}

    def get(self, name: str) -> Device:
        if name not in self._built:
            dev = self.cfg.device(name)
            if dev is None:
                raise KeyError(name)
            self._built[name] = build_device(self.cfg, dev)
        return self._built[name].driver

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
