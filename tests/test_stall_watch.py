"""benchmarks/stall_watch.py: a stall is credited with the garbage collection inside it (the
watch cannot sample while a collection holds the GIL, so the overlap is what names the cause)."""

from __future__ import annotations

import gc
import io

from benchmarks.stall_watch import Stall, StallWatch


def test_gc_within_counts_only_the_overlap() -> None:
    watch = StallWatch()
    watch.gc_spans = [(2, 9.9, 10.05, "MainThread"), (0, 10.1, 10.12, "worker"), (2, 11.0, 11.5, "worker")]
    stall = Stall(start=10.0, length=0.2)
    assert abs(watch.gc_within(stall) - 0.07) < 1e-9  # 50 ms of the first, 20 ms of the second, none of the third


def test_collections_are_recorded_with_their_thread_and_reported() -> None:
    watch = StallWatch()
    gc.callbacks.append(watch._gc)
    try:
        gc.collect()
    finally:
        gc.callbacks.remove(watch._gc)
    assert watch.gc_spans and watch.gc_spans[-1][0] == 2 and watch.gc_spans[-1][3] == "MainThread"
    watch.stalls = [Stall(start=watch.gc_spans[-1][1], length=0.2)]
    out = io.StringIO()
    watch.report(out)
    assert "full collections by the thread that triggered them: {'MainThread': 1}" in out.getvalue()
