"""One running kiosk per station: a lock on the data folder, and who holds it.

The running kiosk (the UI, or ``kiosk serve``) holds an exclusive ``flock`` on
``<data_dir>/kiosk.lock`` for as long as it runs; the file also says who it is (pid, since when,
what mode, where its control socket is). The kernel drops the lock when the process ends in any
way, kill -9 included, so a stale file never blocks the next start: only a live holder does.

A second kiosk on the same data refuses with one plain line naming the running one. Tools that
only want to know (``kiosk devices`` / ``kiosk diag``) look with a shared lock, which a starting
kiosk may meet for a moment: :meth:`StationLock.acquire` retries briefly before it refuses.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.errors import KioskError

LOCK_FILE = "kiosk.lock"
#: how long a starting kiosk keeps trying when someone only looked at the lock
ACQUIRE_RETRY_S = 1.0


@dataclass(frozen=True)
class Holder:
    """Who holds the station: what the lock file says."""

    pid: int
    since: str
    mode: str
    control: str = ""

    @classmethod
    def parse(cls, text: str) -> "Holder | None":
        try:
            data = json.loads(text)
            return cls(int(data["pid"]), str(data["since"]), str(data.get("mode", "")), str(data.get("control", "")))
        except (ValueError, KeyError, TypeError):
            return None  # written half-way by a starting kiosk, or damaged: the lock still tells

    def describe(self) -> str:
        from kiosk.i18n import local_time, translate

        # the file keeps the machine's ISO stamp; the operator reads the station's wall clock
        return translate("instance.holder", mode=self.mode or "kiosk", pid=self.pid, since=local_time(self.since))


def _open_lock_file(data_dir: Path) -> int:
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


def _read(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 4096).decode("utf-8", "replace")


class StationLock:
    """The running kiosk's hold on its data folder (a context manager; released on exit)."""

    def __init__(self, data_dir: Path, fd: int, holder: Holder) -> None:
        self.data_dir = data_dir
        self._fd = fd
        self.holder = holder

    @classmethod
    def acquire(cls, data_dir: Path, *, mode: str) -> "StationLock":
        """Hold the station, or raise ``instance.running`` naming the kiosk that does."""
        data_dir = Path(data_dir)
        fd = _open_lock_file(data_dir)
        deadline = time.monotonic() + ACQUIRE_RETRY_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    other = Holder.parse(_read(fd))
                    os.close(fd)
                    if other is None:
                        raise KioskError("instance.running_unknown", path=str(data_dir / LOCK_FILE)) from None
                    raise KioskError("instance.running", holder=other.describe(), pid=other.pid,
                                     since=other.since) from None
                time.sleep(0.05)
        since = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        lock = cls(data_dir, fd, Holder(os.getpid(), since, mode))
        lock._write()
        return lock

    def _write(self) -> None:
        data: dict[str, Any] = {"pid": self.holder.pid, "since": self.holder.since, "mode": self.holder.mode,
                                "control": self.holder.control}
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps(data).encode(), 0)
        os.fsync(self._fd)

    def set_control(self, path: str) -> None:
        """Tell tools where this kiosk's control socket is."""
        self.holder = Holder(self.holder.pid, self.holder.since, self.holder.mode, path)
        self._write()

    def release(self) -> None:
        if self._fd < 0:
            return
        try:
            os.ftruncate(self._fd, 0)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "StationLock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def running_holder(data_dir: Path) -> Holder | None:
    """The kiosk holding this station's data, or None when none runs (a stale file is no holder)."""
    path = Path(data_dir) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return Holder.parse(_read(fd)) or Holder(0, "?", "kiosk")
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
