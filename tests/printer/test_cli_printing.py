"""``kiosk print`` and ``kiosk stock`` through the real command line, on a simulated station."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from kiosk.config import load_config
from kiosk import permits as station_permits
from kiosk.store import RecordStore
from kiosk.store.states import RecordState
from tests.conftest import BASE_CONFIG, run_kiosk
from tests.printer.conftest import approved_record, issue


@pytest.fixture
def station(tmp_path: Path, central_key, lenient_policy) -> tuple[Path, RecordStore]:
    pem = central_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "central.pem").write_bytes(pem)
    # a real central's address: the gate pins [central].public_key (url = "local" pins the local central's key)
    cfg_text = BASE_CONFIG.replace('url = "local"', 'url = "https://central.invalid"\npublic_key = "central.pem"') + """
[policy]
required_fingers = []
require_face = false
require_signature = false

[stock]
low_cards = 50
low_ribbon_panels = 100

[devices.printer]
driver = "evolis"
mock = "evolis"
timeout_s = 2.0
"""
    path = tmp_path / "config.toml"
    path.write_text(cfg_text)
    cfg = load_config(path)
    store = RecordStore(cfg.station.data_dir, policy=cfg.policy)
    return path, store


def test_print_record_with_permit(station, central_key):
    path, store = station
    rid = approved_record(store)
    station_permits.store_permit(store, rid, issue(central_key, store, rid))
    assert run_kiosk("--config", str(path), "stock", "add", "10").returncode == 0
    result = run_kiosk("--config", str(path), "print", rid[:8])
    assert result.returncode == 0, result.stderr
    assert "[" in result.stderr and "PENDUDUK 1" in result.stdout
    assert store.get(rid).state is RecordState.PRINTED
    cards = list((path.parent / "data" / "mocks" / "evolis" / "cards").glob("*/front.png"))
    assert len(cards) == 1
    assert "Only 9 blank cards left" in result.stderr  # 10 booked in, 1 printed: below the threshold


def test_print_refusal_in_plain_words(station):
    path, store = station
    rid = approved_record(store)
    assert run_kiosk("--config", str(path), "stock", "add", "10").returncode == 0
    result = run_kiosk("--config", str(path), "print", rid)
    assert result.returncode == 1
    assert "no print permit from the central" in result.stderr
    assert "Traceback" not in result.stderr
    assert store.get(rid).state is RecordState.APPROVED


def test_print_approved_batch(station, central_key):
    path, store = station
    ids = [approved_record(store, n) for n in (1, 2, 3)]
    for rid in ids[:2]:
        station_permits.store_permit(store, rid, issue(central_key, store, rid))
    assert run_kiosk("--config", str(path), "stock", "add", "10").returncode == 0
    result = run_kiosk("--config", str(path), "print", "--approved", "--json")
    assert result.returncode == 1  # the third has no permit
    data = json.loads(result.stdout)
    assert [r["printed"] for r in data["results"]] == [True, True, False]
    assert data["results"][2]["code"] == "print.no_permit"
    assert [store.get(r).state for r in ids] == [RecordState.PRINTED, RecordState.PRINTED, RecordState.APPROVED]


def test_stock_add_spoil_and_levels(station):
    path, _ = station
    assert run_kiosk("--config", str(path), "stock", "add", "120").returncode == 0
    assert run_kiosk("--config", str(path), "stock", "ribbon", "200").returncode == 0
    spoil = run_kiosk("--config", str(path), "stock", "spoil", "--reason", "bent card")
    assert spoil.returncode == 0, spoil.stderr
    levels = json.loads(run_kiosk("--config", str(path), "stock", "--json").stdout)
    assert (levels["cards"], levels["spoiled"], levels["ribbon_panels"]) == (119, 1, 200)
    assert levels["warnings"] == []
    bad = run_kiosk("--config", str(path), "stock", "add", "0")
    assert bad.returncode == 2 and "positive" in bad.stderr
