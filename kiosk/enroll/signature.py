"""The signature being written: the pen points of this signature only, bounded.

The pad may have sent anything before the step started (a pad that streams for hours, a pen left
on the glass): the step drops the pad's backlog when a signature starts (``SignaturePad.
discard_pending``) and this model keeps at most :data:`MAX_POINTS` of what follows, so the work
of drawing and checking a signature is bounded whatever the pad sends. Drawing is incremental:
:attr:`SignatureInk.drawn` says how many points are already on the canvas.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from kiosk.devices.protocols import PenPoint

#: points one signature may hold: 60 s of writing at 200 reports a second (a signature takes 2-10 s)
MAX_POINTS = 200 * 60
#: points drawn per UI event at most (about 2 ms of drawing); the rest follow on the next events
DRAW_BUDGET = 600
#: ink updates sent to the screen per second at most: what the eye needs to see the pen move (the pad
#: reports up to 200 times a second and its driver hands over each report as soon as it arrives)
INK_UPDATES_PER_S = 10.0


@dataclass
class SignatureInk:
    points: list[PenPoint] = field(default_factory=list)
    area_mm: tuple[float, float] = (100.0, 50.0)
    #: points already drawn on the screen's canvas
    drawn: int = 0
    #: points the pad sent after the signature was full (shown: the operator clears and retries)
    overflow: int = 0

    def add(self, points: Sequence[PenPoint], area_mm: tuple[float, float] | None = None) -> None:
        if area_mm is not None:
            self.area_mm = area_mm
        room = MAX_POINTS - len(self.points)
        if room < len(points):
            self.overflow += len(points) - max(0, room)
        self.points.extend(points[:max(0, room)])

    def clear(self) -> None:
        self.points, self.drawn, self.overflow = [], 0, 0

    def to_draw(self, budget: int = DRAW_BUDGET) -> tuple[PenPoint | None, list[PenPoint]]:
        """The next points to draw (at most ``budget``) and the point before them (a stroke goes on
        from it); marks them drawn."""
        start = self.drawn
        end = min(len(self.points), start + budget)
        self.drawn = end
        return (self.points[start - 1] if start else None), self.points[start:end]

    @property
    def behind(self) -> bool:
        return self.drawn < len(self.points)

    @property
    def full(self) -> bool:
        return self.overflow > 0

    def __len__(self) -> int:
        return len(self.points)


class InkBatcher:
    """Gathers the pen points the pad's worker reads and lets them out as one batch at most
    :data:`INK_UPDATES_PER_S` times a second; no point is dropped or reordered."""

    def __init__(self, rate: float = INK_UPDATES_PER_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / rate
        self.clock = clock
        self.pending: list[PenPoint] = []
        self._last: float | None = None

    def add(self, points: Sequence[PenPoint]) -> list[PenPoint] | None:
        """Add what the pad just sent (possibly nothing); the batch to show now, or None (later)."""
        self.pending.extend(points)
        now = self.clock()
        if not self.pending or (self._last is not None and now - self._last < self.interval):
            return None
        batch, self.pending, self._last = self.pending, [], now
        return batch
