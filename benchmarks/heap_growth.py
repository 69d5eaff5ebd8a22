"""What grows in the heap between two points of a benchmark (opt-in, for finding leaks).

``tracemalloc`` sees what Python and numpy allocate (numpy reports its buffers to it), not what C
libraries allocate themselves (nbis, OpenCV): compare its total with the RSS growth to tell the two
apart. The object counts by type (``gc.get_objects()``, as objgraph's ``show_growth`` does) name
what is kept alive: closed screens, widgets, cache entries.
"""

from __future__ import annotations

import ctypes
import gc
import sys
import threading
import tracemalloc
from collections import Counter
from typing import TextIO


class _MallInfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2`` (mallinfo(3), glibc 2.33 and later)."""

    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def native_figures() -> dict[str, float]:
    """What tracemalloc cannot see, in MB: glibc's heaps (in use, free but kept, mmapped blocks),
    SQLite's own allocations, and the thread count."""
    out: dict[str, float] = {"threads": float(threading.active_count())}
    try:
        libc = ctypes.CDLL(None)
        libc.mallinfo2.restype = _MallInfo2
        info = libc.mallinfo2()
        out.update(malloc_in_use=info.uordblks / 2 ** 20, malloc_free_kept=info.fordblks / 2 ** 20,
                   malloc_mmapped=info.hblkhd / 2 ** 20)
    except (OSError, AttributeError):  # not glibc
        pass
    try:
        sqlite = ctypes.CDLL("libsqlite3.so.0")  # the library Python's sqlite3 module has loaded
        sqlite.sqlite3_memory_used.restype = ctypes.c_int64
        out["sqlite"] = sqlite.sqlite3_memory_used() / 2 ** 20
    except (OSError, AttributeError):
        pass
    return out


class HeapGrowth:
    """Snapshots at :meth:`mark`; :meth:`report` prints what grew from the first mark to the last.

    Tracing starts at the first mark (it slows every allocation down, and only what is allocated
    after the first mark and still alive at the last one is growth)."""

    def __init__(self, frames: int = 8) -> None:
        self.frames = frames
        self.marks: list[tuple[str, tracemalloc.Snapshot, Counter[str]]] = []
        self.native: list[dict[str, float]] = []

    @staticmethod
    def _types() -> Counter[str]:
        gc.collect()
        return Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects())

    def mark(self, label: str) -> None:
        types = self._types()
        if not tracemalloc.is_tracing():
            tracemalloc.start(self.frames)
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap*>")])
        self.marks.append((label, snapshot, types))
        self.native.append(native_figures())

    def report(self, out: TextIO = sys.stderr, top: int = 25) -> None:
        if len(self.marks) < 2:
            return
        (first, old, old_types), (last, new, new_types) = self.marks[0], self.marks[-1]
        stats = new.compare_to(old, "lineno")
        grown = sum(s.size_diff for s in stats)
        print(f"heap growth {first} -> {last}: tracemalloc {grown / 2 ** 20:+.1f} MB "
              f"(traced now {sum(s.size for s in stats) / 2 ** 20:.1f} MB)", file=out)
        print("  native: " + ", ".join(f"{k} {self.native[0].get(k, 0):.1f} -> {v:.1f}"
                                       for k, v in self.native[-1].items()), file=out)
        for stat in stats[:top]:
            print(f"  {stat.size_diff / 1024:+9.0f} KiB {stat.count_diff:+7d} blocks  {stat.traceback[0]}", file=out)
        print("  largest growth by call path:", file=out)
        for stat in new.compare_to(old, "traceback")[:8]:
            print(f"  {stat.size_diff / 1024:+9.0f} KiB {stat.count_diff:+7d} blocks", file=out)
            for line in stat.traceback.format(limit=8, most_recent_first=True):
                print(f"      {line}", file=out)
        print("  object counts that grew:", file=out)
        growth = Counter({k: new_types[k] - old_types.get(k, 0) for k in new_types})
        for name, diff in growth.most_common(top):
            if diff > 0:
                print(f"  {diff:+8d}  {name} ({new_types[name]})", file=out)
        out.flush()
