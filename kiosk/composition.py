"""The composition root: which code serves each name in config.toml, in one place.

config.toml names drivers (``driver = "zfm"``) and, on a simulated station, the simulation that
stands in for the hardware (``mock = "zfm"``). This module is the only one that turns those
names into code: :data:`DRIVERS` and :data:`MOCKS` map them to ``"module:attribute"`` targets,
imported only when a station uses them (a station without a camera never imports OpenCV).
Everything below it (:mod:`kiosk.config`, :mod:`kiosk.devices.registry`, the drivers, the
capture checks) receives what it needs and names no other layer.

:func:`load_station_config` is what the CLI and the UI load a station with: the typed config
(:func:`kiosk.config.load_config`), then the ``[quality]`` tables and every ``[devices.*]`` table
checked against its driver's ``Params`` (types and ranges), and every ``mock`` name checked,
so a bad value is one plain line at start, not a traceback from a mock's thread later.
:class:`kiosk.station.Station` builds its devices with :func:`device_set`.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from pathlib import Path
from typing import Any, Callable

from kiosk.config import Config, DeviceConfig, load_config
from kiosk.devices.base import Device
from kiosk.devices.registry import BuiltDevice, DeviceSet, MockHandle
from kiosk.errors import ConfigError
from kiosk.typed_tables import build

#: driver name in config.toml -> "module:Class"; adding a driver is one module plus one line
DRIVERS: dict[str, str] = {
    # fingerprint scanners
    "zfm": "kiosk.devices.zfm:ZfmFingerprintDriver",
    "sbi": "kiosk.devices.sbi:SbiFingerprintDriver",
    # iris scanners
    "sbi-iris": "kiosk.devices.sbi_iris:SbiIrisDriver",
    # cameras
    "opencv": "kiosk.devices.camera:OpenCvCameraDriver",
    # signature pads
    "hid-digitizer": "kiosk.devices.hid_digitizer:HidDigitizerSignatureDriver",
    "wacom-stu": "kiosk.devices.wacom_stu:WacomStuSignatureDriver",
    # card printers
    "evolis": "kiosk.printer.evolis:EvolisPrinterDriver",
    "cups": "kiosk.printer.cups:CupsPrinterDriver",
}

#: ``mock`` name in config.toml -> "module:function(params, workdir) -> MockHandle" that starts
#: the simulation of that device and says which driver parameters point at it
MOCKS: dict[str, str] = {
    "zfm": "device_mocks.zfm:start_for_station",
    "sbi": "device_mocks.sbi:start_for_station",
    "sbi_iris": "device_mocks.sbi_iris:start_for_station",
    "camera": "device_mocks.camera:start_for_station",
    "hid_digitizer": "device_mocks.hid_digitizer:start_for_station",
    "wacom_stu": "device_mocks.wacom_stu:start_for_station",
    "evolis": "device_mocks.evolis:start_for_station",
}


def _target(spec: str) -> Any:
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


def driver_class(name: str, *, file: Path | None = None, key: str = "") -> type[Device]:
    """The driver class a ``driver = "..."`` names; an unknown name is a ConfigError."""
    target = DRIVERS.get(name)
    if target is None:
        raise ConfigError("config.unknown_driver", file=str(file or "?"), key=key, driver=name,
                          known=", ".join(sorted(DRIVERS)))
    cls: type[Device] = _target(target)
    return cls


def check_device_config(dev: DeviceConfig, *, file: Path, base: Path) -> Any:
    """Validate a device table against its driver's parameters (types and ranges) and its
    ``mock`` name; returns the Params object."""
    key = f"devices.{dev.name}"
    if dev.mock is not None and dev.mock not in MOCKS:
        raise ConfigError("config.unknown_mock", file=str(file), key=f"{key}.mock", mock=dev.mock,
                          known=", ".join(sorted(MOCKS)))
    cls = driver_class(dev.driver, file=file, key=f"{key}.driver")
    return build(cls.Params, dict(dev.params), key=key, file=file, base=base)


def start_mock(dev: DeviceConfig, params: dict[str, Any], workdir: Path) -> MockHandle:
    """Start the simulation ``dev.mock`` names, configured like the driver's table."""
    if dev.mock not in MOCKS:
        raise ConfigError("config.unknown_mock", file="?", key=f"devices.{dev.name}.mock", mock=dev.mock,
                          known=", ".join(sorted(MOCKS)))
    start: Callable[[dict[str, Any], Path], MockHandle] = _target(MOCKS[dev.mock])
    return start(params, workdir)


def build_device(cfg: Config, dev: DeviceConfig, *, workdir: Path | None = None) -> BuiltDevice:
    """The driver for one configured device, its simulation started first if it has one."""
    raw = dict(dev.params)
    mock: MockHandle | None = None
    if dev.mock:
        mock = start_mock(dev, dict(raw), workdir or cfg.station.data_dir / "mocks")
        raw.update(mock.overrides)
    try:
        cls = driver_class(dev.driver, file=cfg.path, key=f"devices.{dev.name}.driver")
        params = build(cls.Params, raw, key=f"devices.{dev.name}", file=cfg.path, base=cfg.path.parent)
        return BuiltDevice(dev, cls(dev.name, params), mock)
    except BaseException:
        if mock is not None:
            mock.close()
        raise


def device_set(cfg: Config) -> DeviceSet:
    """The station's devices, built on first use by :func:`build_device`; close() stops the mocks."""
    return DeviceSet(cfg, build=lambda dev: build_device(cfg, dev))


def device_kinds(cfg: Config) -> set[str]:
    """The kinds of the configured devices (``fingerprint``, ``iris``...), from their drivers'
    classes: no device is opened or started. A driver that cannot load is left out (it is shown on
    its step and in diagnostics)."""
    kinds = set()
    for dev in cfg.devices:
        try:
            kinds.add(str(driver_class(dev.driver).kind))
        except Exception:
            continue
    return kinds


def station_policy(cfg: Config) -> Config:
    """``cfg`` with the capture policy this station can meet: ``required_irises`` applies only where
    an iris camera is configured (a station without one must not hold every record back)."""
    if cfg.policy.required_irises and "iris" not in device_kinds(cfg):
        return dataclasses.replace(cfg, policy=dataclasses.replace(cfg.policy, required_irises=()))
    return cfg


def check_station_config(cfg: Config) -> Config:
    """The checks :func:`kiosk.config.load_config` leaves to the layers that own the tables, and
    the policy the station's devices allow (:func:`station_policy`)."""
    from kiosk.capture.thresholds import thresholds_from_mapping

    thresholds_from_mapping(cfg.quality, file=cfg.path)
    for dev in cfg.devices:
        check_device_config(dev, file=cfg.path, base=cfg.path.parent)
    return station_policy(cfg)


def load_station_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load a station's config and check every table of it (what the CLI and the UI call)."""
    return check_station_config(load_config(path))
