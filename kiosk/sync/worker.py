"""SyncWorker: moves queued records to the central and applies its decisions.

Durability rules (the station may be killed at any instant):
- A record's sealed packet is built once and stored (``sync_packets``), so every retry sends
  identical bytes; the central keys uploads by (record id, submission), so a retry or replay
  never creates a second copy.
- A record becomes ``submitted`` only after the central answered that the whole packet
  arrived (the final chunk, a HEAD saying complete, or "already complete"), in the same
  transaction that marks the packet confirmed.
- Decisions are applied in the transaction that advances the decision cursor, so one is
  never applied twice or lost. An approval's permit is stored where the print gate reads it
  (:func:`kiosk.permits.receive`) in the transaction that moves the record to
  approved; so is the new permit answering a reprint request the gate queued for a spoiled card. A decision for a record still ``queued`` (killed before the
  confirmation was written) confirms it first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import random
import sqlite3
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from kiosk.central.carddata import card_data_from_store
from kiosk.central.packet import build_content, seal
from kiosk.central.permit import PermitError, PrintPermit, card_data_hash
from kiosk.errors import ConfigError, InputError
from kiosk import permits as station_permits
from kiosk.ops.export import upload_order
from kiosk.store import IllegalTransition, RecordState, RecordStore
from kiosk.store.queue import UnknownRecord, now_iso
from kiosk.store.schema import migrate
from kiosk.sync.client import CentralClient, CentralRefused, CentralUnavailable

log = logging.getLogger(__name__)
ACTOR = "sync"
S = RecordState

SYNC_MIGRATIONS: list[Any] = [
    """
    CREATE TABLE sync_packets (
        record_id TEXT PRIMARY KEY REFERENCES records(id),
        submission INTEGER NOT NULL DEFAULT 1,
        packet BLOB,
        sha256 TEXT,
        length INTEGER NOT NULL DEFAULT 0,
        offset INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL DEFAULT 'pending',
        error TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        confirmed_at TEXT
    );
    CREATE TABLE sync_decisions (
        record_id TEXT PRIMARY KEY REFERENCES records(id),
        submission INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        decision TEXT NOT NULL,
        reason TEXT,
        duplicate_of TEXT,
        decided_at TEXT NOT NULL,
        applied_at TEXT NOT NULL,
        note TEXT
    );
    CREATE TABLE sync_permits (
        permit_id TEXT PRIMARY KEY,
        record_id TEXT NOT NULL REFERENCES records(id),
        permit TEXT NOT NULL,
        source TEXT NOT NULL,
        received_at TEXT NOT NULL
    );
    CREATE INDEX sync_permits_record ON sync_permits(record_id);
    CREATE TABLE sync_deletions (
        record_id TEXT PRIMARY KEY REFERENCES records(id),
        submission INTEGER NOT NULL,
        request_id TEXT,
        status TEXT NOT NULL,
        reason TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        requested_at TEXT NOT NULL,
        answered_at TEXT,
        error TEXT
    );
    CREATE TABLE sync_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )
    """,
]


SYNC_MIGRATIONS.append(station_permits.adopt_sync_permits)  # one permit store (kiosk.permits)


def ensure_schema(store: RecordStore) -> None:
    migrate(store.conn, "sync", SYNC_MIGRATIONS)


@dataclass(frozen=True)
class SyncSettings:
    timeout_s: float = 10.0
    poll_interval_s: float = 2.0
    chunk_size: int = 262144
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 60.0
    parallel: int = 2
    #: tries per record within one pass before it waits for the next pass
    attempts_per_pass: int = 6
    #: consecutive failed requests after which the network counts as offline and a pass stops
    offline_after: int = 4


@dataclass(frozen=True)
class NetworkStatus:
    state: str  # unknown | online | degraded | offline
    last_success: str | None
    last_error: str | None
    consecutive_failures: int
    updated_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
        self.consecutive = 0
        self.last_success: str | None = None
        self.last_error: str | None = None

    def ok(self) -> None:
        with self._lock:
            self.recent.append(True)
            self.consecutive = 0
            self.last_success = now_iso()

    def fail(self, code: str) -> None:
        with self._lock:
            self.recent.append(False)
            self.consecutive += 1
            self.last_error = code

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
            return NetworkStatus(state, self.last_success, self.last_error, self.consecutive, now_iso())


def _set_state(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT INTO sync_state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                 (key, value))


def _get_state(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM sync_state WHERE key=?", (key,)).fetchone()
    return row[0] if row else None


class SyncWorker:
    def __init__(self, store: RecordStore, client: CentralClient, *, station_id: str, station_key: Ed25519PrivateKey,
                 sealing_key: X25519PublicKey, permit_key: Ed25519PublicKey, settings: SyncSettings | None = None,
                 on_progress: Callable[[SyncProgress], None] | None = None, seed: int | None = None,
                 closers: tuple[Callable[[], None], ...] = (), maintenance: Any = None) -> None:
        self.store = store
        self.client = client
        self.station_id = station_id
        self.station_key = station_key
        self.sealing_key = sealing_key
        self.permit_key = permit_key
        self.settings = settings or SyncSettings()
        self.on_progress = on_progress
        self.monitor = NetworkMonitor(self.settings.offline_after)
        self.stop_event = threading.Event()
        self._rng = random.Random(seed)
        self._abort_pass = threading.Event()
        self._lock = threading.Lock()
        self._bytes_sent = 0
        self._done = 0
        self._total = 0
        self._decisions = 0
        self._closers = closers
        #: the station Config when the worker runs station operations after its passes
        #: (kiosk.ops.service: audit checkpoints, export confirmation, the daily retention purge)
        self.maintenance = maintenance
        self._network_saved = 0.0
        self._thread: threading.Thread | None = None
        ensure_schema(store)

    # -- construction from config -------------------------------------------------------------
    @classmethod
    def from_config(cls, cfg: Any, store: RecordStore | None = None, *,
                    on_progress: Callable[[SyncProgress], None] | None = None,
                    settings: SyncSettings | None = None) -> "SyncWorker":
        """The worker for a station config: starts the local central when ``url = "local"``."""
        from kiosk.central.keys import StationKeys, load_x25519_public
        from kiosk.central.pinning import pinned_permit_key

        store = store or RecordStore(cfg.station.data_dir, policy=cfg.policy)
        station = StationKeys.init(cfg.station.data_dir)
        c = cfg.central
        closers: list[Callable[[], None]] = []
        if c.url == "local":
            from kiosk.central.local import start_local_central

            handle = start_local_central(cfg)  # creates the local central's keys at first start
            closers.append(handle.close)
            url, sealing_key = handle.url, handle.sealing_public
        else:
            if c.public_key is None or c.sealing_key is None:
                raise ConfigError("config.missing_key", file=str(cfg.path), key="central.public_key / central.sealing_key",
                                  expected="PEM files of the central's keys")
            url, sealing_key = c.url, load_x25519_public(c.sealing_key)
        permit_key = pinned_permit_key(cfg)  # the same key the print gate pins
        settings = settings or SyncSettings(timeout_s=c.timeout_s, poll_interval_s=c.poll_interval_s,
                                            chunk_size=c.chunk_size, backoff_cap_s=c.backoff_cap_s,
                                            parallel=c.parallel_uploads)
        client = CentralClient(url, cfg.station.id, station.signing, timeout_s=settings.timeout_s)
        closers.insert(0, client.close)
        return cls(store, client, station_id=cfg.station.id, station_key=station.signing, sealing_key=sealing_key,
                   permit_key=permit_key, settings=settings, on_progress=on_progress, closers=tuple(closers),
                   maintenance=cfg)

    def close(self) -> None:
        self.stop()
        for close in self._closers:
            close()

    # -- progress and network state ------------------------------------------------------------
    def network(self) -> NetworkStatus:
        return self.monitor.status()

    def _report(self, phase: str, record_id: str | None = None) -> None:
        if self.on_progress is None:
            return
        with self._lock:
            p = SyncProgress(phase, self._done, self._total, self._bytes_sent, self._decisions, self.network(), record_id)
        try:
            self.on_progress(p)
        except Exception:  # a broken progress display must not stop the sync
            log.exception("progress callback failed")

    def _save_network(self) -> None:
        with self.store.transaction() as conn:
            _set_state(conn, "network", json.dumps(self.network().to_dict()))

    def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One request, with its outcome counted for the network state."""
        try:
            result = fn(*args, **kwargs)
        except CentralUnavailable as exc:
            self.monitor.fail(exc.code)
            if self.monitor.consecutive >= self.settings.offline_after:
                self._abort_pass.set()
            self._save_network_soon()
            raise
        except CentralRefused:
            self.monitor.ok()  # the central answered: the network works
            raise
        self.monitor.ok()
        self._save_network_soon()
        return result

    def _save_network_soon(self) -> None:
        """Publish the network state for other processes (``kiosk queue``) at most once a second."""
        now = time.monotonic()
        with self._lock:
            if now - self._network_saved < 1.0:
                return
            self._network_saved = now
        try:
            self._save_network()
        except sqlite3.OperationalError:  # busy: the next one will do
            pass

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^attempt)]."""
        s = self.settings
        return self._rng.uniform(0, min(s.backoff_cap_s, s.backoff_base_s * (2 ** attempt)))

    # -- packets ------------------------------------------------------------------------------
    def _packet_row(self, record_id: str) -> sqlite3.Row | None:
        return self.store.conn.execute("SELECT * FROM sync_packets WHERE record_id=?", (record_id,)).fetchone()

    def ensure_packet(self, record_id: str) -> sqlite3.Row | None:
        """The stored sealed packet of a queued record, built (once) if need be."""
        return self._ensure_packet(record_id)[0]

    def _ensure_packet(self, record_id: str) -> tuple[sqlite3.Row | None, bool]:
        """(packet row, built by this call). A packet built earlier may be partly uploaded."""
        return stored_packet(self.store, record_id, station_id=self.station_id, station_key=self.station_key,
                             sealing_key=self.sealing_key)

    def _confirm(self, record_id: str, submission: int) -> None:
        """The central holds the whole packet: queued -> submitted, packet confirmed, one transaction."""
        def mark(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE sync_packets SET status='confirmed', confirmed_at=?, offset=length, packet=NULL"
                         " WHERE record_id=? AND submission=?", (now_iso(), record_id, submission))
        try:
            self.store.transition(record_id, S.SUBMITTED, actor=ACTOR, expect=S.QUEUED,
                                  params={"submission": submission}, extra=mark)
        except IllegalTransition:
            with self.store.transaction() as conn:
                mark(conn)

    def _refuse(self, record_id: str, exc: CentralRefused) -> None:
        with self.store.transaction() as conn:
            conn.execute("UPDATE sync_packets SET status='refused', error=? WHERE record_id=?",
                         (json.dumps({"code": exc.code, "params": exc.params}), record_id))
            self.store.write_audit(conn, ACTOR, "sync_refused", record_id=record_id, reason=exc.code,
                                   params={k: str(v) for k, v in exc.params.items()})

    def _upload_once(self, record_id: str) -> str:
        row, fresh = self._ensure_packet(record_id)
        if row is None or self.store.get(record_id).state is not S.QUEUED:
            return "skipped"
        if row["status"] == "refused":
            return "refused"
        if row["status"] == "confirmed":
            return "skipped"
        blob: bytes = row["packet"]
        submission, length = row["submission"], row["length"]
        url = f"/v1/uploads/{record_id}/{submission}"
        answer = None
        if not fresh:  # built before this try, so maybe partly sent: ask how much arrived
            answer = self._call(self.client.upload_offset, url)
        if answer is None:
            answer = self._call(self.client.create_upload, record_id, submission, length, row["sha256"])
        offset = answer.offset
        while not answer.complete:
            if self.stop_event.is_set():
                return "deferred"
            chunk = blob[offset:offset + self.settings.chunk_size]
            try:
                answer = self._call(self.client.send_chunk, answer.url, offset, chunk)
            except CentralRefused as exc:
                if exc.code == "upload.offset_mismatch" and "offset" in exc.params:
                    offset = int(exc.params["offset"])
                    continue
                if exc.code in ("upload.unknown", "upload.checksum"):
                    answer = self._call(self.client.create_upload, record_id, submission, length, row["sha256"])
                    offset = answer.offset
                    continue
                raise
            with self._lock:
                self._bytes_sent += answer.offset - offset
            offset = answer.offset
        self._confirm(record_id, submission)
        return "confirmed"

    def upload_record(self, record_id: str, *, max_attempts: int | None = None) -> str:
        """Send one record's packet, resuming and retrying with backoff.

        Returns confirmed | refused | deferred (try again in a later pass) | skipped."""
        attempt = 0
        while not self.stop_event.is_set() and not self._abort_pass.is_set():
            try:
                return self._upload_once(record_id)
            except CentralUnavailable:
                attempt += 1
                if max_attempts is not None and attempt >= max_attempts:
                    return "deferred"
                self.stop_event.wait(self.backoff(attempt))
            except CentralRefused as exc:
                if exc.code.startswith("auth."):
                    # station not registered / clock wrong: nothing a retry of this record fixes
                    self.monitor.last_error = exc.code
                    self._abort_pass.set()
                    return "deferred"
                self._refuse(record_id, exc)
                return "refused"
        return "deferred"

    # -- decisions ----------------------------------------------------------------------------
    def cursor(self) -> int:
        return int(_get_state(self.store.conn, "cursor") or 0)

    def pull_decisions(self) -> int:
        applied = 0
        while not self.stop_event.is_set():
            items, _, more = self._call(self.client.decisions, self.cursor())
            for d in items:
                self.apply_decision(d)
                applied += 1
            if not more or not items:
                break
        with self._lock:
            self._decisions += applied
        if applied:
            self._report("decisions")
        return applied

    def _verify_permit(self, record_id: str, permit: PrintPermit) -> None:
        card = card_data_from_store(self.store, record_id, issued_at=permit.issued_at)
        permit.verify(self.permit_key, station_id=self.station_id, record_id=record_id, card_hash=card_data_hash(card))

    def apply_decision(self, d: dict[str, Any]) -> str:
        """Apply one decision from the central; returns what happened (applied, stale, refused_permit)."""
        seq, record_id, submission, decision = int(d["seq"]), str(d["record_id"]), int(d["submission"]), str(d["decision"])

        def advance(conn: sqlite3.Connection) -> None:
            if seq > int(_get_state(conn, "cursor") or 0):
                _set_state(conn, "cursor", str(seq))

        def skip() -> str:
            with self.store.transaction() as conn:
                advance(conn)
            return "stale"

        try:
            rec = self.store.get(record_id)
        except UnknownRecord:
            return skip()
        pkt = self._packet_row(record_id)
        if pkt is None or pkt["submission"] != submission:
            return skip()
        if rec.state is S.QUEUED:
            self._confirm(record_id, submission)  # the central has it whole: it decided on it
            rec = self.store.get(record_id)
        if rec.state is not S.SUBMITTED:
            return skip()

        reason = d.get("reason") or None
        dup = d.get("duplicate_of") or None
        permit: PrintPermit | None = None
        if decision == "approved":
            try:
                permit = station_permits.parse_permit(d.get("permit"))
                self._verify_permit(record_id, permit)
            except PermitError as exc:
                # a permit that does not verify is never stored; the record stays submitted and
                # the operator can ask for a new one (reprint request) once the cause is found
                with self.store.transaction() as conn:
                    self.store.write_audit(conn, ACTOR, "permit_refused", record_id=record_id, reason=exc.code,
                                           params={k: str(v) for k, v in exc.params.items()})
                    conn.execute(
                        "INSERT OR REPLACE INTO sync_decisions(record_id, submission, seq, decision, reason,"
                        " duplicate_of, decided_at, applied_at, note) VALUES (?,?,?,?,?,?,?,?,?)",
                        (record_id, submission, seq, decision, None, None, d.get("decided_at", ""), now_iso(),
                         exc.code))
                    advance(conn)
                return "refused_permit"

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR REPLACE INTO sync_decisions(record_id, submission, seq, decision, reason, duplicate_of,"
                " decided_at, applied_at, note) VALUES (?,?,?,?,?,?,?,?,NULL)",
                (record_id, submission, seq, decision, json.dumps(reason) if reason else None,
                 json.dumps(dup) if dup else None, d.get("decided_at", ""), now_iso()))
            if permit is not None:
                station_permits.receive(self.store, conn, permit, record_id=record_id, actor=ACTOR, source="approval")
            advance(conn)

        target = {"approved": S.APPROVED, "rejected": S.REJECTED, "duplicate": S.DUPLICATE}.get(decision)
        if target is None:
            return skip()
        params: dict[str, Any] = {"seq": seq}
        if dup:
            params["duplicate_of"] = dup
        if reason:
            params["reason"] = reason
        self.store.transition(record_id, target, actor=ACTOR, expect=S.SUBMITTED,
                              reason=(reason or {}).get("code", ""), params=params, extra=write)
        return "applied"

    def request_reprint(self, record_id: str, reason: str, permit_id: str | None = None, *,
                        request_id: int | None = None) -> PrintPermit:
        """Ask the central for a new permit (spoiled card); it is verified like any permit and
        stored where the print gate reads it, in one transaction with the answered reprint
        request ``request_id`` (a row of the gate's ``reprint_requests``) if given.
        Raises CentralUnavailable / CentralRefused / PermitError."""
        permit = self._call(self.client.request_reprint, record_id, reason, permit_id)
        self._verify_permit(record_id, permit)
        with self.store.transaction() as conn:
            station_permits.receive(self.store, conn, permit, record_id=record_id, actor=ACTOR, source="reprint")
            if request_id is not None:
                station_permits.reprint_answered(conn, request_id, new_permit_id=permit.permit_id)
            self.store.write_audit(conn, ACTOR, "reprint_permit", record_id=record_id, reason=reason,
                                   params={"permit_id": permit.permit_id, "replaces": permit_id or ""})
        return permit

    def process_reprints(self) -> int:
        """Send the reprint requests the print gate queued for spoiled cards; returns the new
        permits stored. A request the central refuses, or whose permit does not verify, is
        closed with that code (audited) rather than asked again every pass."""
        got = 0
        for req in station_permits.reprint_requests(self.store, unsent_only=True):
            if self.stop_event.is_set():
                break
            try:
                self.request_reprint(req["record_id"], req["reason"], req["permit_id"], request_id=req["id"])
                got += 1
            except (CentralRefused, PermitError) as exc:
                with self.store.transaction() as conn:
                    station_permits.reprint_answered(conn, req["id"], error=exc.code)
                    self.store.write_audit(conn, ACTOR, "reprint_refused", record_id=req["record_id"],
                                           reason=exc.code, params={k: str(v) for k, v in exc.params.items()})
        return got

    # -- deletion requests --------------------------------------------------------------------
    def process_deletions(self) -> int:
        moved = 0
        rows = self.store.conn.execute("SELECT * FROM sync_deletions WHERE status IN ('to_send','sent')").fetchall()
        for row in rows:
            record_id = row["record_id"]
            try:
                if row["status"] == "to_send":
                    answer = self._call(self.client.request_deletion, record_id, row["reason"])
                    with self.store.transaction() as conn:
                        conn.execute("UPDATE sync_deletions SET request_id=?, status='sent' WHERE record_id=?",
                                     (answer["request_id"], record_id))
                else:
                    answer = self._call(self.client.deletion_status, row["request_id"])
            except CentralRefused as exc:
                with self.store.transaction() as conn:
                    conn.execute("UPDATE sync_deletions SET status='refused', error=?, answered_at=? WHERE record_id=?",
                                 (exc.code, now_iso(), record_id))
                    self.store.write_audit(conn, ACTOR, "deletion_refused", record_id=record_id, reason=exc.code)
                continue
            if answer["status"] == "done":
                moved += self._resubmit(record_id)
        return moved

    def _resubmit(self, record_id: str) -> int:
        """The central deleted the earlier record: duplicate -> queued, as a new submission."""
        def reset(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE sync_deletions SET status='done', answered_at=? WHERE record_id=?",
                         (now_iso(), record_id))
            conn.execute("UPDATE sync_packets SET submission=submission+1, packet=NULL, sha256=NULL, length=0,"
                         " offset=0, status='pending', error=NULL, attempts=0, confirmed_at=NULL WHERE record_id=?",
                         (record_id,))
        try:
            self.store.transition(record_id, S.QUEUED, actor=ACTOR, expect=S.DUPLICATE, reason="deletion_done",
                                  extra=reset)
        except IllegalTransition:
            with self.store.transaction() as conn:
                conn.execute("UPDATE sync_deletions SET status='done', answered_at=? WHERE record_id=?",
                             (now_iso(), record_id))
            return 0
        return 1

    # -- passes -------------------------------------------------------------------------------
    def pending_records(self) -> list[str]:
        """Queued records to send, oldest first, but those not on a USB stick before those
        that are (kiosk.ops.export.upload_order: an exported record may reach the central by
        hand, so the link is spent on the ones that cannot)."""
        rows = self.store.conn.execute(
            "SELECT r.id FROM records r LEFT JOIN sync_packets p ON p.record_id = r.id"
            " WHERE r.state = 'queued' AND (p.status IS NULL OR p.status = 'pending') ORDER BY r.updated_at, r.id"
        ).fetchall()
        return upload_order(self.store, [r[0] for r in rows])

    def run_once(self) -> dict[str, int]:
        """One pass: decisions, deletion requests, every queued record, decisions again."""
        self._abort_pass.clear()
        report = {"confirmed": 0, "refused": 0, "deferred": 0, "skipped": 0, "decisions": 0, "resubmitted": 0,
                  "reprints": 0}
        try:
            report["decisions"] += self.pull_decisions()
            report["resubmitted"] += self.process_deletions()
            report["reprints"] = self.process_reprints()
        except CentralUnavailable:
            pass
        except CentralRefused as exc:  # e.g. auth.unknown_station: uploads will say the same
            self.monitor.last_error = exc.code
        pending = self.pending_records()
        with self._lock:
            self._done, self._total = 0, len(pending)
        self._report("upload")

        def one(record_id: str) -> str:
            if self._abort_pass.is_set() or self.stop_event.is_set():
                return "deferred"
            outcome = self.upload_record(record_id, max_attempts=self.settings.attempts_per_pass)
            with self._lock:
                self._done += 1
            self._report("upload", record_id)
            return outcome

        if pending:
            if self.settings.parallel <= 1:
                outcomes = [one(r) for r in pending]
            else:
                with ThreadPoolExecutor(self.settings.parallel, thread_name_prefix="sync-upload") as pool:
                    outcomes = list(pool.map(one, pending))
            for o in outcomes:
                report[o] += 1
        try:
            report["decisions"] += self.pull_decisions()
        except CentralUnavailable:
            pass
        except CentralRefused as exc:
            self.monitor.last_error = exc.code
        self._save_network()
        self.maintain()
        self._report("idle")
        return report

    # -- station operations after a pass -------------------------------------------------------
    @staticmethod
    def today() -> str:
        """The station's calendar day (local time: "once a day" is the office's day)."""
        return dt.datetime.now().astimezone().date().isoformat()

    def maintain(self) -> None:
        """kiosk.ops.service after a pass: ``on_sync_pass`` every time, ``run_daily`` on the
        first pass of each day. The day of the last daily run is kept in ``sync_state``, so a
        restarted worker does not run it again the same day (a crash between the run and that
        write only reruns it, which is harmless: purging and confirming are idempotent)."""
        if self.maintenance is None:
            return
        from kiosk.ops.service import on_sync_pass, run_daily

        try:
            on_sync_pass(self.maintenance, self.store)
            day = self.today()
            if _get_state(self.store.conn, "daily_run") != day:
                result = run_daily(self.maintenance, self.store, actor=ACTOR)
                with self.store.transaction() as conn:
                    _set_state(conn, "daily_run", day)
                log.info("daily maintenance done", extra={"purged": len(result.purge.purged),
                                                          "exports_confirmed": result.exports_confirmed})
        except Exception:  # station upkeep must never stop records from moving
            log.exception("station maintenance after the sync pass failed")

    def run_forever(self) -> None:
        """Passes until :meth:`stop`: waits ``poll_interval_s`` when idle, backs off when offline."""
        failures = 0
        while not self.stop_event.is_set():
            try:
                report = self.run_once()
            except Exception:  # keep the worker alive (e.g. database busy); the next pass retries
                log.exception("sync pass failed")
                report = {"deferred": 1}
            if report.get("deferred") or self._abort_pass.is_set():
                failures += 1
                self.stop_event.wait(self.backoff(failures))
            else:
                failures = 0
                self.stop_event.wait(self.settings.poll_interval_s)

    def start_thread(self) -> threading.Thread:
        """Run in a daemon thread (the TUI); progress goes to ``on_progress``."""
        self.stop_event.clear()
        self._thread = threading.Thread(target=self.run_forever, name="sync-worker", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        self.stop_event.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=self.settings.timeout_s + 5)
            self._thread = None


# -- sealed packets ------------------------------------------------------------------------------
def stored_packet(store: RecordStore, record_id: str, *, station_id: str, station_key: Ed25519PrivateKey,
                  sealing_key: X25519PublicKey) -> tuple[sqlite3.Row | None, bool]:
    """The stored sealed packet of a queued record, sealed (once) if need be: (row, sealed now).

    Every path that sends a record (an upload, a resumed upload, an offline export) takes its
    bytes from here, so the central sees one packet per record submission however it arrives."""
    ensure_schema(store)
    row = store.conn.execute("SELECT * FROM sync_packets WHERE record_id=?", (record_id,)).fetchone()
    if row is not None and row["packet"] is not None:
        return row, False
    if store.get(record_id).state is not S.QUEUED:
        return row, False
    submission = row["submission"] if row is not None else 1
    blob = seal(build_content(store, record_id, station_id), record_id=record_id, station_id=station_id,
                submission=submission, station_key=station_key, central_key=sealing_key)
    sha = hashlib.sha256(blob).hexdigest()
    # No fsync for this commit (WAL, synchronous=NORMAL: it still survives kill -9). Lost in a
    # power cut, the packet is sealed again, and the central takes a re-sealed packet of the
    # same submission as the same upload (restarted if incomplete, "complete" if stored).
    conn = store.conn
    conn.execute("PRAGMA synchronous=NORMAL")
    try:
        fresh = _store_packet(store, record_id, submission, blob, sha)
    finally:
        conn.execute("PRAGMA synchronous=FULL")
    return store.conn.execute("SELECT * FROM sync_packets WHERE record_id=?", (record_id,)).fetchone(), fresh


def _store_packet(store: RecordStore, record_id: str, submission: int, blob: bytes, sha: str) -> bool:
    fresh = True
    with store.transaction() as conn:
        current = conn.execute("SELECT packet FROM sync_packets WHERE record_id=?", (record_id,)).fetchone()
        if current is None:
            conn.execute("INSERT INTO sync_packets(record_id, submission, packet, sha256, length, attempts,"
                         " created_at) VALUES (?,?,?,?,?,1,?)",
                         (record_id, submission, blob, sha, len(blob), now_iso()))
        elif current[0] is None:
            conn.execute("UPDATE sync_packets SET packet=?, sha256=?, length=?, offset=0, status='pending',"
                         " error=NULL, attempts=1 WHERE record_id=?", (blob, sha, len(blob), record_id))
        else:  # another worker built it meanwhile: keep theirs (it may be on its way already)
            fresh = False
    return fresh


def sealing_key_for(cfg: Any) -> X25519PublicKey:
    """The central's X25519 key packets are sealed to, from the config alone (no connection):
    the local central's key file for ``url = "local"`` (created at first use), else the pinned one."""
    from kiosk.central.keys import CentralKeys, load_x25519_public

    c = cfg.central
    if c.url == "local":
        return CentralKeys.init(c.local.data_dir).sealing_public
    if c.sealing_key is None:
        raise ConfigError("config.missing_key", file=str(cfg.path), key="central.sealing_key",
                          expected="PEM file of the central's X25519 key")
    return load_x25519_public(c.sealing_key)


def sealer_for_station(cfg: Any, store: RecordStore) -> Callable[[str], bytes]:
    """record id -> the sealed packet bytes ``kiosk export`` writes to the stick: exactly the
    packet the sync worker stores and uploads (:func:`stored_packet`), so a record exported
    and later uploaded is one and the same upload at the central. Opens no connection."""
    from kiosk.central.keys import StationKeys

    station_key = StationKeys.init(cfg.station.data_dir).signing
    sealing_key = sealing_key_for(cfg)

    def seal_packet(record_id: str) -> bytes:
        row, _ = stored_packet(store, record_id, station_id=cfg.station.id, station_key=station_key,
                               sealing_key=sealing_key)
        if row is None or row["packet"] is None:
            raise InputError("sync.not_queued", record_id=record_id)
        return bytes(row["packet"])

    return seal_packet


# -- functions for the UI and the CLI ----------------------------------------------------------
def request_deletion(store: RecordStore, record_id: str, *, reason: str, actor: str) -> None:
    """Ask (through the next sync pass) that the central delete the earlier record of a duplicate."""
    ensure_schema(store)
    with store.transaction() as conn:
        rec = store.get(record_id)
        if rec.state is not S.DUPLICATE:
            raise InputError("sync.not_duplicate", record_id=record_id, state=str(rec.state))
        row = conn.execute("SELECT submission FROM sync_packets WHERE record_id=?", (record_id,)).fetchone()
        existing = conn.execute("SELECT status FROM sync_deletions WHERE record_id=?", (record_id,)).fetchone()
        if existing is not None and existing[0] in ("to_send", "sent"):
            return  # already asked; the answer is on its way
        conn.execute("INSERT OR REPLACE INTO sync_deletions(record_id, submission, status, reason, requested_by,"
                     " requested_at) VALUES (?,?,?,?,?,?)",
                     (record_id, row[0] if row else 1, "to_send", reason, actor, now_iso()))
        store.write_audit(conn, actor, "deletion_request", record_id=record_id, reason=reason)


def retry_refused(store: RecordStore, record_id: str, *, actor: str) -> None:
    """Send a record the central refused once more, sealed anew (e.g. after the central was
    re-keyed or the station registered); the refusal stays in the audit trail."""
    ensure_schema(store)
    with store.transaction() as conn:
        row = conn.execute("SELECT status, error FROM sync_packets WHERE record_id=?", (record_id,)).fetchone()
        if row is None or row[0] != "refused":
            raise InputError("sync.not_refused", record_id=record_id)
        conn.execute("UPDATE sync_packets SET packet=NULL, sha256=NULL, length=0, offset=0, status='pending',"
                     " error=NULL, attempts=0 WHERE record_id=?", (record_id,))
        store.write_audit(conn, actor, "sync_retry", record_id=record_id, params={"refused": row[1] or ""})


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
    """What ``kiosk queue --json`` prints: counts per state, oldest waiting, pending bytes, network."""
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
    raw = _get_state(conn, "network")
    network = json.loads(raw) if raw else NetworkStatus("unknown", None, None, 0, now_iso()).to_dict()
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
    }
