"""glibc malloc settings for a station that runs all day (issue 11 §3: memory over a working day).

Reference: glibc's ``mallopt(3)`` and ``malloc_trim(3)`` (Linux man-pages), the parameter numbers
in glibc's ``malloc/malloc.h`` (``M_TRIM_THRESHOLD`` -1, ``M_MMAP_THRESHOLD`` -3, ``M_ARENA_MAX``
-8), and the GNU C Library manual, "Memory Allocation Tunables" (the ``MALLOC_*_`` environment
variables and ``GLIBC_TUNABLES=glibc.malloc.*`` that set the same parameters).

Why: the station runs many threads (Textual's worker pool, sync, device readers, the local
central's server). glibc gives threads their own arenas, up to 8 per core, and each arena keeps
the memory its thread freed; its mmap threshold also moves up (to 32 MB) after the first large
block is freed, so later numpy/image buffers of a capture land on those heaps and fragment
them. With the variables below set in the environment, the lead's 6-enrollment ``tui_day`` grew
175 MB instead of 313 MB. A station cannot rely on the operator's environment, so
:func:`tune_malloc` sets the same parameters with ``mallopt`` at process start, before worker
threads exist (an arena made earlier stays). :func:`release_free_memory` hands freed pages back
to the system (``malloc_trim(0)``) after the start-up self-test (kiosk/ops/pipeline_check.py), after
each submitted enrollment and after each card, always from a worker thread.

Only glibc has these calls; elsewhere both functions do nothing. A refused setting is logged,
never raised: the station works without it, only with more memory. :func:`tune_malloc` runs
before the command has set up logging, so it logs at debug level (Python's last-resort handler
would print a warning in English on the operator's terminal); the ``kiosk`` command logs what was
applied once its log is set up.
"""

from __future__ import annotations

import ctypes
import logging
import os
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

log = logging.getLogger("kiosk.memory")

#: glibc malloc.h parameter numbers
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8


@dataclass(frozen=True)
class MallocSetting:
    name: str
    param: int
    value: int
    #: the environment variable that sets it at glibc's start (then the operator's choice wins)
    env: str
    #: its name in GLIBC_TUNABLES
    tunable: str


#: two arenas whatever the thread count; blocks from 128 KiB get their own mapping (returned
#: to the system when freed) and the threshold stays put; the heap top is trimmed past 128 KiB
STATION_SETTINGS: tuple[MallocSetting, ...] = (
    MallocSetting("arena_max", M_ARENA_MAX, 2, "MALLOC_ARENA_MAX", "glibc.malloc.arena_max"),
    MallocSetting("mmap_threshold", M_MMAP_THRESHOLD, 128 * 1024, "MALLOC_MMAP_THRESHOLD_",
                  "glibc.malloc.mmap_threshold"),
    MallocSetting("trim_threshold", M_TRIM_THRESHOLD, 128 * 1024, "MALLOC_TRIM_THRESHOLD_",
                  "glibc.malloc.trim_threshold"),
)


class MallocLibrary(Protocol):
    """The two glibc calls used here (a ctypes CDLL, or a fake in tests)."""

    def mallopt(self, param: int, value: int) -> int: ...
    def malloc_trim(self, pad: int) -> int: ...


@cache
def glibc() -> MallocLibrary | None:
    """The process's C library when it is glibc with ``mallopt`` and ``malloc_trim``; None elsewhere."""
    try:
        version = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):  # not a GNU system (musl, macOS)
        return None
    if not version or not version.startswith("glibc"):
        return None
    try:
        libc: Any = ctypes.CDLL(None)  # the symbols already loaded into the process, glibc's among them
        mallopt, trim = libc.mallopt, libc.malloc_trim
    except (OSError, AttributeError) as exc:
        log.debug("glibc malloc controls not found", extra={"reason": str(exc)})
        return None
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return libc  # type: ignore[no-any-return]


def _set_by_operator(setting: MallocSetting, environ: dict[str, str] | os._Environ[str]) -> bool:
    return setting.env in environ or setting.tunable in environ.get("GLIBC_TUNABLES", "")


def tune_malloc(libc: MallocLibrary | None = None,
                environ: dict[str, str] | os._Environ[str] | None = None) -> dict[str, int]:
    """Apply :data:`STATION_SETTINGS` (those the environment does not already set); returns the
    settings applied by name. Call once at process start, before threads are started."""
    libc = libc if libc is not None else glibc()
    if libc is None:
        return {}
    environ = os.environ if environ is None else environ
    applied: dict[str, int] = {}
    for setting in STATION_SETTINGS:
        if _set_by_operator(setting, environ):
            log.debug("malloc setting left to the environment", extra={"setting": setting.name})
            continue
        try:
            ok = libc.mallopt(setting.param, setting.value)
        except Exception as exc:  # a broken libc binding: the station runs on without it
            log.debug("mallopt failed", extra={"setting": setting.name, "reason": str(exc)})
            continue
        if ok == 1:
            applied[setting.name] = setting.value
        else:
            log.debug("mallopt refused", extra={"setting": setting.name, "value": setting.value})
    return applied


def release_free_memory(libc: MallocLibrary | None = None) -> bool:
    """Give the pages malloc holds free back to the system (``malloc_trim(0)``). True when some
    were released. It walks every arena under its lock: call it from a worker thread, not the UI's."""
    libc = libc if libc is not None else glibc()
    if libc is None:
        return False
    try:
        return bool(libc.malloc_trim(0))
    except Exception as exc:
        log.warning("malloc_trim failed", extra={"reason": str(exc)})
        return False
