"""Full garbage collections at moments nobody waits on, instead of inside a key handler (issue 11 §3).

tui_day's stall watch (``TUI_DAY_STALLS=1``, 6 enrollments, load 2-6) counted 23 full (generation 2)
collections, 100-560 ms each: the slowest keys of the day. CPython starts a full collection by
itself whenever ten generation-1 collections have passed (and, since 3.8, the heap grew by a
quarter: after ``gc.freeze()`` at start-up that rule no longer holds it back), in whichever thread
allocates at that moment, and holds the GIL for the whole walk, so the event loop stops with it.
A full collection walks every object the day keeps (about 100,000 once the station has run an
enrollment: 70-110 ms at load 3.5).

:class:`IdleCollector` takes the full collections out of CPython's hands:

* automatic full collections are pushed far out (``gc.set_threshold(..., FULL_SAFETY)``: only
  after 100 generation-1 collections, a safety net for a station that never goes idle); the young
  generations are collected as before (a few ms);
* the app runs the full collection when one is due (as many generation-1 collections as CPython
  would have waited for) at an idle moment: the home screen shown again after an enrollment or
  the print screen (after its refresh: the key that brought home is answered first), or no key
  for ``QUIET_S``;
* after each of the first ``SETTLE_COLLECTIONS`` such collections (by then the station is ready
  and has run an enrollment and a print: models, caches and the kept screens exist) the survivors
  are frozen, so later collections walk only what the day adds;
* at logout the frozen heap is unfrozen, collected and frozen again (:meth:`deep`): what died in
  cycles after being frozen is freed once per session, while nobody waits for a key.

Installed by the process that runs the operator UI (:func:`kiosk.tui.warmup.prepare_ui_process`,
called by ``kiosk`` and the tui_day bench), never by an app (tests build many apps in one process).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

log = logging.getLogger(__name__)

#: automatic full collections only after this many generation-1 collections (CPython's default: 10)
FULL_SAFETY = 100
#: a full collection is due once this many generation-1 collections have passed since the last one
#: (CPython's own threshold: the collections come as often as before, at other moments)
DUE_AFTER = 10
#: seconds without a key after which the app counts as idle (the operator is not typing)
QUIET_S = 2.0
#: the first idle collections freeze their survivors (the kept screens are built during the first
#: enrollment and print, after the first collection may have run at login): later ones do not, so
#: what dies after being frozen stays bounded to what lived then (freed at logout, :meth:`deep`)
SETTLE_COLLECTIONS = 3


@dataclass
class Collection:
    """One full collection run by the policy."""

    reason: str
    seconds: float
    freed: int


@dataclass
class IdleCollector:
    """The process's full-collection policy (one per process; see :func:`install`)."""

    clock: Callable[[], float] = time.perf_counter
    #: full collections run by the policy, newest last (kept short: for logs and tests)
    history: list[Collection] = field(default_factory=list)
    #: idle collections run so far (the first SETTLE_COLLECTIONS freeze their survivors)
    collections: int = 0
    _saved: tuple[int, int, int] | None = None

    def install(self) -> None:
        """Push CPython's automatic full collections out (young generations unchanged)."""
        if self._saved is None:
            self._saved = gc.get_threshold()
        young, middle, _ = self._saved
        gc.set_threshold(young, middle, FULL_SAFETY)

    def uninstall(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None

    def due(self) -> bool:
        """A full collection would have run by now (CPython's count of generation-1 collections)."""
        return gc.get_count()[2] >= DUE_AFTER

    def collect(self, reason: str) -> Collection:
        """A full collection of what is not frozen; the first ones of the session freeze the survivors."""
        started = self.clock()
        freed = gc.collect()
        self.collections += 1
        if self.collections <= SETTLE_COLLECTIONS:
            gc.freeze()  # the station, its models and the kept screens: later collections skip them
        done = Collection(reason, self.clock() - started, freed)
        self.history = [*self.history[-19:], done]
        log.debug("full collection at an idle moment", extra={"reason": reason, "ms": round(done.seconds * 1000, 1),
                                                             "freed": freed})
        return done

    def collect_if_due(self, reason: str) -> Collection | None:
        return self.collect(reason) if self.due() else None

    def deep(self, reason: str) -> Collection:
        """Everything, the frozen heap included (at logout: cycles that died after being frozen), then
        freeze what lives on."""
        started = self.clock()
        gc.unfreeze()
        freed = gc.collect()
        gc.freeze()
        done = Collection(reason, self.clock() - started, freed)
        self.history = [*self.history[-19:], done]
        log.info("deep collection", extra={"reason": reason, "ms": round(done.seconds * 1000, 1), "freed": freed})
        return done


_installed: IdleCollector | None = None
_lock = threading.Lock()


def install() -> IdleCollector:
    """The process's collector, installed (idempotent)."""
    global _installed
    with _lock:
        if _installed is None:
            _installed = IdleCollector()
        _installed.install()
        return _installed


def uninstall() -> None:
    """CPython's own thresholds again (tests)."""
    global _installed
    with _lock:
        if _installed is not None:
            _installed.uninstall()
            _installed = None


def installed() -> IdleCollector | None:
    """The collector of this process, None where none was installed (tests build apps without one)."""
    return _installed
