"""Fixtures: a central (registry + HTTP server in this process) and stations that sync to it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from kiosk.central.faults import FaultInjector
from kiosk.central.keys import StationKeys
from kiosk.central.registry import CentralRegistry
from kiosk.central.server import CentralServer
from kiosk.config import PolicyConfig
from kiosk.store import RecordStore
from kiosk.sync.client import CentralClient
from kiosk.sync.worker import SyncSettings, SyncWorker

#: small but complete records: face, two fingers, signature (keeps packets and tests small)
SMALL_POLICY = PolicyConfig(required_fingers=(1, 6))
#: no test here waits out the timeout (test_sync_faults has its own settings); 2 s timed out at load 11
#: while the central decided (its ABIS search runs inside the registry's lock, which GET /decisions waits for)
FAST = SyncSettings(timeout_s=10.0, poll_interval_s=0.05, chunk_size=4096, backoff_base_s=0.01, backoff_cap_s=0.05,
                    parallel=1, attempts_per_pass=50)


@dataclass
class Central:
    registry: CentralRegistry
    server: CentralServer

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def faults(self) -> FaultInjector:
        return self.server.faults


@dataclass
class Station:
    id: str
    store: RecordStore
    keys: StationKeys
    worker: SyncWorker
    client: CentralClient


@pytest.fixture
def central(tmp_path: Path) -> Iterator[Central]:
    reg = CentralRegistry(tmp_path / "central", decision_delay_s=0.0)
    server = CentralServer(reg).start()
    yield Central(reg, server)
    server.stop()
    reg.close()


@pytest.fixture
def make_station(tmp_path: Path, central: Central) -> Iterator[Callable[..., Station]]:
    made: list[Station] = []

    def make(station_id: str = "ST-01", *, region: str = "320101", register: bool = True,
             settings: SyncSettings = FAST, on_exchange: Any = None, policy: PolicyConfig = SMALL_POLICY,
             **worker_kw: Any) -> Station:
        folder = tmp_path / station_id
        store = RecordStore(folder, policy=policy)
        keys = StationKeys.init(folder)
        if register:
            central.registry.register_station(station_id, keys.public, region)
        client = CentralClient(central.url, station_id, keys.signing, timeout_s=settings.timeout_s,
                               on_exchange=on_exchange)
        worker = SyncWorker(store, client, station_id=station_id, station_key=keys.signing,
                            sealing_key=central.registry.keys.sealing_public,
                            permit_key=central.registry.keys.signing_public, settings=settings, seed=7, **worker_kw)
        st = Station(station_id, store, keys, worker, client)
        made.append(st)
        return st

    yield make
    for st in made:
        st.worker.stop()
        st.client.close()
        st.store.close()


def enroll(store: RecordStore, identity: Any, seed: int = 1) -> str:
    """Queue one complete record for ``identity``: realistic fingers that follow the NIK (the
    same NIK has the same fingers, another NIK other fingers, so the central's biometric check
    sees what it would in the field), and a small face and signature so packets stay a few
    chunks long (kiosk simulate enroll makes full-size ones)."""
    import cv2
    import numpy as np

    from kiosk.store import RecordState
    from kiosk.sync.synthetic_samples import synthetic_finger

    rec = store.create_draft(identity, actor="test")
    small = np.full((80, 60, 3), 200 - seed % 50, np.uint8)
    store.put_sample(rec.id, kind="face", data=cv2.imencode(".jpg", small)[1].tobytes(), format="image/jpeg",
                     actor="test")
    person = 5_000_000_000 + int(identity.nik) % 1_000_000_000
    for pos in store.policy.required_fingers:
        f = synthetic_finger(person, pos, seed - 1)
        store.put_sample(rec.id, kind="finger", position=pos, data=f.wsq, format="wsq", actor="test")
        store.put_sample(rec.id, kind="finger_template", position=pos, data=f.template, format="iso19794-2:2005",
                         actor="test")
    store.put_sample(rec.id, kind="signature", data=cv2.imencode(".png", small[..., 0])[1].tobytes(),
                     format="image/png", actor="test")
    store.transition(rec.id, RecordState.CAPTURED, actor="test")
    store.transition(rec.id, RecordState.QUEUED, actor="test")
    return rec.id
