"""glibc malloc settings at process start (issue 11 §3: memory over a working day).

The fake-libc tests check which ``mallopt`` calls the station makes; the glibc tests run a fresh
interpreter and read glibc's own account of its heaps (``malloc_info(3)`` XML) to see that the
settings take effect: arenas capped at two however many threads allocate, and a block over the
mmap threshold mapped on its own even after a larger block was freed (which, untuned, raises
glibc's dynamic threshold).
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.ops import malloc
from kiosk.ops.malloc import M_ARENA_MAX, M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, release_free_memory, tune_malloc
from tests.conftest import ROOT


class FakeLibc:
    def __init__(self, refuse: set[int] = frozenset(), broken: bool = False) -> None:  # type: ignore[assignment]
        self.calls: list[tuple[int, int]] = []
        self.trims: list[int] = []
        self.refuse = refuse
        self.broken = broken

    def mallopt(self, param: int, value: int) -> int:
        if self.broken:
            raise OSError("no such symbol")
        self.calls.append((param, value))
        return 0 if param in self.refuse else 1

    def malloc_trim(self, pad: int) -> int:
        if self.broken:
            raise OSError("no such symbol")
        self.trims.append(pad)
        return 1


def test_tune_malloc_sets_arena_max_mmap_and_trim_thresholds() -> None:
    libc = FakeLibc()
    applied = tune_malloc(libc, environ={})
    assert libc.calls == [(M_ARENA_MAX, 2), (M_MMAP_THRESHOLD, 131072), (M_TRIM_THRESHOLD, 131072)]
    assert (M_ARENA_MAX, M_MMAP_THRESHOLD, M_TRIM_THRESHOLD) == (-8, -3, -1)  # glibc malloc.h
    assert applied == {"arena_max": 2, "mmap_threshold": 131072, "trim_threshold": 131072}


def test_settings_the_environment_makes_are_left_to_it() -> None:
    libc = FakeLibc()
    applied = tune_malloc(libc, environ={"MALLOC_ARENA_MAX": "4",
                                         "GLIBC_TUNABLES": "glibc.malloc.trim_threshold=65536"})
    assert libc.calls == [(M_MMAP_THRESHOLD, 131072)]
    assert applied == {"mmap_threshold": 131072}


def test_a_refused_or_failing_setting_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="kiosk.memory")
    libc = FakeLibc(refuse={M_MMAP_THRESHOLD})
    assert tune_malloc(libc, environ={}) == {"arena_max": 2, "trim_threshold": 131072}
    assert tune_malloc(FakeLibc(broken=True), environ={}) == {}
    assert release_free_memory(FakeLibc(broken=True)) is False
    messages = [r.getMessage() for r in caplog.records]
    assert "mallopt refused" in messages and "mallopt failed" in messages and "malloc_trim failed" in messages


def test_release_free_memory_trims_with_no_padding() -> None:
    libc = FakeLibc()
    assert release_free_memory(libc) is True
    assert libc.trims == [0]


def test_without_glibc_nothing_is_called(monkeypatch: pytest.MonkeyPatch) -> None:
    malloc.glibc.cache_clear()
    monkeypatch.setattr(os, "confstr", lambda name: None)  # musl and others have no CS_GNU_LIBC_VERSION
    try:
        assert malloc.glibc() is None
        assert tune_malloc(environ={}) == {}
        assert release_free_memory() is False
    finally:
        malloc.glibc.cache_clear()


#: allocate from 8 threads at once, free a 4 MiB block, keep a 512 KiB one, then print glibc's heap count and mmap count
HEAPS_PROBE = r"""
import ctypes, sys, threading
from kiosk.ops.malloc import tune_malloc
if sys.argv[1] == "tuned":
    assert tune_malloc(environ={}) == {"arena_max": 2, "mmap_threshold": 131072, "trim_threshold": 131072}
libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.fopen.restype, libc.fopen.argtypes = ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes, libc.fclose.argtypes = [ctypes.c_int, ctypes.c_void_p], [ctypes.c_void_p]
held, together = [], threading.Barrier(8)
def allocate():
    block = libc.malloc(1000)
    together.wait()
    held.append(block)
threads = [threading.Thread(target=allocate) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
libc.free(libc.malloc(4 << 20))
kept = libc.malloc(512 << 10)
fp = libc.fopen(sys.argv[2].encode(), b"w")
libc.malloc_info(0, fp)
libc.fclose(fp)
"""


def _heaps(tmp_path: Path, mode: str) -> tuple[int, int]:
    out = tmp_path / f"{mode}.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    subprocess.run([sys.executable, "-c", HEAPS_PROBE, mode, str(out)], cwd=ROOT, env=env, check=True, timeout=120)
    xml = out.read_text()
    *_, mmapped = re.findall(r'<total type="mmap" count="(\d+)"', xml)
    return xml.count("<heap nr="), int(mmapped)


@pytest.mark.skipif(not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"), reason="glibc only")
def test_on_glibc_the_settings_cap_arenas_and_keep_large_blocks_mapped(tmp_path: Path) -> None:
    default_heaps, default_mmapped = _heaps(tmp_path, "default")
    tuned_heaps, tuned_mmapped = _heaps(tmp_path, "tuned")
    assert default_heaps > 2  # untuned: a new arena per thread (8 per core allowed)
    assert tuned_heaps <= 2
    # untuned, freeing the 4 MiB block raised the threshold and the 512 KiB block came from a heap
    assert tuned_mmapped == default_mmapped + 1


@pytest.mark.skipif(not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"), reason="glibc only")
def test_on_glibc_the_c_library_is_found() -> None:
    malloc.glibc.cache_clear()
    assert malloc.glibc() is not None


def test_the_kiosk_command_tunes_malloc_before_anything_else(monkeypatch: pytest.MonkeyPatch) -> None:
    import kiosk.cli

    calls: list[str] = []
    monkeypatch.setattr(kiosk.cli, "tune_malloc", lambda: calls.append("tuned") or {})
    monkeypatch.setattr(kiosk.cli, "build_parser", lambda: calls.append("parser") or kiosk.cli.KioskArgumentParser())
    with pytest.raises(SystemExit):
        kiosk.cli.main(["--version"])
    assert calls[:2] == ["tuned", "parser"]


@pytest.mark.parametrize("refused", [False, True])
def test_every_print_gives_freed_memory_back(monkeypatch: pytest.MonkeyPatch, refused: bool) -> None:
    import kiosk.station
    from kiosk.errors import KioskError
    from kiosk.station import Station

    events: list[str] = []

    class Desk:
        def print(self, record_id: str, **kw: object) -> str:
            events.append("print")
            if refused:
                raise KioskError("print.no_printer")
            return "printed"

    monkeypatch.setattr(kiosk.station, "release_free_memory", lambda: events.append("trim"))
    station = Station.__new__(Station)  # only the print path is under test: no store, no devices
    station._desk = Desk()  # type: ignore[attr-defined]
    if refused:
        with pytest.raises(KioskError):
            station.print("rid", actor="op")
    else:
        assert station.print("rid", actor="op") == "printed"
    assert events == ["print", "trim"]
