"""What the outbox, the inbox and the request senders share during sync: the store, the signed
client, the station's identity and keys, the settings, the network monitor, stop signals and
the pass's progress counters. One object, handed to each part by the worker loop."""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from kiosk.store import RecordStore
from kiosk.sync.client import CentralClient, CentralRefused, CentralUnavailable
from kiosk.sync.schema import set_state
from kiosk.sync.status import NetworkMonitor, NetworkStatus, SyncProgress

log = logging.getLogger("kiosk.sync")
ACTOR = "sync"


#: seconds a request must have been carrying upload bytes for its cut to count as a cut link,
#: not as a central that cannot be reached (an outage resets at once)
CUT_AFTER_S = 1.0


@dataclass(frozen=True)
class SyncSettings:
    timeout_s: float = 10.0
    poll_interval_s: float = 2.0
    #: first chunk size; later chunks follow the measured throughput (kiosk.sync.outbox.ChunkSizer)
    chunk_size: int = 262144
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 60.0
    parallel: int = 2
    #: tries per record within one pass before it waits for the next pass (a try that moved
    #: the upload forward does not count: on a link cut every few seconds every try is cut)
    attempts_per_pass: int = 6
    #: consecutive failed requests after which the network counts as offline and a pass stops
    offline_after: int = 4
    #: seconds of measured throughput one chunk should take (0: always ``chunk_size``)
    chunk_target_s: float = 16.0
    min_chunk: int = 8192
    max_chunk: int = 4 * 1024 * 1024


class SyncSession:
    def __init__(self, store: RecordStore, client: CentralClient, *, station_id: str, station_key: Ed25519PrivateKey,
                 sealing_key: X25519PublicKey, permit_key: Ed25519PublicKey, settings: SyncSettings,
                 on_progress: Callable[[SyncProgress], None] | None = None, seed: int | None = None) -> None:
        self.store = store
        self.client = client
        self.station_id = station_id
        self.station_key = station_key
        self.sealing_key = sealing_key
        #: the central's pinned key: permits AND every answer that changes state are checked with it
        self.permit_key = permit_key
        self.settings = settings
        self.on_progress = on_progress
        self.monitor = NetworkMonitor(settings.offline_after)
        self.stop_event = threading.Event()
        self.abort_pass = threading.Event()
        self.lock = threading.Lock()
        self.rng = random.Random(seed)
        self.bytes_sent = 0
        self.done = 0
        self.total = 0
        self.decisions = 0
        self._network_saved = 0.0

    def network(self) -> NetworkStatus:
        return self.monitor.status()

    def report(self, phase: str, record_id: str | None = None) -> None:
        if self.on_progress is None:
            return
        with self.lock:
            p = SyncProgress(phase, self.done, self.total, self.bytes_sent, self.decisions, self.network(), record_id)
        try:
            self.on_progress(p)
        except Exception:  # a broken progress display must not stop the sync
            log.exception("progress callback failed")

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One request, with its outcome counted for the network state (failures also go to the log)."""
        return self._call(fn, args, kwargs, transfer=False)

    def call_transfer(self, fn: Callable[..., Any], *args: Any) -> Any:
        """:meth:`call` for a request carrying upload bytes: a connection cut after it carried
        bytes for ``CUT_AFTER_S`` or more is the link breaking under a transfer (the central
        was there and keeps what arrived), noted but not counted towards "offline", so a link
        cut every few seconds does not stop the pass."""
        return self._call(fn, args, {}, transfer=True)

    def _call(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], *, transfer: bool) -> Any:
        where = getattr(fn, "__name__", "request")
        started = time.monotonic()
        try:
            result = fn(*args, **kwargs)
        except CentralUnavailable as exc:
            if transfer and exc.code == "sync.network" and exc.params.get("kind") != "ConnectError" \
                    and time.monotonic() - started >= CUT_AFTER_S:
                self.monitor.note(exc.code, where, exc.params)
                log.info("sync: the link was cut during an upload", extra={"code": exc.code, "where": where})
                raise
            self.monitor.fail(exc.code, where, exc.params)
            log.warning("sync: central unavailable", extra={"code": exc.code, "where": where,
                                                            "consecutive": self.monitor.consecutive})
            if self.monitor.consecutive >= self.settings.offline_after:
                self.abort_pass.set()
            self.save_network_soon()
            raise
        except CentralRefused as exc:
            self.monitor.ok()  # the central answered: the network works
            self.monitor.note(exc.code, where)
            log.warning("sync: central refused", extra={"code": exc.code, "where": where})
            raise
        self.monitor.ok()
        self.save_network_soon()
        return result

    def save_network(self) -> None:
        with self.store.transaction() as conn:
            set_state(conn, "network", json.dumps(self.network().to_dict()))

    def save_network_soon(self) -> None:
        """Publish the network state for other processes (``kiosk queue``) at most once a second."""
        now = time.monotonic()
        with self.lock:
            if now - self._network_saved < 1.0:
                return
            self._network_saved = now
        try:
            self.save_network()
        except sqlite3.OperationalError:  # busy: the next one will do
            pass

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^attempt)]."""
        s = self.settings
        return self.rng.uniform(0, min(s.backoff_cap_s, s.backoff_base_s * (2 ** attempt)))
