"""Station configuration: config.toml loaded with tomllib into typed, frozen objects.

Config objects say *where* things are (files, ports, URLs); drivers say *how* to talk to them.
A wrong type, an unknown key or a missing value is refused at start with one
:class:`~kiosk.errors.ConfigError` naming the file, the key and what was expected.
Relative paths are resolved against the folder of the file that names them, so a copied
config makes an independent station.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from kiosk.errors import ConfigError

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config.toml"


@dataclass(frozen=True)
class StationConfig:
    id: str
    name: str
    #: six-digit district code (province+regency+district) the station serves
    region: str
    data_dir: Path
    language: Literal["id", "en"] = "id"
    #: residents the district must record (progress screen)
    target: int = 0
    #: start device mocks and a local central for this station
    simulated: bool = False


@dataclass(frozen=True)
class LocalCentralConfig:
    port: int = 0
    data_dir: Path = Path("central")
    #: seconds the local central waits before deciding on a packet
    decision_delay_s: float = 2.0
    #: a bad day on the network, to show the operator: share of requests that fail (0..1),
    #: added latency and a bandwidth cap (0 = none)
    fault_rate: float = 0.0
    latency_ms: float = 0.0
    bandwidth_kbps: float = 0.0


@dataclass(frozen=True)
class CentralConfig:
    #: "local" starts the local central for this station; otherwise the registry's base URL
    url: str = "local"
    #: pinned Ed25519 public key of the central (PEM); empty for url="local" (created at first start)
    public_key: Path | None = None
    #: X25519 public key that packets are sealed to (PEM); empty for url="local"
    sealing_key: Path | None = None
    timeout_s: float = 10.0
    poll_interval_s: float = 2.0
    chunk_size: int = 262144
    #: longest wait between retries (exponential backoff with jitter grows up to this)
    backoff_cap_s: float = 60.0
    #: records uploaded at the same time
    parallel_uploads: int = 2
    local: LocalCentralConfig = field(default_factory=LocalCentralConfig)


@dataclass(frozen=True)
class AccountsConfig:
    file: Path
    #: failed logins before an account is locked for ``lockout_s``
    max_failures: int = 5
    lockout_s: int = 300
    idle_logout_s: int = 600


@dataclass(frozen=True)
class PolicyConfig:
    #: ISO/ANSI finger positions (1 right thumb .. 10 left little) a record must carry
    required_fingers: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
    attempts_per_finger: int = 3
    require_face: bool = True
    require_signature: bool = True
    #: exception reasons that need a supervisor's confirmation
    supervisor_exceptions: tuple[str, ...] = ("amputated", "scarred")


@dataclass(frozen=True)
class StockConfig:
    low_cards: int = 50
    low_ribbon_panels: int = 100


@dataclass(frozen=True)
class RetentionConfig:
    #: days after a record is printed, rejected or cancelled before its biometrics are purged
    days: int = 30


@dataclass(frozen=True)
class DedupConfig:
    #: the station matches a new record's fingers against its own records of this many days
    window_days: int = 90
    #: fused bozorth3 score (kiosk.central.abis) from which two records hold the same fingers
    threshold: int = 150


@dataclass(frozen=True)
class AuditConfig:
    #: sign an audit checkpoint with the station key every this many entries
    checkpoint_every: int = 100


@dataclass(frozen=True)
class DeviceConfig:
    """One ``[devices.NAME]`` table: which driver and its raw parameters.

    The parameters are checked against the driver's own parameter dataclass by
    :mod:`kiosk.devices.registry` when the config is loaded.
    """

    name: str
    driver: str
    #: device_mocks module to start instead of real hardware (simulated station only)
    mock: str | None
    params: types.MappingProxyType[str, Any]


@dataclass(frozen=True)
class Config:
    path: Path
    station: StationConfig
    central: CentralConfig
    accounts: AccountsConfig
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    stock: StockConfig = field(default_factory=StockConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    quality: types.MappingProxyType[str, Any] = field(default_factory=lambda: types.MappingProxyType({}))
    devices: tuple[DeviceConfig, ...] = ()

    def device(self, name: str) -> DeviceConfig | None:
        return next((d for d in self.devices if d.name == name), None)


# --------------------------------------------------------------------------------------------
# Generic typed loading


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " or ".join(repr(a) for a in typing.get_args(tp))
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_type_name(a) for a in typing.get_args(tp) if a is not type(None))
    if origin is tuple:
        return f"a list of {_type_name(typing.get_args(tp)[0])}"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false", Path: "a path (string)"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def coerce(value: Any, tp: Any, *, key: str, file: Path, base: Path) -> Any:
    """Check ``value`` against the annotation ``tp``; return it converted (paths resolved)."""

    def bad() -> ConfigError:
        return ConfigError(file=str(file), key=key, expected=_type_name(tp), got=repr(value)[:60])

    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        args = typing.get_args(tp)
        if value is None or value == "" and type(None) in args and Path in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(value, arg, key=key, file=file, base=base)
            except ConfigError:
                continue
        raise bad()
    if origin is Literal:
        if value in typing.get_args(tp):
            return value
        raise bad()
    if origin is tuple:
        if not isinstance(value, list):
            raise bad()
        inner = typing.get_args(tp)[0]
        return tuple(coerce(v, inner, key=f"{key}[{i}]", file=file, base=base) for i, v in enumerate(value))
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise bad()
        return build(tp, value, key=key, file=file, base=base)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise bad()
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise bad()
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise bad()
    if tp is str:
        if isinstance(value, str):
            return value
        raise bad()
    if tp is Path:
        if isinstance(value, str) and value:
            p = Path(os.path.expanduser(value))
            return p if p.is_absolute() else (base / p).resolve()
        raise bad()
    if tp is Any:
        return value
    raise TypeError(f"unsupported config annotation {tp!r}")


def build(cls: type, table: dict[str, Any], *, key: str, file: Path, base: Path, extra: dict[str, Any] | None = None) -> Any:
    """Build the frozen dataclass ``cls`` from a TOML table, refusing unknown and missing keys."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    given = dict(extra or {})
    for name, value in table.items():
        full = f"{key}.{name}" if key else name
        if name not in fields or name in given:
            raise ConfigError("config.unknown_key", file=str(file), key=full)
        given[name] = coerce(value, hints[name], key=full, file=file, base=base)
    for name, f in fields.items():
        if name in given:
            continue
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError("config.missing_key", file=str(file), key=f"{key}.{name}" if key else name,
                              expected=_type_name(hints[name]))
        # default paths are relative to the config file too (a station without a [central.local]
        # table must not put its local central's data in the current directory)
        tp = hints[name]
        if f.default_factory is not dataclasses.MISSING and isinstance(tp, type) and dataclasses.is_dataclass(tp):
            given[name] = build(tp, {}, key=f"{key}.{name}" if key else name, file=file, base=base)
        elif isinstance(f.default, Path) and not f.default.is_absolute():
            given[name] = (base / f.default).resolve()
    return cls(**given)


def load_config(path: str | os.PathLike[str] | None = None, *, check_devices: bool = True) -> Config:
    """Load and check a station config. ``path`` falls back to $KIOSK_CONFIG, then config.toml."""
    file = Path(path or os.environ.get("KIOSK_CONFIG") or DEFAULT_CONFIG).resolve()
    try:
        raw = tomllib.loads(file.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError("config.not_found", file=str(file)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("config.unreadable", file=str(file), reason=str(exc)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config.syntax", file=str(file), reason=str(exc)) from None
    base = file.parent
    raw = dict(raw)
    devices_raw = raw.pop("devices", {})
    quality_raw = raw.pop("quality", {})
    if not isinstance(devices_raw, dict):
        raise ConfigError(file=str(file), key="devices", expected="a table of device tables", got=repr(devices_raw)[:60])
    if not isinstance(quality_raw, dict):
        raise ConfigError(file=str(file), key="quality", expected="a table", got=repr(quality_raw)[:60])
    devices = []
    for name, table in devices_raw.items():
        if not isinstance(table, dict):
            raise ConfigError(file=str(file), key=f"devices.{name}", expected="a table", got=repr(table)[:60])
        table = dict(table)
        driver = table.pop("driver", None)
        if not isinstance(driver, str):
            raise ConfigError("config.missing_key", file=str(file), key=f"devices.{name}.driver", expected="a string")
        mock = table.pop("mock", None)
        if mock is not None and not isinstance(mock, str):
            raise ConfigError(file=str(file), key=f"devices.{name}.mock", expected="a string", got=repr(mock)[:60])
        devices.append(DeviceConfig(name=name, driver=driver, mock=mock, params=types.MappingProxyType(table)))
    cfg: Config = build(
        Config, raw, key="", file=file, base=base,
        extra={"path": file, "devices": tuple(devices), "quality": types.MappingProxyType(quality_raw)},
    )
    # the [quality] tables are typed in kiosk.capture.thresholds (imported here, not at the
    # top: it builds on this module); checking them now refuses a wrong key at start
    from kiosk.capture.thresholds import thresholds_from_mapping

    thresholds_from_mapping(cfg.quality, file=file)
    if check_devices:
        from kiosk.devices.registry import check_device_config

        for dev in cfg.devices:
            check_device_config(dev, file=file, base=base)
    return cfg
