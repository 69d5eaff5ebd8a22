"""What the sync service calls: the daily maintenance and the per-pass hook."""

from __future__ import annotations

from pathlib import Path

from kiosk.config import Config
from kiosk.ops import stationkey
from kiosk.ops.audit import checkpoints, verify_audit_log
from kiosk.ops.export import export_queued, exported_unconfirmed
from kiosk.ops.service import on_sync_pass, run_daily
from kiosk.store import RecordState as S
from kiosk.store import RecordStore
from tests.ops.conftest import advance, queue_record


def test_daily_run_purges_confirms_and_signs(station: Path, station_store: RecordStore, config: Config,
                                             tmp_path: Path) -> None:
    cfg = config.__class__(**{**config.__dict__, "retention": config.retention.__class__(days=0)})
    done = queue_record(station_store, 1)
    advance(station_store, done, S.SUBMITTED, S.REJECTED)
    waiting = queue_record(station_store, 2)
    (tmp_path / "usb").mkdir()
    export_queued(station_store, tmp_path / "usb", seal_packet=lambda rid: b"x", key=stationkey.load(station),
                  station_id="TEST-01", actor="op")
    advance(station_store, waiting, S.SUBMITTED)
    result = run_daily(cfg, station_store)
    assert [c.record_id for c in result.purge.purged] == [done] and result.exports_confirmed == 1
    assert exported_unconfirmed(station_store) == set()
    last = station_store.conn.execute("SELECT MAX(seq) FROM audit").fetchone()[0]
    assert result.checkpoint is not None and result.checkpoint.seq == last
    assert verify_audit_log(station_store, stationkey.load(station).public_key()).ok


def test_sync_pass_signs_only_when_due(station: Path, station_store: RecordStore, config: Config) -> None:
    before = len(checkpoints(station_store.conn))
    queue_record(station_store, 1)
    assert on_sync_pass(config, station_store) is None  # 3 new entries < checkpoint_every (100)
    for serial in range(2, 36):
        queue_record(station_store, serial)
    assert on_sync_pass(config, station_store) is not None
    assert len(checkpoints(station_store.conn)) == before + 1
