"""Fixtures for station operations: a provisioned station on disk with some history."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config import PolicyConfig
from kiosk.central.keys import StationKeys
from kiosk.ops.audit import checkpoint
from kiosk.ops.provision import provision_station
from kiosk.ops.tables import ensure_ops_tables
from kiosk.store import RecordState, RecordStore
from tests.conftest import resident

PASSWORD = "kata-sandi-uji-1"
LENIENT = PolicyConfig(required_fingers=(), require_face=False, require_signature=False)


def queue_record(store: RecordStore, serial: int, actor: str = "op1") -> str:
    rec = store.create_draft(resident(serial), actor=actor)
    store.transition(rec.id, RecordState.CAPTURED, actor=actor)
    store.transition(rec.id, RecordState.QUEUED, actor=actor)
    return rec.id


def advance(store: RecordStore, record_id: str, *states: RecordState) -> None:
    for s in states:
        store.transition(record_id, s, actor="sync")


@pytest.fixture
def station(tmp_path: Path, config_file: Path) -> Path:
    """A provisioned station at the conftest config's data dir (tmp_path/data)."""
    data = tmp_path / "data"
    provision_station(data, user="admin", password=PASSWORD)
    return data


@pytest.fixture
def station_store(station: Path) -> RecordStore:
    s = RecordStore(station, policy=LENIENT)
    ensure_ops_tables(s)
    yield s
    s.close()


@pytest.fixture
def history(station: Path, station_store: RecordStore) -> RecordStore:
    """Five queued records (16 audit entries incl. provisioning), signed checkpoints at 1, 7 and 16."""
    key = StationKeys.load(station).signing
    for serial in range(1, 6):
        queue_record(station_store, serial)
        if serial == 2:
            checkpoint(station_store, key)
    checkpoint(station_store, key)
    return station_store
