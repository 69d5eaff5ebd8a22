"""Sealing at queue time: the packet of a record is sealed when the record becomes queued, not
in the sync pass.

A rural station's link is up for short windows: a pass that seals (reading the samples back,
encrypting, signing, storing the packet: ~1.5 ms of CPU per record) spends that window on the
CPU instead of the link, and until it is sealed the record's biometrics rest only under the
station's own key. The sealer seals in a thread of its own, woken when a record is queued
(:meth:`QueueSealer.wake`) and every ``interval_s`` (records queued by another process). The
pass's own sealing stays the fallback (records queued before, or a sealer that was killed):
a packet is sealed once and stored either way (:func:`kiosk.sync.packets.stored_packet`), so
every upload sends the same bytes.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.sync.outbox import Outbox

log = logging.getLogger("kiosk.sync")


class QueueSealer:
    """``sealer = QueueSealer(outbox, interval_s).start()``; ``sealer.wake()`` when a record is
    queued; ``sealer.stop()``."""

    def __init__(self, outbox: "Outbox", interval_s: float) -> None:
        self.outbox = outbox
        self.interval_s = interval_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: packets sealed so far (for the technician's view and tests)
        self.sealed = 0

    def start(self) -> "QueueSealer":
        self._thread = threading.Thread(target=self._run, name="sync-queue-sealer", daemon=True)
        self._thread.start()
        return self

    def wake(self) -> None:
        """A record became queued: seal it now rather than at the next interval."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    self.sealed += self.outbox.seal_queued(self._stop)
                except Exception:  # e.g. the database busy: the next round, or the pass, seals it
                    log.exception("sync: sealing queued records failed")
                self._wake.wait(self.interval_s)
        finally:
            self.outbox.s.store.close()  # this thread's connection
