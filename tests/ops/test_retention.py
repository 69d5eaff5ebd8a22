"""Retention: biometrics of finished records are purged after N days, leaving an audited stub."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from kiosk.central.keys import StationKeys
from kiosk.ops.audit import verify_audit_log
from kiosk.ops.retention import due_for_purge, is_purged, purge_expired
from kiosk.store import RecordState as S
from kiosk.store import RecordStore
from kiosk.store.queue import UnknownRecord
from kiosk.store.vault import VaultError
from tests.conftest import resident, run_kiosk
from tests.ops.conftest import advance

LATER = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=31)


def with_samples(store: RecordStore, serial: int) -> str:
    rec = store.create_draft(resident(serial), actor="op")
    store.put_sample(rec.id, kind="face", data=b"\xff\xd8\xff\xe0face", format="image/jpeg", actor="op")
    store.put_sample(rec.id, kind="finger", position=1, data=b"\xff\xa0\xff\xa8wsq", format="wsq", actor="op")
    store.add_exception(rec.id, 2, "bandaged", actor="op")
    advance(store, rec.id, S.CAPTURED, S.QUEUED)
    return rec.id


@pytest.fixture
def finished(station_store: RecordStore) -> dict[str, str]:
    """One record in each state that matters to retention."""
    s = station_store
    ids = {name: with_samples(s, i) for i, name in enumerate(
        ["printed", "rejected", "cancelled", "queued", "submitted", "approved", "duplicate"], start=1)}
    advance(s, ids["printed"], S.SUBMITTED, S.APPROVED, S.PRINTING, S.PRINTED)
    advance(s, ids["rejected"], S.SUBMITTED, S.REJECTED)
    advance(s, ids["cancelled"], S.SUBMITTED, S.DUPLICATE, S.CANCELLED)
    advance(s, ids["submitted"], S.SUBMITTED)
    advance(s, ids["approved"], S.SUBMITTED, S.APPROVED)
    advance(s, ids["duplicate"], S.SUBMITTED, S.DUPLICATE)
    return ids


def test_only_finished_records_past_the_period_are_purged(station_store: RecordStore, finished: dict[str, str]) -> None:
    assert purge_expired(station_store, 30).purged == ()  # nothing is 30 days old yet
    result = purge_expired(station_store, 30, now=LATER)
    assert {c.record_id for c in result.purged} == {finished[k] for k in ("printed", "rejected", "cancelled")}
    for name, rid in finished.items():
        kept = name not in ("printed", "rejected", "cancelled")
        assert bool(station_store.samples(rid)) is kept, name
        assert bool(station_store.exceptions(rid)) is kept, name
        assert is_purged(station_store, rid) is not kept


def test_purged_record_keeps_only_a_stub(station_store: RecordStore, finished: dict[str, str]) -> None:
    rid = finished["printed"]
    before = station_store.get(rid)
    purge_expired(station_store, 30, now=LATER)
    after = station_store.get(rid)
    assert (after.id, after.state, after.created_at, after.updated_at) == (before.id, S.PRINTED, before.created_at,
                                                                           before.updated_at)
    row = station_store.conn.execute("SELECT identity FROM records WHERE id = ?", (rid,)).fetchone()
    assert row[0] == b""
    with pytest.raises(VaultError):
        station_store.identity(rid)
    with pytest.raises(UnknownRecord):
        station_store.sample_data(rid, "face")
    # the local duplicate-NIK check still knows the resident was served here
    assert station_store.holder_of(resident(1).nik).id == rid


def test_purging_is_audited_and_the_chain_stays_valid(station: Path, station_store: RecordStore,
                                                      finished: dict[str, str]) -> None:
    purge_expired(station_store, 30, actor="retention", now=LATER)
    entry = [e for e in station_store.audit(finished["rejected"]) if e.action == "purge"]
    assert len(entry) == 1 and entry[0].actor == "retention"
    assert entry[0].params == {"samples": 2, "retention_days": 30, "state": "rejected"}
    assert verify_audit_log(station_store, StationKeys.load(station).public).ok


def test_dry_run_changes_nothing_and_purge_is_not_repeated(station_store: RecordStore, finished: dict[str, str]) -> None:
    entries = len(station_store.audit())
    dry = purge_expired(station_store, 30, dry_run=True, now=LATER)
    assert dry.dry_run and len(dry.purged) == 3 and len(station_store.audit()) == entries
    assert station_store.samples(finished["printed"])
    assert len(purge_expired(station_store, 30, now=LATER).purged) == 3
    assert purge_expired(station_store, 30, now=LATER).purged == ()
    assert due_for_purge(station_store, 30, now=LATER) == []


def test_purge_command(station_store: RecordStore, finished: dict[str, str], config_file: Path) -> None:
    config_file.write_text(config_file.read_text() + "\n[retention]\ndays = 0\n")
    dry = run_kiosk("--config", str(config_file), "purge", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["dry_run"] and len(json.loads(dry.stdout)["records"]) == 3
    assert station_store.samples(finished["printed"])
    done = run_kiosk("--config", str(config_file), "purge")
    assert done.returncode == 0 and "3 records purged" in done.stdout
    assert not station_store.samples(finished["printed"])
    listing = run_kiosk("--config", str(config_file), "records", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    stubs = [r for r in json.loads(listing.stdout) if r.get("purged")]
    assert {r["id"] for r in stubs} == {finished[k] for k in ("printed", "rejected", "cancelled")}
    assert all(r["nik"] == "" and r["name"] == "" for r in stubs)


def test_retention_days_is_typed_config(config_file: Path) -> None:
    from kiosk.config import load_config
    from kiosk.errors import ConfigError

    config_file.write_text(config_file.read_text() + '\n[retention]\ndays = "thirty"\n')
    with pytest.raises(ConfigError):
        load_config(config_file)


def test_purged_ciphertext_does_not_linger_in_the_database_file(station: Path, station_store: RecordStore,
                                                                finished: dict[str, str]) -> None:
    rid = finished["printed"]
    sealed = [r[0] for r in station_store.conn.execute("SELECT data FROM samples WHERE record_id = ?", (rid,))]
    sealed.append(station_store.conn.execute("SELECT identity FROM records WHERE id = ?", (rid,)).fetchone()[0])
    setting = station_store.conn.execute("PRAGMA secure_delete").fetchone()[0]
    purge_expired(station_store, 30, now=LATER)
    station_store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = (station / "station.db").read_bytes()
    assert all(blob[:32] not in raw for blob in sealed)  # freed pages were zeroed (secure_delete)
    assert station_store.conn.execute("PRAGMA secure_delete").fetchone()[0] == setting  # restored
