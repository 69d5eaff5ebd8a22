"""The sync read model: network state, progress, and what ``kiosk queue`` / the TUI show.

Nothing here writes records: :class:`NetworkMonitor` counts request outcomes in memory (the
worker saves a snapshot in ``sync_state`` for other processes), :func:`queue_status` reads the
queue, the network snapshot, the last errors and the quarantined answers.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from kiosk.central.permit import PrintPermit
from kiosk import permits as station_permits
from kiosk.store import RecordState, RecordStore
from kiosk.store.queue import now_iso
from kiosk.sync.schema import ensure_schema, get_state

S = RecordState
#: how many recent sync errors the technician sees
RECENT_ERRORS = 10


@dataclass(frozen=True)
class NetworkStatus:
    state: str  # unknown | online | degraded | offline
    last_success: str | None
    last_error: str | None
    consecutive_failures: int
    updated_at: str
    #: the newest failures, newest last: {"at", "code", "where"} (no personal data)
    recent_errors: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["recent_errors"] = list(self.recent_errors)
        return d


@dataclass(frozen=True)
class SyncProgress:
    """One update for a progress bar or the TUI's status line."""

    phase: str  # upload | decisions | idle
    done: int
    total: int
    bytes_sent: int
    decisions: int
    network: NetworkStatus
    record_id: str | None = None


class NetworkMonitor:
    def __init__(self, offline_after: int) -> None:
        self.offline_after = offline_after
        self._lock = threading.Lock()
        self.recent: deque[bool] = deque(maxlen=20)
        self.errors: deque[dict[str, Any]] = deque(maxlen=RECENT_ERRORS)
        self.consecutive = 0
        self.last_success: str | None = None
        self.last_error: str | None = None

    def ok(self) -> None:
        with self._lock:
            self.recent.append(True)
            self.consecutive = 0
            self.last_success = now_iso()

    def fail(self, code: str, where: str = "", params: Mapping[str, Any] | None = None) -> None:
        with self._lock:
            self.recent.append(False)
            self.consecutive += 1
            self.last_error = code
            self.errors.append(_error(code, where, params))

    def note(self, code: str, where: str = "", params: Mapping[str, Any] | None = None) -> None:
        """An error that is not the network's (a refusal, a quarantined answer)."""
        with self._lock:
            self.last_error = code
            self.errors.append(_error(code, where, params))

    def status(self) -> NetworkStatus:
        with self._lock:
            if not self.recent:
                state = "unknown"
            elif self.consecutive >= min(3, self.offline_after):
                state = "offline"
            elif not all(self.recent):
                state = "degraded"
            else:
                state = "online"
            return NetworkStatus(state, self.last_success, self.last_error, self.consecutive, now_iso(),
                                 tuple(self.errors))


def _error(code: str, where: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
    """One recent error as kept in the station's state: its catalog code with the parameters its
    sentence names (as text: the state is JSON), so it reads whole later (``kiosk queue``)."""
    return {"at": now_iso(), "code": code, "where": where, "params": {k: str(v) for k, v in (params or {}).items()}}


def quarantined(store: RecordStore, limit: int = RECENT_ERRORS) -> list[dict[str, Any]]:
    """The newest answers the station refused to apply, newest first."""
    ensure_schema(store)
    rows = store.conn.execute("SELECT at, source, code, seq, record_id, digest, detail FROM sync_quarantine"
                              " ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return [dict(r) for r in rows]


def last_errors(network: dict[str, Any], quarantine: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Network failures and quarantined answers in one list, newest first."""
    merged = [{"at": e["at"], "code": e["code"], "where": e.get("where", ""), "params": e.get("params") or {}}
              for e in network.get("recent_errors") or []]
    merged += [{"at": q["at"], "code": q["code"], "where": f"quarantine:{q['source']}", "params": {}} for q in quarantine]
    return sorted(merged, key=lambda e: e["at"], reverse=True)[:RECENT_ERRORS]


def deletion_status(store: RecordStore, record_id: str) -> dict[str, Any] | None:
    ensure_schema(store)
    row = store.conn.execute("SELECT * FROM sync_deletions WHERE record_id=?", (record_id,)).fetchone()
    return dict(row) if row else None


def permits(store: RecordStore, record_id: str) -> list[PrintPermit]:
    """Permits received for a record, oldest first (read from the print gate's ledger, the
    one permit store; the gate decides which to use)."""
    ensure_schema(store)
    return station_permits.held_permits(store, record_id)


def queue_status(store: RecordStore) -> dict[str, Any]:
    """What ``kiosk queue --json`` prints: counts per state, oldest waiting, pending bytes, network,
    the last errors and the quarantined answers."""
    ensure_schema(store)
    conn = store.conn
    oldest = store.oldest(S.QUEUED)
    built = conn.execute("SELECT COALESCE(SUM(p.length - p.offset), 0) FROM sync_packets p JOIN records r"
                         " ON r.id = p.record_id WHERE r.state='queued' AND p.packet IS NOT NULL"
                         " AND p.status='pending'").fetchone()[0]
    # not yet sealed: the samples' size is a close estimate of the packet's
    unbuilt = conn.execute("SELECT COALESCE(SUM(length(s.data)), 0) FROM samples s JOIN records r ON r.id = s.record_id"
                           " LEFT JOIN sync_packets p ON p.record_id = r.id WHERE r.state='queued'"
                           " AND (p.record_id IS NULL OR p.packet IS NULL)").fetchone()[0]
    refused = conn.execute("SELECT COUNT(*) FROM sync_packets p JOIN records r ON r.id = p.record_id"
                           " WHERE r.state='queued' AND p.status='refused'").fetchone()[0]
    raw = get_state(conn, "network")
    network = json.loads(raw) if raw else NetworkStatus("unknown", None, None, 0, now_iso()).to_dict()
    quarantine = quarantined(store)
    return {
        "counts": store.counts(),
        "oldest_waiting": oldest.updated_at if oldest else None,
        "oldest_waiting_s": (dt.datetime.now(dt.timezone.utc) - dt.datetime.fromisoformat(oldest.updated_at)
                             ).total_seconds() if oldest else None,
        "pending_bytes": int(built) + int(unbuilt),
        "refused": int(refused),
        "deletions_pending": conn.execute("SELECT COUNT(*) FROM sync_deletions WHERE status IN ('to_send','sent')"
                                          ).fetchone()[0],
        "network": network,
        "quarantined": conn.execute("SELECT COUNT(*) FROM sync_quarantine").fetchone()[0],
        "last_errors": last_errors(network, quarantine),
    }
