"""How the outbox uses a slow link that keeps breaking (issue 13 §3): chunk sizes from the
measured throughput, how many uploads share the link, and which bytes of an upload are still
to send (the holes a cut chunk leaves, :mod:`kiosk.central.upload_ranges`)."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable, Iterator

from kiosk.sync.client import PIECE, UploadAnswer


class ChunkSizer:
    """Chunk size from the measured throughput: EWMA of bytes/s over whole chunk round trips
    (send time plus the wait for the answer), times the target seconds, within [min, max].

    Until a chunk has been measured the size is ``min(first, PROBE)``: a 256 KB first chunk
    takes 64 s at 32 kbit/s, longer than the request timeout, so it could never complete. A
    chunk that timed out halves the ceiling (a cut connection does not: its bytes were kept)."""

    PROBE = 32 * 1024
    #: link time one write of upload bytes may take: what a cut can lose of a TLS record
    PIECE_S = 0.01

    def __init__(self, first: int, target_s: float, lo: int, hi: int) -> None:
        self.first, self.target_s, self.lo, self.hi = first, target_s, lo, hi
        self.rate: float | None = None  # bytes/s
        self.ceiling = hi
        self._lock = threading.Lock()

    def observe(self, nbytes: int, seconds: float) -> None:
        if nbytes <= 0 or seconds <= 0:
            return
        sample = nbytes / seconds
        with self._lock:
            self.rate = sample if self.rate is None else 0.7 * self.rate + 0.3 * sample
            self.ceiling = min(self.hi, self.ceiling * 2)

    def piece(self, length: int) -> int:
        """Bytes per write of a ``length``-byte upload body: ``PIECE_S`` seconds of the measured
        throughput, at least :data:`~kiosk.sync.client.PIECE` (a cut TLS record loses that
        much at most), the whole body on a fast link; :data:`PIECE` until the link is measured."""
        with self._lock:
            rate = self.rate
        if rate is None:
            return min(length, PIECE)
        return int(min(length, max(PIECE, rate * self.PIECE_S)))

    def timed_out(self, size: int) -> None:
        with self._lock:
            self.ceiling = max(self.lo, size // 2)

    def size(self) -> int:
        with self._lock:
            if self.target_s <= 0:
                return self.first
            base = min(self.first, self.PROBE) if self.rate is None else self.rate * self.target_s
            return int(min(self.hi, self.ceiling, max(self.lo, base)))


class Lanes:
    """How many uploads may use the link at once: ``parallel`` while the link holds (one
    upload's wait for an answer is filled by another's bytes), one while the link is being cut
    (every connection a cut breaks costs its own HEAD and request headers again, and the
    bytes in flight are lost either way).

    Whether the link is being cut is asked of ``being_cut``, the client's
    :meth:`kiosk.sync.pacing.LinkPace.being_cut`: the client sees every request, so it is the one
    clock of cuts (its ``calm_s`` without a cut restores ``parallel``), and the lanes and the
    pacing of writes never disagree about the link."""

    def __init__(self, parallel: int, being_cut: Callable[[], bool]) -> None:
        self.parallel = max(1, parallel)
        self._being_cut = being_cut
        self.active = 0
        self._cond = threading.Condition()

    def limit(self) -> int:
        return 1 if self._being_cut() else self.parallel

    @contextmanager
    def lane(self, stop: threading.Event) -> Iterator[bool]:
        """Hold a lane for one try; yields False when ``stop`` was set while waiting."""
        got = False
        with self._cond:
            while not stop.is_set():
                if self.active < self.limit():
                    self.active += 1
                    got = True
                    break
                self._cond.wait(0.25)
        try:
            yield got
        finally:
            if got:
                with self._cond:
                    self.active -= 1
                    self._cond.notify_all()


def next_gap(answer: UploadAnswer, cursor: int, length: int) -> tuple[int, int] | None:
    """The first range [start, end) at or after ``cursor`` the central is not known to hold
    (its contiguous offset and the ranges of its last answer), or None up to ``length``."""
    pos = max(cursor, answer.offset)
    for a, b in answer.ranges:
        if b <= pos:
            continue
        if a > pos:
            return pos, a
        pos = b
    return (pos, length) if pos < length else None
