"""What the sync service runs for station operations (once a day, and on each pass).

:class:`Upkeep` is what :class:`kiosk.station.Station` schedules after every sync pass of
``kiosk sync`` (and of the TUI's sync thread); it keeps the day of the last daily run in
``sync_state``."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kiosk.central.keys import StationKeys
from kiosk.config import Config
from kiosk.i18n import station_today
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


class Upkeep:
    """The station's upkeep after each sync pass: :func:`on_sync_pass` every time,
    :func:`run_daily` on the first pass of each day. The day of the last daily run is kept in
    ``sync_state``, so a restarted station does not run it again the same day (a crash between
    the run and that write only reruns it, which is harmless: purging and confirming are
    idempotent)."""

    def __init__(self, cfg: Config, store: RecordStore, *, actor: str = "sync") -> None:
        self.cfg = cfg
        self.store = store
        self.actor = actor

    @staticmethod
    def today() -> str:
        """The station's calendar day ([station] timezone: "once a day" is the office's day)."""
        return station_today().isoformat()

    def __call__(self) -> None:
        from kiosk.sync.schema import ensure_schema, get_state, set_state

        log = logging.getLogger("kiosk.ops.service")
        ensure_schema(self.store)
        on_sync_pass(self.cfg, self.store)
        day = self.today()
        if get_state(self.store.conn, "daily_run") != day:
            result = run_daily(self.cfg, self.store, actor=self.actor)
            with self.store.transaction() as conn:
                set_state(conn, "daily_run", day)
            log.info("daily maintenance done", extra={"purged": len(result.purge.purged),
                                                      "exports_confirmed": result.exports_confirmed})
