"""Station configuration: config.toml loaded with tomllib into typed, frozen objects.

Config objects say *where* things are (files, ports, URLs); drivers say *how* to talk to them.
A wrong type, a value out of range, an unknown key or a missing value is refused at start with
one :class:`~kiosk.errors.ConfigError` naming the file, the key and what was expected. Types
and ranges are declared on the fields (:mod:`kiosk.typed_tables`), never checked by hand.
Relative paths are resolved against the folder of the file that names them, so a copied
config makes an independent station.

This module knows nothing of devices, capture or mocks: the ``[devices.*]`` and ``[quality]``
tables are kept raw here and checked by the composition root (:mod:`kiosk.composition`), which
knows the drivers and the simulation.
"""

from __future__ import annotations

import dataclasses

import os
import tomllib
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from kiosk.errors import ConfigError
from kiosk.typed_tables import Ge, Gt, Interval, Matches, MinLen, Satisfies, build

#: the source checkout's simulated station (``make run``); used when running from a checkout
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config.toml"
#: where an installed kiosk (package, deploy/) keeps its config
SYSTEM_CONFIG = Path("/etc/kiosk/config.toml")

Seconds = Annotated[float, Gt(0)]
NonNegative = Annotated[int, Ge(0)]
Share = Annotated[float, Interval(ge=0.0, le=1.0)]
TcpPort = Annotated[int, Interval(ge=0, le=65535)]
#: ISO/ANSI finger positions 1 (right thumb) .. 10 (left little)
FingerPosition = Annotated[int, Interval(ge=1, le=10)]
#: ISO/IEC 19794-6 eye labels: 1 right, 2 left
EyeLabel = Annotated[int, Interval(ge=1, le=2)]
#: why an eye cannot be captured (kiosk.enroll.irises.IrisExceptionReason)
IrisExceptionName = Literal["lost", "prosthesis", "injured", "bandaged"]


def default_config_path() -> Path:
    """$KIOSK_CONFIG, else the checkout's config.toml when running from a source checkout
    (``pyproject.toml`` beside the package), else :data:`SYSTEM_CONFIG`."""
    env = os.environ.get("KIOSK_CONFIG")
    if env:
        return Path(env)
    if (DEFAULT_CONFIG.parent / "pyproject.toml").is_file() and DEFAULT_CONFIG.is_file():
        return DEFAULT_CONFIG
    return SYSTEM_CONFIG


def known_time_zone(name: str) -> bool:
    """An IANA time zone this machine knows (the system's zoneinfo, or the tzdata package)."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


@dataclass(frozen=True)
class StationConfig:
    id: Annotated[str, MinLen(1)]
    name: str
    #: six-digit district code (province+regency+district) the station serves
    region: Annotated[str, Matches(r"[0-9]{6}", "config.shape.district")]
    data_dir: Path
    language: Literal["id", "en"] = "id"
    #: residents the district must record (progress screen)
    target: NonNegative = 0
    #: start device mocks and a local central for this station
    simulated: bool = False
    #: the station's time zone for every time an operator reads and the receipt's date: WIB
    #: "Asia/Jakarta", WITA "Asia/Makassar", WIT "Asia/Jayapura" (not the machine's zone, often
    #: left at UTC); times are stored in UTC
    timezone: Annotated[str, Satisfies(known_time_zone, "config.shape.timezone")] = "Asia/Jakarta"


@dataclass(frozen=True)
class LocalCentralConfig:
    port: TcpPort = 0
    data_dir: Path = Path("central")
    #: seconds the local central waits before deciding on a packet
    decision_delay_s: Annotated[float, Ge(0)] = 2.0
    #: a bad day on the network, to show the operator: share of requests that fail (0..1),
    #: added latency and a bandwidth cap (0 = none)
    fault_rate: Share = 0.0
    latency_ms: Annotated[float, Ge(0)] = 0.0
    bandwidth_kbps: Annotated[float, Ge(0)] = 0.0
    #: serve https with a self-signed certificate the station pins: the path a real station's
    #: sync takes (TLS, pinning, session resumption), without a real central
    https: bool = False


@dataclass(frozen=True)
class CentralConfig:
    #: "local" starts the local central for this station; otherwise the registry's base URL
    url: str = "local"
    #: pinned Ed25519 public key of the central (PEM); empty for url="local" (created at first start)
    public_key: Path | None = None
    #: X25519 public key that packets are sealed to (PEM); empty for url="local"
    sealing_key: Path | None = None
    timeout_s: Seconds = 10.0
    poll_interval_s: Seconds = 2.0
    #: bytes per upload chunk, up to 64 MiB
    chunk_size: Annotated[int, Interval(ge=1, le=64 * 1024 * 1024)] = 262144
    #: longest wait between retries (exponential backoff with jitter grows up to this)
    backoff_cap_s: Seconds = 60.0
    #: records uploaded at the same time
    parallel_uploads: Annotated[int, Interval(ge=1, le=32)] = 2
    #: PEM file of the central's TLS certificate or of the CA that issued it: the ONLY trust
    #: anchor for https (required for a real station's https URL)
    ca_file: Path | None = None
    #: accept a plain http:// central on a real station (a warning is logged at start)
    allow_plain_http: bool = False
    local: LocalCentralConfig = field(default_factory=LocalCentralConfig)


@dataclass(frozen=True)
class AccountsConfig:
    file: Path
    #: failed logins before an account is locked for ``lockout_s``
    max_failures: Annotated[int, Ge(1)] = 5
    lockout_s: NonNegative = 300
    idle_logout_s: Annotated[int, Gt(0)] = 600
    #: scrypt cost as log2(N): 17 is OWASP's current guidance (N=2^17, r=8, p=1, 128 MiB); a
    #: weaker stored hash is rehashed at its next login. Test stations may lower it to 14.
    password_cost: Annotated[int, Interval(ge=14, le=20)] = 17


@dataclass(frozen=True)
class PolicyConfig:
    #: ISO/ANSI finger positions (1 right thumb .. 10 left little) a record must carry
    required_fingers: tuple[FingerPosition, ...] = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
    attempts_per_finger: Annotated[int, Ge(1)] = 3
    require_face: bool = True
    require_signature: bool = True
    #: exception reasons that need a supervisor's confirmation
    supervisor_exceptions: tuple[str, ...] = ("amputated", "scarred")
    #: eyes (1 right, 2 left) a record must carry on a station with an iris camera; a station
    #: without one requires none whatever this says (kiosk.composition applies it). None unless
    #: the policy names them: config.toml names both
    required_irises: tuple[EyeLabel, ...] = ()
    #: iris exception reasons that need a supervisor's confirmation (the permanent ones)
    supervisor_iris_exceptions: tuple[IrisExceptionName, ...] = ("lost", "prosthesis")


@dataclass(frozen=True)
class StockConfig:
    low_cards: NonNegative = 50
    low_ribbon_panels: NonNegative = 100
    #: blank cards a simulated station books once, as if its first delivery had arrived (the
    #: simulated printer's hopper holds them), so the demo prints without a supervisor first;
    #: ignored on a real station, which books each delivery with ``kiosk stock add``
    simulated_delivery: NonNegative = 0


@dataclass(frozen=True)
class RetentionConfig:
    #: days after a record is printed, rejected or cancelled before its biometrics are purged
    days: NonNegative = 30


@dataclass(frozen=True)
class DedupConfig:
    #: the station matches a new record's fingers against its own records of this many days
    window_days: int = 90
    #: fused bozorth3 score (kiosk.central.abis) from which two records hold the same fingers
    threshold: int = 150


@dataclass(frozen=True)
class ReceiptConfig:
    #: CUPS queue the resident's receipt (tanda terima perekaman) prints on; "" = none configured
    queue: str = ""
    #: cupsd host:port
    server: str = "localhost:631"
    job_timeout_s: Seconds = 60.0


@dataclass(frozen=True)
class AuditConfig:
    #: sign an audit checkpoint with the station key every this many entries
    checkpoint_every: Annotated[int, Ge(1)] = 100


@dataclass(frozen=True)
class DeviceConfig:
    """One ``[devices.NAME]`` table: which driver and its raw parameters.

    The parameters are checked against the driver's own parameter dataclass by the
    composition root (:mod:`kiosk.composition`) when the station is loaded.
    """

    name: str
    driver: str
    #: name of the simulation to start instead of real hardware (simulated station only;
    #: the names are the composition root's)
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
    receipt: ReceiptConfig = field(default_factory=ReceiptConfig)
    quality: types.MappingProxyType[str, Any] = field(default_factory=lambda: types.MappingProxyType({}))
    devices: tuple[DeviceConfig, ...] = ()

    def device(self, name: str) -> DeviceConfig | None:
        return next((d for d in self.devices if d.name == name), None)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load and check a station config: types, ranges, known keys. ``path`` falls back to
    :func:`default_config_path`. The raw ``[devices.*]`` and ``[quality]`` tables are checked by
    :func:`kiosk.composition.load_station_config` (what the CLI and the UI call)."""
    file = Path(path or default_config_path())
    try:
        file = file.resolve(strict=False)
        raw = tomllib.loads(file.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError("config.not_found", file=str(file)) from None
    except RecursionError:  # a deeply nested array: tomllib recurses once per level
        raise ConfigError("config.syntax", file=str(file), reason="nested too deeply") from None
    except RuntimeError as exc:  # a symlink loop (Python 3.11 raises RuntimeError from resolve)
        raise ConfigError("config.unreadable", file=str(file), reason=str(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("config.unreadable", file=str(file), reason=getattr(exc, "strerror", None) or str(exc)) from None
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
    if cfg.stock.simulated_delivery and not cfg.station.simulated:
        # cards nobody received must never be booked on a real station
        cfg = dataclasses.replace(cfg, stock=dataclasses.replace(cfg.stock, simulated_delivery=0))
    return cfg
