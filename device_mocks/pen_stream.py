"""A synthetic handwritten signature, streamed as a pen would report it, for the pad mocks.

:func:`signature_samples` draws a seeded cursive-looking signature: a name of humps and loops
through cubic Bezier segments, a surname, a flourish underneath; pen pressure rises and falls
along each stroke; hover samples between strokes, one out-of-range sample at the end.
:class:`PenReportStream` hands the samples out at the pad's report rate, encoded by the
mock's own report format, pauses between signatures (a real digitizer sends nothing while the
pen is away), and takes injected reports (malformed ones, for fault tests).

Two scenes: ``"endless"`` signs again and again (the stress scene: a pad that never stops, as when
a pen is left on the glass), ``"person"`` signs once each time it is asked (:meth:`PenReportStream.
request`: the station asks the resident to sign; the Wacom mock asks on ClearScreen) and then the
pen stays away. ``$KIOSK_PAD_SCENE`` picks the scene of a simulated station's pad.
"""

from __future__ import annotations

import collections
import math
import random
import threading
import time
from dataclasses import dataclass
from typing import Callable

from device_mocks.usb_backend import timeout


@dataclass(frozen=True)
class PenSample:
    x_mm: float
    y_mm: float
    pressure: float  # 0..1
    tip: bool
    in_range: bool = True


def _bezier(p0: tuple[float, float], p1: tuple[float, float], p2: tuple[float, float], p3: tuple[float, float],
            t: float) -> tuple[float, float]:
    u = 1 - t
    return (u ** 3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t ** 3 * p3[0],
            u ** 3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t ** 3 * p3[1])


def _stroke_path(rng: random.Random, x0: float, x1: float, base: float, height: float) -> list[tuple[float, float]]:
    """Control points of one cursive word: alternating tops and baseline touches, some loops."""
    points = [(x0, base)]
    x = x0
    while x < x1:
        step = rng.uniform(0.04, 0.09) * (x1 - x0) * 2.5
        top = base - height * rng.uniform(0.45, 1.0)
        if rng.random() < 0.3:  # a loop ("l", "e"): go up, back left, down
            points += [(x + step * 0.6, top), (x + step * 0.2, top + height * 0.2)]
        else:
            points.append((x + step * 0.5, top))
        x += step
        points.append((min(x, x1), base + rng.uniform(-0.05, 0.08) * height))
    return points


def _sample_path(points: list[tuple[float, float]], step_mm: float) -> list[tuple[float, float]]:
    """Smooth the control points with cubic Bezier segments and sample every ``step_mm``."""
    dense: list[tuple[float, float]] = []
    for i in range(len(points) - 1):
        p0, p3 = points[i], points[i + 1]
        prev = points[i - 1] if i else p0
        nxt = points[i + 2] if i + 2 < len(points) else p3
        # Catmull-Rom tangents make the joins smooth, like a hand that does not stop
        p1 = (p0[0] + (p3[0] - prev[0]) / 6, p0[1] + (p3[1] - prev[1]) / 6)
        p2 = (p3[0] - (nxt[0] - p0[0]) / 6, p3[1] - (nxt[1] - p0[1]) / 6)
        dense += [_bezier(p0, p1, p2, p3, k / 24) for k in range(24)]
    dense.append(points[-1])
    out = [dense[0]]
    travelled = 0.0
    for a, b in zip(dense, dense[1:]):
        travelled += math.dist(a, b)
        if travelled >= step_mm:
            out.append(b)
            travelled = 0.0
    return out


def signature_samples(seed: int, width_mm: float, height_mm: float, *, rate_hz: float = 200.0,
                      speed_mm_s: float = 90.0) -> list[PenSample]:
    """One signature as pen samples at ``rate_hz``, inside the writing area with a margin."""
    rng = random.Random(seed)
    step = max(0.05, speed_mm_s / rate_hz)
    left, right = width_mm * 0.08, width_mm * 0.92
    base = height_mm * rng.uniform(0.55, 0.65)
    letter = height_mm * 0.35
    split = rng.uniform(0.40, 0.55)
    strokes = [
        _stroke_path(rng, left, left + (right - left) * split, base, letter),
        _stroke_path(rng, left + (right - left) * (split + 0.06), right, base, letter * 0.8),
    ]
    # the flourish: one long shallow curve under the name
    y = base + height_mm * 0.15
    strokes.append([(left + width_mm * 0.05, y), (width_mm * 0.5, y + height_mm * 0.08), (right, y - height_mm * 0.05)])
    samples: list[PenSample] = []
    for n, control in enumerate(strokes):
        path = _sample_path(control, step)
        if samples:  # hover from the last stroke to this one, pen lifted
            last = samples[-1]
            hops = max(2, int(math.dist((last.x_mm, last.y_mm), path[0]) / (step * 2)))
            for k in range(1, hops):
                t = k / hops
                samples.append(PenSample(last.x_mm + (path[0][0] - last.x_mm) * t,
                                         last.y_mm + (path[0][1] - last.y_mm) * t, 0.0, False))
        for i, (px, py) in enumerate(path):
            t = i / max(1, len(path) - 1)
            pressure = 0.25 + 0.55 * math.sin(math.pi * min(1.0, t * 1.2 + 0.05)) + rng.uniform(-0.04, 0.04)
            samples.append(PenSample(_clamp(px, 0, width_mm), _clamp(py, 0, height_mm), _clamp(pressure, 0.05, 1.0),
                                     True))
        end = samples[-1]
        samples.append(PenSample(end.x_mm, end.y_mm, 0.0, False))  # the lift
    end = samples[-1]
    samples.append(PenSample(end.x_mm, end.y_mm, 0.0, False, in_range=False))  # pen taken away
    return samples


def _clamp(v: float, lo: float, hi: float) -> float:
    return lo if v < lo else hi if v > hi else v


def strokes_of(samples: list[PenSample]) -> list[list[PenSample]]:
    """Runs of tip-down samples (what a driver should rebuild)."""
    out: list[list[PenSample]] = []
    current: list[PenSample] = []
    for s in samples:
        if s.tip:
            current.append(s)
        elif current:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


SCENES = ("endless", "person")


class PenReportStream:
    """Signatures (one after another, ``pause_s`` apart) as encoded input reports, in real time."""

    def __init__(self, encode: Callable[[PenSample], bytes], *, width_mm: float, height_mm: float, seed: int = 1,
                 rate_hz: float = 200.0, pause_s: float = 1.5, speed_mm_s: float = 90.0,
                 scene: str = "endless") -> None:
        if scene not in SCENES:
            raise ValueError(f"unknown pad scene {scene!r}; known: {', '.join(SCENES)}")
        self.scene = scene
        #: signatures asked for and not yet started (scene "person")
        self.requested = 0
        self.encode = encode
        self.speed_mm_s = speed_mm_s
        self.width_mm = width_mm
        self.height_mm = height_mm
        self.seed = seed
        self.rate_hz = rate_hz
        self.pause_s = pause_s
        self.signatures_started = 0
        self.reports_sent = 0
        self.paused = False
        self.injected: collections.deque[bytes] = collections.deque()
        self._lock = threading.Lock()
        self._samples: list[PenSample] = []
        self._index = 0
        self._next_due = time.monotonic()

    def current_signature(self) -> list[PenSample]:
        return list(self._samples)

    def restart(self) -> None:
        """Forget the current signature: the next report starts a new one now."""
        with self._lock:
            self._samples, self._index, self._next_due = [], 0, time.monotonic()

    def pause(self) -> None:
        """Pen away: no report is handed out after this returns (one already counted may be in flight)."""
        with self._lock:
            self.paused = True

    def resume(self) -> None:
        with self._lock:
            self.paused = False
            self._next_due = max(self._next_due, time.monotonic())

    def request(self) -> None:
        """The resident is asked to sign: one more signature (scene "person"; "endless" signs anyway)."""
        with self._lock:
            self.requested += 1

    def inject(self, report: bytes) -> None:
        self.injected.append(report)

    def next_report(self, timeout_ms: int) -> bytes:
        """The next report when it is due; raises a pyusb timeout if none is due in time."""
        wait = max(0.0, timeout_ms / 1000)
        with self._lock:
            if self.injected:
                return self.injected.popleft()
            now = time.monotonic()
            idle = self.scene == "person" and self._index >= len(self._samples) and not self.requested
            if self.paused or idle:  # pen away (a person who has signed waits to be asked again)
                due = now + wait + 1.0
            else:
                if self._index >= len(self._samples):
                    if self.scene == "person":
                        self.requested -= 1
                    seed = self.seed + self.signatures_started
                    self._samples = signature_samples(seed, self.width_mm, self.height_mm, rate_hz=self.rate_hz,
                                                      speed_mm_s=self.speed_mm_s)
                    self._index = 0
                    if self.signatures_started:
                        self._next_due = max(self._next_due, now) + self.pause_s
                    self.signatures_started += 1
                due = self._next_due
        if due - now > wait:
            time.sleep(wait)
            raise timeout()
        if due > now:
            time.sleep(due - now)
        with self._lock:
            if self.paused or self._index >= len(self._samples):  # paused or restarted meanwhile
                raise timeout()
            sample = self._samples[self._index]
            self._index += 1
            # never fall far behind: a slow reader gets reports back to back, not a burst of stale ones
            self._next_due = max(self._next_due, time.monotonic() - 0.05) + 1.0 / self.rate_hz
            self.reports_sent += 1
        return self.encode(sample)
