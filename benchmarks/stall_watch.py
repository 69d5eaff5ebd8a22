"""Where the UI thread spends its stalls: a sampling watchdog for the tui_day benchmark (issue 11 §3).

A heartbeat task on the event loop notes the time every ~10 ms. A watchdog thread checks it; when
the loop has not answered for more than ``STALL_S`` it samples the main thread's stack
(``sys._current_frames``, the same source py-spy's dump reads without the GIL) every ``SAMPLE_S``
until the loop answers again. At the end :meth:`StallWatch.report` prints the stacks seen during
stalls, aggregated (each sample is about ``SAMPLE_S`` of blocked loop), heaviest first, plus the
longest stalls with their dominant frame. Opt-in (``TUI_DAY_STALLS=1``): sampling holds the GIL
briefly every 10 ms and would itself add to the latency it measures.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from types import FrameType
from typing import TextIO

#: the loop counts as stalled once its heartbeat is older than this
STALL_S = 0.100
#: sampling period inside a stall
SAMPLE_S = 0.010
#: frames kept per sample (innermost last)
DEPTH = 60
#: frames printed per aggregated stack (innermost)
SHOWN = 16


def stack_key(frame: FrameType | None, depth: int = DEPTH) -> tuple[str, ...]:
    """The innermost ``depth`` frames as ``file:line func`` (site-packages paths shortened)."""
    lines = []
    for summary in traceback.extract_stack(frame, limit=None)[-depth:]:
        name = summary.filename
        for marker in ("site-packages/", "/kiosk/", "/benchmarks/"):
            if marker in name:
                name = name.split(marker, 1)[1] if marker == "site-packages/" else marker.strip("/") + "/" + name.split(marker, 1)[1]
                break
        lines.append(f"{name}:{summary.lineno} {summary.name}")
    return tuple(lines)


def entry_point(stack: tuple[str, ...]) -> str:
    """The frame Textual's ``invoke`` called last (a message handler, a timer callback, a refresh)."""
    for i in range(len(stack) - 1, 0, -1):
        if "textual/_callback.py" in stack[i - 1] and "textual/_callback.py" not in stack[i]:
            return stack[i]
    return stack[-1] if stack else "-"


def own_frame(stack: tuple[str, ...]) -> str:
    """The innermost frame of the kiosk package, if any."""
    return next((f for f in reversed(stack) if f.startswith("kiosk/")), "-")


@dataclass
class Stall:
    start: float
    samples: list[tuple[str, ...]] = field(default_factory=list)
    length: float = 0.0


class StallWatch:
    """Samples the event loop thread's stack while the loop is stalled."""

    def __init__(self, loop_thread: threading.Thread | None = None) -> None:
        self.thread_id = (loop_thread or threading.main_thread()).ident
        self.beat = time.monotonic()
        self.stalls: list[Stall] = []
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="stall-watch", daemon=True)
        self._heart: asyncio.Task[None] | None = None
        #: garbage collector pauses (generation, seconds), from gc.callbacks: a full collection of a
        #: large heap stops whatever thread triggered it, the event loop included (it holds the GIL,
        #: so this watch cannot sample during it: the stalls it overlaps are attributed below)
        self.gc_pauses: list[tuple[int, float]] = []
        #: (generation, start, end on the monotonic clock, thread that triggered it)
        self.gc_spans: list[tuple[int, float, float, str]] = []
        self._gc_start = 0.0

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_start = time.monotonic()
        else:
            end = time.monotonic()
            self.gc_pauses.append((info["generation"], end - self._gc_start))
            self.gc_spans.append((info["generation"], self._gc_start, end, threading.current_thread().name))

    def gc_within(self, stall: Stall) -> float:
        """Seconds of garbage collection inside the stall."""
        end = stall.start + stall.length
        return sum(max(0.0, min(end, e) - max(stall.start, s)) for _, s, e, _ in self.gc_spans)

    async def _heartbeat(self) -> None:
        while True:
            self.beat = time.monotonic()
            await asyncio.sleep(SAMPLE_S)

    def start(self) -> None:
        self.thread_id = threading.get_ident()  # the thread running the loop (called from it)
        self._heart = asyncio.get_running_loop().create_task(self._heartbeat())
        gc.callbacks.append(self._gc)
        self._watcher.start()

    def stop(self) -> None:
        self._stop.set()
        if self._gc in gc.callbacks:
            gc.callbacks.remove(self._gc)
        if self._heart is not None:
            self._heart.cancel()
        self._watcher.join(timeout=2)

    def _watch(self) -> None:
        current: Stall | None = None
        while not self._stop.wait(SAMPLE_S):
            now = time.monotonic()
            late = now - self.beat
            if late <= STALL_S:
                if current is not None:
                    current.length = now - current.start
                    self.stalls.append(current)
                    current = None
                continue
            if current is None:
                current = Stall(start=self.beat)
            frame = sys._current_frames().get(self.thread_id)  # noqa: SLF001 (the documented sampler)
            current.samples.append(stack_key(frame))

    def report(self, out: TextIO = sys.stderr, top: int = 12) -> None:
        total = sum(len(s.samples) for s in self.stalls)
        for gen in (0, 1, 2):
            pauses = sorted(t for g, t in self.gc_pauses if g == gen)
            if pauses:
                print(f"stall_watch: gc generation {gen}: {len(pauses)} collections, total {sum(pauses) * 1000:.0f} ms, "
                      f"max {pauses[-1] * 1000:.0f} ms, p95 {pauses[int(0.95 * len(pauses))] * 1000:.1f} ms", file=out)
        full = Counter(thread for gen, _, _, thread in self.gc_spans if gen == 2)
        if full:
            print(f"stall_watch: full collections by the thread that triggered them: {dict(full)}", file=out)
        in_stalls = sum(self.gc_within(s) for s in self.stalls)
        stalled = sum(s.length for s in self.stalls)
        print(f"stall_watch: garbage collection inside stalls: {in_stalls * 1000:.0f} ms of {stalled * 1000:.0f} ms",
              file=out)
        print(f"stall_watch: {len(self.stalls)} stalls > {STALL_S * 1000:.0f} ms, {total} samples "
              f"(~{total * SAMPLE_S:.1f} s of blocked loop)", file=out)
        if not total:
            return
        stacks = Counter(s for stall in self.stalls for s in stall.samples)
        print(f"stall_watch: heaviest stacks (samples, ~{SAMPLE_S * 1000:.0f} ms each):", file=out)
        for stack, n in stacks.most_common(top):
            print(f"--- {n} samples", file=out)
            for line in stack[-SHOWN:]:
                print(f"    {line}", file=out)
        # what Textual was running when the loop stalled: the callback it invoked (a handler of ours,
        # a screen refresh, a timer), and the innermost frame of our own code under it
        entries = Counter((entry_point(s), own_frame(s)) for stall in self.stalls for s in stall.samples)
        print("stall_watch: samples by the callback Textual invoked / our innermost frame:", file=out)
        for (entry, own), n in entries.most_common(25):
            print(f"  {n:5d}  {entry}  <-  {own}", file=out)
        # the frames that appear in most samples, wherever in the stack: the expensive call sites
        frames = Counter(line for stall in self.stalls for s in stall.samples for line in set(s))
        print("stall_watch: frames by samples containing them:", file=out)
        for line, n in frames.most_common(40):
            print(f"  {n:5d}  {line}", file=out)
        print("stall_watch: longest stalls:", file=out)
        for stall in sorted(self.stalls, key=lambda s: -s.length)[:10]:
            inner = Counter(s[-1] for s in stall.samples).most_common(1)
            where = Counter((entry_point(s), own_frame(s)) for s in stall.samples).most_common(2)
            print(f"  {stall.length * 1000:6.0f} ms (gc {self.gc_within(stall) * 1000:.0f} ms, {len(stall.samples)} samples)  leaf {inner[0][0] if inner else '-'}  "
                  f"at {where}", file=out)
