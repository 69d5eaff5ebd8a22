"""What grows in the heap between two points of a benchmark (opt-in, for finding leaks).

``tracemalloc`` sees what Python and numpy allocate (numpy reports its buffers to it), not what C
libraries allocate themselves (nbis, OpenCV): compare its total with the RSS growth to tell the two
apart. The object counts by type (``gc.get_objects()``, as objgraph's ``show_growth`` does) name
what is kept alive: closed screens, widgets, cache entries. The resident pages by mapping
(``/proc/self/smaps``: each shared library, the heap, anonymous mappings) and the modules imported
between two marks tell which libraries' code and data a step touched first.
"""

from __future__ import annotations

import ctypes
import gc
import sys
import threading
import tracemalloc
from types import FrameType
from collections import Counter
from typing import Iterable, TextIO


def _name(o: object) -> str:
    return f"{type(o).__module__}.{type(o).__qualname__}"


def _describe(o: object) -> str:
    if isinstance(o, dict):
        return f"dict({len(o)})"
    if isinstance(o, (list, tuple, set)):
        return f"{type(o).__name__}({len(o)})"
    return _name(o)


class _MallInfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2`` (mallinfo(3), glibc 2.33 and later)."""

    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def native_figures() -> dict[str, float]:
    """What tracemalloc cannot see, in MB: resident anonymous and file-backed pages, glibc's heaps
    (in use, free but kept, mmapped blocks), SQLite's own allocations, and the thread count."""
    out: dict[str, float] = {"threads": float(threading.active_count())}
    try:  # resident pages of the process's own memory vs of mapped files (library code, data files)
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(("RssAnon:", "RssFile:")):
                    key, kib, _ = line.split()
                    out[key.rstrip(":").lower()] = int(kib) / 1024
    except OSError:
        pass
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


def resident_by_mapping(lines: Iterable[str] | None = None) -> dict[str, float]:
    """Resident MB per mapped file (``/proc/self/smaps``, Linux; ``lines`` in that format for a
    test), anonymous mappings under ``[anon]``, glibc's main heap under ``[heap]``, thread stacks
    and the rest by their name."""
    if lines is None:
        try:
            with open("/proc/self/smaps") as f:
                return resident_by_mapping(f.readlines())
        except OSError:
            return {}
    out: dict[str, float] = {}
    name = "[anon]"
    for line in lines:
        head = line.split(maxsplit=5)
        if not head:
            continue
        if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):  # a mapping's header
            name = head[5].strip() if len(head) == 6 else "[anon]"
        elif head[0] == "Rss:":
            out[name] = out.get(name, 0.0) + int(head[1]) / 1024
    return out


class HeapGrowth:
    """Snapshots at :meth:`mark`; :meth:`report` prints what grew from the first mark to the last.

    Tracing starts at the first mark (it slows every allocation down, and only what is allocated
    after the first mark and still alive at the last one is growth)."""

    def __init__(self, frames: int = 8, *, trace: bool = True, watched: tuple[str, ...] = ()) -> None:
        self.frames = frames
        self.trace = trace
        self.watched = watched
        self.first_ids: set[int] = set()
        self.marks: list[tuple[str, tracemalloc.Snapshot | None, Counter[str]]] = []
        self.native: list[dict[str, float]] = []
        self.mappings: list[dict[str, float]] = []
        self.modules: list[set[str]] = []

    @staticmethod
    def _types() -> Counter[str]:
        gc.collect()
        return Counter(_name(o) for o in gc.get_objects())

    #: types whose new instances are traced back to what holds them (``TUI_DAY_HOLDERS``)
    watched: tuple[str, ...] = ()

    def _watched_ids(self) -> set[int]:
        return {id(o) for o in gc.get_objects() if _name(o) in self.watched}

    def holders(self, out: TextIO, samples: int = 3, depth: int = 6) -> None:
        """For a few instances of each watched type made since the first mark: the chain of
        objects that keeps each alive (the first referrer at each step, frames left out)."""
        first = self.first_ids
        fresh = [o for o in gc.get_objects() if _name(o) in self.watched and id(o) not in first]
        by_type: dict[str, list[object]] = {}
        for o in fresh:
            by_type.setdefault(_name(o), []).append(o)
        for name, objs in by_type.items():
            print(f"  held: {len(objs)} new {name}", file=out)
            picked = objs[:: max(1, len(objs) // samples)][:samples]
            for obj in picked:
                chain, seen = [_describe(obj)], {id(obj), id(objs), id(fresh), id(by_type), id(picked)}
                for _ in range(depth):
                    refs = gc.get_referrers(obj)
                    seen.add(id(refs))
                    holder = next((r for r in refs if id(r) not in seen and not isinstance(r, FrameType)), None)
                    del refs  # a list holding obj: not to be found as its holder at the next step
                    if holder is None:
                        break
                    obj = holder
                    seen.add(id(obj))
                    chain.append(_describe(obj))
                print("    " + " <- ".join(chain), file=out)
        del fresh, by_type

    def mark(self, label: str) -> None:
        types = self._types()
        if not self.marks:
            self.first_ids = self._watched_ids()
        if self.trace and not tracemalloc.is_tracing():
            tracemalloc.start(self.frames)
        snapshot = None
        if self.trace:
            snapshot = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, tracemalloc.__file__),
                 tracemalloc.Filter(False, "<frozen importlib._bootstrap*>")])
        self.marks.append((label, snapshot, types))
        self.native.append(native_figures())
        self.mappings.append(resident_by_mapping())
        self.modules.append(set(sys.modules))

    @staticmethod
    def _traced(old: tracemalloc.Snapshot, new: tracemalloc.Snapshot, out: TextIO, top: int) -> None:
        stats = new.compare_to(old, "lineno")
        print(f"  tracemalloc {sum(s.size_diff for s in stats) / 2 ** 20:+.1f} MB "
              f"(traced now {sum(s.size for s in stats) / 2 ** 20:.1f} MB)", file=out)
        for stat in stats[:top]:
            print(f"  {stat.size_diff / 1024:+9.0f} KiB {stat.count_diff:+7d} blocks  {stat.traceback[0]}", file=out)
        print("  largest growth by call path:", file=out)
        for stat in new.compare_to(old, "traceback")[:8]:
            print(f"  {stat.size_diff / 1024:+9.0f} KiB {stat.count_diff:+7d} blocks", file=out)
            for line in stat.traceback.format(limit=8, most_recent_first=True):
                print(f"      {line}", file=out)

    @staticmethod
    def _mapped(old: dict[str, float], new: dict[str, float], out: TextIO, top: int) -> None:
        grew = sorted(((new[k] - old.get(k, 0.0), k) for k in new), reverse=True)
        print(f"  resident by mapping {sum(new.values()) - sum(old.values()):+.1f} MB:", file=out)
        for diff, name in grew[:top]:
            if diff >= 0.1:
                print(f"  {diff:+8.1f} MB  {name} ({new[name]:.1f})", file=out)

    def report(self, out: TextIO = sys.stderr, top: int = 25) -> None:
        if len(self.marks) < 2:
            return
        (first, old, old_types), (last, new, new_types) = self.marks[0], self.marks[-1]
        print(f"heap growth {first} -> {last}", file=out)
        print("  native: " + ", ".join(f"{k} {self.native[0].get(k, 0):.1f} -> {v:.1f}"
                                       for k, v in self.native[-1].items()), file=out)
        self._mapped(self.mappings[0], self.mappings[-1], out, top)
        imported = sorted(self.modules[-1] - self.modules[0])
        print(f"  modules imported: {len(imported)}: {' '.join(imported[:60])}", file=out)
        if old is not None and new is not None:
            self._traced(old, new, out, top)
        print("  object counts that grew:", file=out)
        growth = Counter({k: new_types[k] - old_types.get(k, 0) for k in new_types})
        for name, diff in growth.most_common(top):
            if diff > 0:
                print(f"  {diff:+8d}  {name} ({new_types[name]})", file=out)
        if self.watched:
            self.holders(out)
        out.flush()
