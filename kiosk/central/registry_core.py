"""What both halves of the central registry stand on: its folder, keys, the database with its
lock and transactions (:mod:`kiosk.central.central_db`), and the registered stations.

:class:`kiosk.central.uploads.UploadIngest` (uploads and ingest) derives from it, and
:class:`kiosk.central.registry.CentralRegistry` (decisions, dedup, deletions, reprints) from
that: each half finds the stations and the transaction here, implemented once.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kiosk.central.central_db import CENTRAL_MIGRATIONS, RegistryTx, now_iso
from kiosk.central.keys import CentralKeys, ed25519_public_from_pem, public_pem
from kiosk.store.schema import migrate


class RegistryCore:
    def __init__(self, data_dir: Path, *, decision_delay_s: float = 2.0, keys: CentralKeys | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.keys = keys or CentralKeys.init(self.data_dir)
        self.decision_delay_s = decision_delay_s
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(self.data_dir / "central.db", isolation_level=None, timeout=30.0,
                                    check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA busy_timeout=30000")
        migrate(self.conn, "central", CENTRAL_MIGRATIONS)
        self._station_cache: dict[str, Ed25519PublicKey] = {}
        #: group commit (UploadIngest._group_sync): commits so far, and how many are known on disk
        self._commits = 0
        self._synced = 0
        self._sync_lock = threading.Lock()

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    def _tx(self, *, durable: bool = True) -> RegistryTx:
        return RegistryTx(self, durable)

    # -- stations -----------------------------------------------------------------------------
    def register_station(self, station_id: str, public_key: Ed25519PublicKey, region: str = "") -> None:
        pem = public_pem(public_key).decode()
        with self._tx() as c:
            c.execute("INSERT INTO stations(station_id, public_key, region, registered_at) VALUES (?,?,?,?)"
                      " ON CONFLICT(station_id) DO UPDATE SET public_key=excluded.public_key, region=excluded.region",
                      (station_id, pem, region, now_iso()))
        self._station_cache.pop(station_id, None)

    def station_key(self, station_id: str) -> Ed25519PublicKey | None:
        key = self._station_cache.get(station_id)
        if key is None:
            with self.lock:
                row = self.conn.execute("SELECT public_key FROM stations WHERE station_id=?", (station_id,)).fetchone()
            if row is None:
                return None
            key = self._station_cache[station_id] = ed25519_public_from_pem(row[0].encode())
        return key

    def station_region(self, station_id: str) -> str:
        with self.lock:
            row = self.conn.execute("SELECT region FROM stations WHERE station_id=?", (station_id,)).fetchone()
        return row[0] if row else ""
