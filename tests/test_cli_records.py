"""``kiosk records``, ``kiosk audit``, reserved commands, --version: the real command line."""

from __future__ import annotations

import json
from pathlib import Path

from kiosk.config import load_config
from kiosk.store import RecordState, RecordStore
from tests.conftest import resident, run_kiosk


def seeded(config_file: Path) -> tuple[RecordStore, list[str]]:
    cfg = load_config(config_file)
    store = RecordStore(cfg.station.data_dir, policy=cfg.policy)
    ids = [store.create_draft(resident(i), actor="op1").id for i in (1, 2, 3)]
    store.transition(ids[0], RecordState.CANCELLED, actor="op1", reason="typo")
    return store, ids


def test_records_list_json_has_id_nik_state_created_at(config_file: Path) -> None:
    store, ids = seeded(config_file)
    proc = run_kiosk("--config", str(config_file), "records", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["id"] for r in rows] == ids
    assert rows[0]["nik"] == resident(1).nik and rows[0]["state"] == "cancelled"
    assert all("created_at" in r for r in rows)


def test_records_list_filters_by_state(config_file: Path) -> None:
    _, ids = seeded(config_file)
    proc = run_kiosk("--config", str(config_file), "records", "list", "--state", "draft", "--json")
    assert [r["id"] for r in json.loads(proc.stdout)] == ids[1:]


def test_records_list_refuses_an_unknown_state(config_file: Path) -> None:
    proc = run_kiosk("--config", str(config_file), "records", "list", "--state", "flying")
    assert proc.returncode == 2 and "flying" in proc.stderr


def test_records_show_by_prefix(config_file: Path) -> None:
    _, ids = seeded(config_file)
    proc = run_kiosk("--config", str(config_file), "records", "show", ids[1][:8], "--json")
    data = json.loads(proc.stdout)
    assert data["id"] == ids[1] and data["identity"]["full_name"] == "PENDUDUK 2"
    assert "face" in data["missing"]


def test_records_show_unknown_is_exit_2(config_file: Path) -> None:
    proc = run_kiosk("--config", str(config_file), "records", "show", "nope")
    assert proc.returncode == 2 and "nope" in proc.stderr


def test_audit_lists_who_when_from_to_reason(config_file: Path) -> None:
    _, ids = seeded(config_file)
    proc = run_kiosk("--config", str(config_file), "audit", "--record", ids[0], "--json")
    entries = json.loads(proc.stdout)
    assert [(e["action"], e["from_state"], e["to_state"], e["reason"]) for e in entries] == [
        ("create", None, "draft", ""), ("transition", "draft", "cancelled", "typo")]
    assert all(e["actor"] == "op1" and e["ts"] for e in entries)


def test_version_and_reserved_commands() -> None:
    proc = run_kiosk("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("kiosk ")
    proc = run_kiosk("--help")
    for name in ("devices", "diag", "sync", "queue", "print", "central", "simulate"):
        assert name in proc.stdout
