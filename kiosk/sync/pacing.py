"""Upload bytes paced to the link's rate while the link keeps being cut (issue 13 §3).

A slow link queues whatever the station writes faster than it carries in the bottleneck's
buffer (a mobile modem holds from a few hundred milliseconds to seconds of traffic). A cut
drops that queue, and on a metered link those bytes were paid for. So while the link is being
cut, upload bytes are written at a little under the rate the link carries them, through a token
bucket that holds one piece (a thread that wakes late never bursts), and the bottleneck holds
about one piece at a cut instead of its whole buffer. On a link that holds, nothing is paced:
nothing queued is lost there, and pacing could only idle the link if the estimate were low.

The rate is estimated the way BBR does (N. Cardwell et al., "BBR: Congestion-Based Congestion
Control", ACM Queue 14(5), 2016; draft-cardwell-iccrg-bbr-congestion-control): the bottleneck
bandwidth is the windowed maximum of delivery-rate samples, and samples taken while the sender
itself limited the rate ("application-limited": here, paced writes) are not used, so the
estimate never talks itself down. A sample is an upload request's bytes over its time minus the
round trip; the round trip is the windowed minimum of bodiless requests' times (HEAD, GET).
As BBR probes with a pacing gain above one, every :data:`PROBE_EVERY`-th paced upload goes at
:data:`PROBE_GAIN` times the estimate and is a sample, so a link that got faster while it kept
being cut (every upload paced) is found again.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable, Iterable, Iterator

#: delivery-rate samples (and round trips) the windowed max (min) is taken over
WINDOW = 8
#: smallest upload a rate sample is taken from: below it the round trip's error dominates
MIN_SAMPLE_BYTES = 8192
#: bytes per paced write: a slow link carries it in about 0.13 s at 64 kbit/s
PACED_PIECE = 1024
#: one paced upload in this many probes the link: paced above the estimate, and a sample
PROBE_EVERY = 8
PROBE_GAIN = 1.25
#: links at least this fast (bytes/s, 2 Mbit/s) are not paced: a 1 KB write every 4 ms or less
#: costs the CPU more than a cut costs the link (its buffer empties in milliseconds)
PACE_BELOW = 250_000.0


class LinkPace:
    """The link's estimated rate and round trip, whether it is being cut, and the pacing of
    upload writes that follows from them. Thread-safe: uploads in parallel lanes share it."""

    def __init__(self, *, share: float = 0.97, calm_s: float = 30.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        #: the share of the estimated rate paced writes go at (under it: the queue stays empty)
        self.share, self.calm_s = share, calm_s
        self._clock, self._sleep = clock, sleep
        self._rates: deque[float] = deque(maxlen=WINDOW)
        self._rtts: deque[float] = deque(maxlen=WINDOW)
        self._last_cut = float("-inf")
        self._lock = threading.Lock()
        #: upload bytes written paced so far (what the pacing covered, for the sync_link bench)
        self.paced_bytes = 0
        self._paced_uploads = 0

    # -- what the requests tell --------------------------------------------------------------
    def round_trip(self, seconds: float) -> None:
        """A request without a body took ``seconds`` from sending to its answer."""
        if seconds > 0:
            with self._lock:
                self._rtts.append(seconds)

    def transfer(self, nbytes: int, seconds: float, *, paced: bool) -> None:
        """An upload request of ``nbytes`` on the wire was answered ``seconds`` after it started.
        Paced ones are not samples (the station, not the link, set their rate)."""
        with self._lock:
            if paced or nbytes < MIN_SAMPLE_BYTES or not self._rtts:
                return
            busy = seconds - min(self._rtts)
            if busy > 0:
                self._rates.append(nbytes / busy)

    def cut(self) -> None:
        """A request was cut (reset, closed mid-way)."""
        with self._lock:
            self._last_cut = self._clock()

    # -- what follows ------------------------------------------------------------------------
    def rate(self) -> float | None:
        """The bottleneck's estimated bytes/s, or None before the first sample."""
        with self._lock:
            return max(self._rates) if self._rates else None

    def being_cut(self) -> bool:
        """Was a request cut in the last ``calm_s`` seconds?"""
        with self._lock:
            return self._clock() - self._last_cut < self.calm_s

    def pacing_rate(self) -> float | None:
        """Bytes/s to pace upload writes at now: None while the link holds or is not measured."""
        rate = self.rate()
        if rate is None or rate >= PACE_BELOW or not self.being_cut():
            return None
        return rate * self.share

    def next_upload(self) -> tuple[float, bool] | None:
        """How to pace the upload about to start: (bytes/s, whether it probes the link and so
        is a rate sample), or None to write it unpaced."""
        rate = self.pacing_rate()
        if rate is None:
            return None
        with self._lock:
            self._paced_uploads += 1
            probe = self._paced_uploads % PROBE_EVERY == 0
        return (rate / self.share * PROBE_GAIN, True) if probe else (rate, False)

    def paced(self, pieces: Iterable[bytes], rate: float) -> Iterator[bytes]:
        """``pieces`` re-cut into :data:`PACED_PIECE` writes released at ``rate`` bytes/s by a
        token bucket of one piece: the writes never run ahead of the rate by more than one."""
        tokens, last = float(PACED_PIECE), self._clock()
        for piece in pieces:
            for i in range(0, len(piece), PACED_PIECE):
                part = piece[i:i + PACED_PIECE]
                now = self._clock()
                tokens, last = min(float(PACED_PIECE), tokens + (now - last) * rate), now
                if tokens < len(part):
                    self._sleep((len(part) - tokens) / rate)
                    now = self._clock()
                    tokens, last = min(float(PACED_PIECE), tokens + (now - last) * rate), now
                tokens -= len(part)
                with self._lock:
                    self.paced_bytes += len(part)
                yield part
