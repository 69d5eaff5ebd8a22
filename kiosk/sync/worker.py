"""SyncWorker: the small loop that runs sync passes.

A pass: decisions (:mod:`kiosk.sync.inbox`), deletion and reprint requests
(:mod:`kiosk.sync.requests`), every queued record (:mod:`kiosk.sync.outbox`), decisions again,
then the audit checkpoint to the central and the station's upkeep (``after_pass``, scheduled
by :class:`kiosk.station.Station`). A failure in one part is logged and the pass goes on:
a bad answer from the central never keeps records from leaving the station.

The worker starts no server: the Station starts the local central of a simulated station
(:meth:`kiosk.station.Station.sync_worker`) and :meth:`SyncWorker.from_config` only connects.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from kiosk.central.answers import AnswerError
from kiosk.central.permit import PrintPermit
from kiosk.errors import ConfigError, KioskError
from kiosk.store import RecordStore
from kiosk.sync.client import CentralClient, CentralRefused, CentralUnavailable
from kiosk.sync.inbox import Inbox
from kiosk.sync.outbox import Outbox, retry_refused, sealer_for_station, sealing_key_for, stored_packet
from kiosk.sync.requests import Requests, request_deletion
from kiosk.sync.schema import ensure_schema
from kiosk.sync.sealer import QueueSealer
from kiosk.sync.session import SyncSession, SyncSettings
from kiosk.sync.status import NetworkStatus, SyncProgress, deletion_status, permits, queue_status

log = logging.getLogger("kiosk.sync")

__all__ = ["NetworkStatus", "SyncProgress", "SyncSettings", "SyncWorker", "deletion_status", "ensure_schema",
           "permits", "queue_status", "request_deletion", "retry_refused", "sealer_for_station", "sealing_key_for",
           "stored_packet", "central_transport"]


def local_central_url(cfg: Any) -> str | None:
    """The URL of the local central a Station started for this config (``<data>/local.json``)."""
    from kiosk.central.local import local_central_alive

    state = Path(cfg.central.local.data_dir) / "local.json"
    try:
        url = json.loads(state.read_text())["url"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return url if isinstance(url, str) and local_central_alive(cfg, url) else None


def central_transport(cfg: Any, url: str) -> Any:
    """The TLS settings for a central URL (issue 13 §1): https with the pinned CA/certificate
    (``[central] ca_file``: only that is trusted, not the system's CAs) for a real station;
    plain http only with ``allow_plain_http = true`` (warned at start) or on a simulated station.
    Returns what httpx takes as ``verify``."""
    c = cfg.central
    scheme = url.split(":", 1)[0].lower()
    if scheme == "https" and c.url == "local":
        from kiosk.central.local import local_certificate

        cert = local_certificate(cfg)  # the local central's own certificate, pinned like a real one
        if cert is not None:
            return ssl.create_default_context(cafile=str(cert))
    if scheme == "https":
        if c.ca_file is None:
            if cfg.station.simulated:
                return True
            raise ConfigError("config.missing_key", file=str(cfg.path), key="central.ca_file",
                              expected="PEM file of the central's pinned certificate or CA")
        return ssl.create_default_context(cafile=str(c.ca_file))
    if scheme == "http":
        # plain http only where the config says so: allow_plain_http, a simulated station, or
        # url = "local" (the central this station starts itself on loopback). A URL that merely
        # starts with "http://localhost" is not exempt: http://localhost.example.net is anyone's.
        if not (c.allow_plain_http or cfg.station.simulated or c.url == "local"):
            raise ConfigError("config.insecure_central", file=str(cfg.path), key="central.url",
                              expected="an https:// URL (or allow_plain_http = true)")
        if not cfg.station.simulated:
            log.warning("sync: the central is reached over plain http (allow_plain_http): answers are still "
                        "checked with the pinned key, but the link is not encrypted", extra={"url": url})
        return True
    raise ConfigError("config.bad_value", file=str(cfg.path), key="central.url", expected="http(s)://host[:port]")


class SyncWorker:
    def __init__(self, store: RecordStore, client: CentralClient, *, station_id: str, station_key: Ed25519PrivateKey,
                 sealing_key: X25519PublicKey, permit_key: Ed25519PublicKey, settings: SyncSettings | None = None,
                 on_progress: Callable[[SyncProgress], None] | None = None, seed: int | None = None,
                 closers: tuple[Callable[[], None], ...] = (), after_pass: Callable[[], None] | None = None,
                 pre_upload: Callable[[str], bool] | None = None) -> None:
        ensure_schema(store)
        self.session = SyncSession(store, client, station_id=station_id, station_key=station_key,
                                   sealing_key=sealing_key, permit_key=permit_key, settings=settings or SyncSettings(),
                                   on_progress=on_progress, seed=seed)
        self.outbox = Outbox(self.session)
        self.inbox = Inbox(self.session, self.outbox)
        self.requests = Requests(self.session, self.inbox)
        self.outbox.pre_upload = pre_upload
        #: the station's upkeep after each pass (kiosk.station.Station schedules it)
        self.after_pass = after_pass
        self._closers = closers
        self._thread: threading.Thread | None = None
        #: seals each record's packet when it is queued, while :meth:`run_forever` runs
        self._sealer: QueueSealer | None = None

    # the parts' shared state, under the names callers use
    store = property(lambda self: self.session.store)
    client = property(lambda self: self.session.client)
    settings = property(lambda self: self.session.settings)
    stop_event = property(lambda self: self.session.stop_event)
    station_id = property(lambda self: self.session.station_id)
    permit_key = property(lambda self: self.session.permit_key)
    sealing_key = property(lambda self: self.session.sealing_key)
    monitor = property(lambda self: self.session.monitor)

    @classmethod
    def from_config(cls, cfg: Any, store: RecordStore | None = None, *,
                    on_progress: Callable[[SyncProgress], None] | None = None,
                    settings: SyncSettings | None = None, central_url: str | None = None,
                    after_pass: Callable[[], None] | None = None) -> "SyncWorker":
        """The worker for a station config. With ``url = "local"`` the local central must be
        running (the Station starts it): ``central_url``, else the one in its ``local.json``."""
        from kiosk.central.keys import StationKeys, load_x25519_public
        from kiosk.central.pinning import pinned_permit_key

        store = store or RecordStore(cfg.station.data_dir, policy=cfg.policy)
        station = StationKeys.init(cfg.station.data_dir)
        c = cfg.central
        if c.url == "local":
            url = central_url or local_central_url(cfg)
            if url is None:
                raise KioskError("sync.local_central_down")
            sealing_key = sealing_key_for(cfg)
        else:
            if c.public_key is None or c.sealing_key is None:
                raise ConfigError("config.missing_key", file=str(cfg.path), key="central.public_key / central.sealing_key",
                                  expected="PEM files of the central's keys")
            url, sealing_key = c.url, load_x25519_public(c.sealing_key)
        verify = central_transport(cfg, url)
        permit_key = pinned_permit_key(cfg)  # the same key the print gate pins; it signs every answer
        settings = settings or SyncSettings(timeout_s=c.timeout_s, poll_interval_s=c.poll_interval_s,
                                            chunk_size=c.chunk_size, backoff_cap_s=c.backoff_cap_s,
                                            parallel=c.parallel_uploads)
        client = CentralClient(url, cfg.station.id, station.signing, timeout_s=settings.timeout_s, verify=verify)
        # the station's own fingerprint check before upload (issue 14 §2), in this worker's thread
        from kiosk.dedup.local_hold import PreUploadCheck

        check = PreUploadCheck(store, cfg.station.data_dir, window_days=cfg.dedup.window_days,
                               threshold=cfg.dedup.threshold)
        return cls(store, client, station_id=cfg.station.id, station_key=station.signing, sealing_key=sealing_key,
                   permit_key=permit_key, settings=settings, on_progress=on_progress,
                   closers=(client.close, check.close), after_pass=after_pass, pre_upload=check)

    def close(self) -> None:
        self.stop()
        for close in self._closers:
            close()

    # -- the parts, for callers and tests -------------------------------------------------------
    def network(self) -> NetworkStatus:
        return self.session.network()

    def backoff(self, attempt: int) -> float:
        return self.session.backoff(attempt)

    def ensure_packet(self, record_id: str) -> Any:
        """The stored sealed packet of a queued record, built (once) if need be."""
        return self.outbox.ensure_packet(record_id)[0]

    def upload_record(self, record_id: str, *, max_attempts: int | None = None) -> str:
        return self.outbox.upload(record_id, max_attempts=max_attempts)

    def pending_records(self) -> list[str]:
        return self.outbox.pending()

    def cursor(self) -> int:
        return self.inbox.cursor()

    def pull_decisions(self) -> int:
        return self.inbox.pull()

    def apply_decision(self, d: Any) -> str:
        return self.inbox.apply(d)

    def request_reprint(self, record_id: str, reason: str, permit_id: str | None = None, *,
                        request_id: int | None = None) -> PrintPermit:
        return self.requests.request_reprint(record_id, reason, permit_id, request_row=request_id)

    def process_reprints(self) -> int:
        return self.requests.process_reprints()

    def process_deletions(self) -> int:
        return self.requests.process_deletions()

    # -- passes -------------------------------------------------------------------------------
    def _step(self, name: str, fn: Callable[[], int]) -> int:
        """One part of a pass; its failure is logged and the pass goes on."""
        try:
            return fn()
        except CentralUnavailable:
            return 0
        except (CentralRefused, AnswerError) as exc:  # e.g. auth.unknown_station: uploads will say the same
            self.session.monitor.note(exc.code, name)
            return 0
        except Exception:
            log.exception("sync: %s failed; the pass goes on", name)
            self.session.monitor.note("sync.internal", name)
            return 0

    def run_once(self) -> dict[str, int]:
        """One pass: decisions, deletion and reprint requests, every queued record, decisions
        again, the audit checkpoint, then the station's upkeep."""
        s = self.session
        s.abort_pass.clear()
        report = {"confirmed": 0, "refused": 0, "deferred": 0, "skipped": 0, "held": 0, "decisions": 0,
                  "resubmitted": 0, "reprints": 0}
        report["decisions"] += self._step("decisions", self.inbox.pull)
        report["resubmitted"] += self._step("deletions", self.requests.process_deletions)
        report["reprints"] = self._step("reprints", self.requests.process_reprints)
        self._step("packet files", self.outbox.sweep)
        pending = self.outbox.pending()
        self._step("never sent", lambda: self.outbox.claim_never_sent(pending) or 0)
        with s.lock:
            s.done, s.total = 0, len(pending)
        s.report("upload")
        sealer = self.outbox.seal_ahead(pending, lead=s.settings.parallel + 1) if pending else None

        def one(record_id: str) -> str:
            if s.abort_pass.is_set() or s.stop_event.is_set():
                return "deferred"
            try:
                outcome = self.outbox.upload(record_id, max_attempts=s.settings.attempts_per_pass)
            except Exception:  # e.g. the record's samples unreadable: the others still go
                log.exception("sync: upload of a record failed", extra={"record_id": record_id})
                s.monitor.note("sync.internal", "upload")
                outcome = "deferred"
            with s.lock:
                s.done += 1
            self.outbox.uploaded()
            s.report("upload", record_id)
            return outcome

        if pending:
            if s.settings.parallel <= 1:
                outcomes = [one(r) for r in pending]
            else:
                with ThreadPoolExecutor(s.settings.parallel, thread_name_prefix="sync-upload") as pool:
                    outcomes = list(pool.map(one, pending))
            for o in outcomes:
                report[o] += 1
        if sealer is not None:
            sealer.join()
        report["decisions"] += self._step("decisions", self.inbox.pull)
        if not s.abort_pass.is_set():
            self._step("checkpoint", lambda: self.requests.send_checkpoint() or 0)
        try:
            s.save_network()
        except Exception:
            log.exception("sync: saving the network state failed")
        if self.after_pass is not None:
            try:
                self.after_pass()
            except Exception:  # station upkeep must never stop records from moving
                log.exception("station upkeep after the sync pass failed")
        s.report("idle")
        return report

    def record_queued(self, record_id: str) -> None:
        """A record became queued: its packet is sealed now (:mod:`kiosk.sync.sealer`), if the
        worker is running, so the next pass only uploads it."""
        sealer = self._sealer  # the worker thread may be stopping meanwhile
        if sealer is not None:
            sealer.wake()

    def seal_queued(self) -> int:
        """Seal the packet of every queued record that has none (what the sealer does)."""
        return self.outbox.seal_queued(self.session.stop_event)

    def run_forever(self) -> None:
        """Passes until :meth:`stop`: waits ``poll_interval_s`` when idle, backs off when offline.
        Meanwhile the sealer seals each record when it is queued (:mod:`kiosk.sync.sealer`)."""
        s = self.session
        self._sealer = QueueSealer(self.outbox, s.settings.poll_interval_s).start()
        try:
            self._passes()
        finally:
            self._sealer.stop()
            self._sealer = None

    def _passes(self) -> None:
        s = self.session
        failures = 0
        while not s.stop_event.is_set():
            try:
                report = self.run_once()
            except Exception:  # keep the worker alive (e.g. database busy); the next pass retries
                log.exception("sync pass failed")
                report = {"deferred": 1}
            if report.get("deferred") or s.abort_pass.is_set():
                failures += 1
                s.stop_event.wait(s.backoff(failures))
            else:
                failures = 0
                s.stop_event.wait(s.settings.poll_interval_s)

    def start_thread(self) -> threading.Thread:
        """Run in a daemon thread (the TUI); progress goes to ``on_progress``."""
        self.session.stop_event.clear()
        self._thread = threading.Thread(target=self.run_forever, name="sync-worker", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        self.session.stop_event.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=self.session.settings.timeout_s + 5)
            self._thread = None
