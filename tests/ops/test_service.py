"""What the sync service calls: the daily maintenance and the per-pass hook."""

from __future__ import annotations

from pathlib import Path

from kiosk.config import Config
from kiosk.central.keys import StationKeys
from kiosk.ops.audit import checkpoints, verify_audit_log
from kiosk.ops.export import export_queued, exported_unconfirmed
from kiosk.ops.retention import is_purged
from kiosk.ops.service import on_sync_pass, run_daily
from kiosk.store import RecordState as S
from kiosk.store import RecordStore
from kiosk.sync.worker import sealer_for_station
from tests.ops.conftest import advance, queue_record


def test_daily_run_purges_confirms_and_signs(station: Path, station_store: RecordStore, config: Config,
                                             tmp_path: Path) -> None:
    cfg = config.__class__(**{**config.__dict__, "retention": config.retention.__class__(days=0)})
    done = queue_record(station_store, 1)
    advance(station_store, done, S.SUBMITTED, S.REJECTED)
    waiting = queue_record(station_store, 2)
    (tmp_path / "usb").mkdir()
    export_queued(station_store, tmp_path / "usb", seal_packet=sealer_for_station(config, station_store),
                  key=StationKeys.load(station).signing, station_id="TEST-01", actor="op")
    advance(station_store, waiting, S.SUBMITTED)
    result = run_daily(cfg, station_store)
    assert [c.record_id for c in result.purge.purged] == [done] and result.exports_confirmed == 1
    assert exported_unconfirmed(station_store) == set()
    last = station_store.conn.execute("SELECT MAX(seq) FROM audit").fetchone()[0]
    assert result.checkpoint is not None and result.checkpoint.seq == last
    assert verify_audit_log(station_store, StationKeys.load(station).public).ok


def test_sync_pass_signs_only_when_due(station: Path, station_store: RecordStore, config: Config) -> None:
    before = len(checkpoints(station_store.conn))
    queue_record(station_store, 1)
    assert on_sync_pass(config, station_store) is None  # 3 new entries < checkpoint_every (100)
    for serial in range(2, 36):
        queue_record(station_store, serial)
    assert on_sync_pass(config, station_store) is not None
    assert len(checkpoints(station_store.conn)) == before + 1


def test_sync_worker_runs_the_daily_maintenance_once_a_day(station: Path, station_store: RecordStore,
                                                           config: Config, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """After each pass the worker calls on_sync_pass, and run_daily on the first pass of a day;
    the day is kept in sync_state, so a restarted worker does not run it again that day."""
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    import kiosk.ops.service as service
    from kiosk.ops.service import Upkeep
    from kiosk.sync.client import CentralClient
    from kiosk.sync.worker import SyncWorker

    cfg = config.__class__(**{**config.__dict__, "retention": config.retention.__class__(days=0)})
    done = queue_record(station_store, 1)
    advance(station_store, done, S.SUBMITTED, S.REJECTED)
    calls = {"pass": 0, "daily": 0}
    real_pass, real_daily = service.on_sync_pass, service.run_daily

    def counting_pass(*a, **kw):  # type: ignore[no-untyped-def]
        calls["pass"] += 1
        return real_pass(*a, **kw)

    def counting_daily(*a, **kw):  # type: ignore[no-untyped-def]
        calls["daily"] += 1
        return real_daily(*a, **kw)

    monkeypatch.setattr(service, "on_sync_pass", counting_pass)
    monkeypatch.setattr(service, "run_daily", counting_daily)
    key = StationKeys.load(station).signing
    central = X25519PrivateKey.generate().public_key()

    def worker() -> SyncWorker:  # the central is unreachable: passes still end with the upkeep
        client = CentralClient("http://127.0.0.1:9", "TEST-01", key, timeout_s=0.5)
        return SyncWorker(station_store, client, station_id="TEST-01", station_key=key, sealing_key=central,
                          permit_key=StationKeys.load(station).public, after_pass=Upkeep(cfg, station_store),
                          closers=(client.close,))

    first = worker()
    monkeypatch.setattr(Upkeep, "today", staticmethod(lambda: "2026-11-23"))
    first.run_once()
    first.run_once()
    first.close()
    assert calls == {"pass": 2, "daily": 1} and is_purged(station_store, done)
    restarted = worker()
    restarted.run_once()
    assert calls == {"pass": 3, "daily": 1}
    monkeypatch.setattr(Upkeep, "today", staticmethod(lambda: "2026-11-24"))
    restarted.run_once()
    restarted.close()
    assert calls == {"pass": 4, "daily": 2}
    assert verify_audit_log(station_store, StationKeys.load(station).public).ok
