"""The simulated station's own central: started on demand, in-process, with no manual step.

``[central] url = "local"`` makes the sync worker (``kiosk sync`` or the TUI's thread) call
:func:`start_local_central`: it creates the central's keys and the station's keys at first
start, registers the station, and serves on ``[central.local] port`` (0 = any free port).
A central another process already started for the same data folder is reused (its address
is in ``<data>/local.json`` and it must answer /v1/health).

``[central.local] https = true`` serves it over https with a self-signed ECDSA certificate made
at first start (``<data>/local-central.crt``), which the station pins as a real station pins its
central's (:func:`kiosk.sync.worker.central_transport`): the simulated station then syncs the way
a real one does, TLS session resumption included.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from kiosk.central.faults import FaultInjector
from kiosk.central.keys import CentralKeys, StationKeys
from kiosk.central.registry import CentralRegistry
from kiosk.central.server import CentralServer
from kiosk.central.tls import self_signed_certificate, tls_context
from kiosk.config import Config
from kiosk.errors import KioskError


@dataclass
class LocalCentral:
    url: str
    signing_public: Ed25519PublicKey  # pin this: it signs print permits
    sealing_public: X25519PublicKey  # seal packets to this
    server: CentralServer | None = None  # None when another process serves it
    registry: CentralRegistry | None = None

    @property
    def faults(self) -> FaultInjector | None:
        return self.server.faults if self.server else None

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.registry is not None:
            self.registry.close()
            self.registry = None


#: file names (``.crt``, ``.key``) of the local central's https certificate in its data folder
CERT_NAME = "local-central"


def local_certificate(cfg: Config) -> Path | None:
    """The certificate the local central serves https with (the station pins it); None over http."""
    if not cfg.central.local.https:
        return None
    return Path(cfg.central.local.data_dir) / f"{CERT_NAME}.crt"


def _certificate(data: Path) -> tuple[Path, Path]:
    """The local central's certificate and key: made at first start (ten years), kept after,
    so a station that pinned it keeps trusting it across restarts."""
    from cryptography import x509

    cert, key = data / f"{CERT_NAME}.crt", data / f"{CERT_NAME}.key"
    try:
        expires = x509.load_pem_x509_certificate(cert.read_bytes()).not_valid_after_utc
        if key.exists() and expires > dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1):
            return cert, key
    except (OSError, ValueError):
        pass  # none yet, or unreadable: make a new one
    return self_signed_certificate(data, CERT_NAME, "kiosk local central", days=3650)


def local_central_alive(cfg: Config, url: str) -> bool:
    """Does the local central at ``url`` answer (over https: with its pinned certificate)?"""
    cert = local_certificate(cfg)
    verify: Any = ssl.create_default_context(cafile=str(cert)) if cert is not None and cert.exists() else True
    try:
        return httpx.get(f"{url}/v1/health", timeout=1.0, verify=verify).status_code == 200
    except httpx.HTTPError:
        return False


def start_local_central(cfg: Config, *, reuse: bool = True) -> LocalCentral:
    local = cfg.central.local
    data = Path(local.data_dir)
    keys = CentralKeys.init(data)
    station = StationKeys.init(cfg.station.data_dir)
    registry = CentralRegistry(data, decision_delay_s=local.decision_delay_s, keys=keys)
    registry.register_station(cfg.station.id, station.public, cfg.station.region)
    state = data / "local.json"
    if reuse and state.exists():
        try:
            url = json.loads(state.read_text())["url"]
        except (ValueError, KeyError, OSError):
            url = None
        if url and local_central_alive(cfg, url):
            registry.close()
            return LocalCentral(url, keys.signing_public, keys.sealing_public)
    faults = FaultInjector()
    # hangs a little past the station's timeout, so a "timeout" fault is one for the station
    faults.set(rate=local.fault_rate, latency_s=local.latency_ms / 1000, hang_s=cfg.central.timeout_s + 1,
               bandwidth_bps=int(local.bandwidth_kbps * 1000 / 8))
    tls = tls_context(*_certificate(data)) if local.https else None
    try:
        server = CentralServer(registry, port=local.port, faults=faults, tls=tls).start()
    except OSError as exc:
        registry.close()
        raise KioskError("central.port_in_use", port=local.port, reason=str(exc)) from None
    tmp = state.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps({"url": server.url, "pid": os.getpid()}))
    os.replace(tmp, state)
    return LocalCentral(server.url, keys.signing_public, keys.sealing_public, server, registry)
