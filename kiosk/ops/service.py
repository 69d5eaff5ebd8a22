"""What the sync service runs for station operations (once a day, and on each pass).

Called by :meth:`kiosk.sync.worker.SyncWorker.maintain` after every pass of ``kiosk sync`` (and
of the TUI's sync thread); the worker keeps the day of the last daily run in ``sync_state``."""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.central.keys import StationKeys
from kiosk.config import Config
from kiosk.ops.audit import Checkpoint, checkpoint_if_due
from kiosk.ops.export import confirm_exports
from kiosk.ops.retention import PurgeResult, purge_expired
from kiosk.ops.tables import ensure_ops_tables
from kiosk.store import RecordStore


@dataclass(frozen=True)
class MaintenanceResult:
    purge: PurgeResult
    exports_confirmed: int
    checkpoint: Checkpoint | None


def on_sync_pass(cfg: Config, store: RecordStore) -> Checkpoint | None:
    """Cheap, after each sync pass: confirm exports the central now holds, sign if due."""
    ensure_ops_tables(store)
    confirm_exports(store)
    return checkpoint_if_due(store, StationKeys.init(cfg.station.data_dir).signing, cfg.audit.checkpoint_every)


def run_daily(cfg: Config, store: RecordStore, *, actor: str = "sync") -> MaintenanceResult:
    """Once a day from the sync service: retention purge, export confirmation, a signed checkpoint."""
    ensure_ops_tables(store)
    purged = purge_expired(store, cfg.retention.days, actor=actor)
    confirmed = confirm_exports(store)
    cp = checkpoint_if_due(store, StationKeys.init(cfg.station.data_dir).signing, 1)
    return MaintenanceResult(purged, confirmed, cp)


def sign_checkpoint(cfg: Config, store: RecordStore) -> Checkpoint | None:
    """Sign the newest audit entry now: at every print (the gate) and every sync exchange, so
    the unsigned tail is at most what happened since the last one. None when already signed
    or the log is empty."""
    from kiosk.ops.audit import checkpoint

    ensure_ops_tables(store)
    return checkpoint(store, StationKeys.init(cfg.station.data_dir).signing)
