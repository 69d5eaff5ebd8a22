"""One running kiosk per station, and ``kiosk devices`` / ``kiosk diag`` asking it.

The end-to-end tests run the real command line against a running ``kiosk serve`` (the station
without the UI: it holds the lock, the devices and their mocks, and the control socket exactly as
the UI does through the same code). Every wait is on a condition: the ready line, a file, an exit.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from kiosk.errors import KioskError
from kiosk.instance import LOCK_FILE, Holder, StationLock, running_holder
from tests.conftest import BASE_CONFIG, ROOT, run_kiosk

SIMULATED_ZFM = BASE_CONFIG + '\n[devices.jari]\ndriver = "zfm"\nmock = "zfm"\ntimeout_s = 2.0\npoll_interval_s = 0.01\n'
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def wait_for(condition: object, timeout_s: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class Serving:
    """A ``kiosk serve`` subprocess; ``ready`` once it printed its ready line."""

    def __init__(self, config: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "kiosk", "--lang", "en", "--config", str(config), "serve"],
                                     cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.ready_line = self.proc.stdout.readline()  # blocks until ready (or the process ended)
        if "Station running" not in self.ready_line:
            self.stop()
            raise AssertionError(f"kiosk serve did not start: {self.ready_line!r} {self.proc.stderr.read()!r}")  # type: ignore[union-attr]

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=60)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(SIMULATED_ZFM)
    return path


@pytest.fixture
def serving(config: Path) -> Iterator[Serving]:
    s = Serving(config)
    yield s
    s.stop()


# -- the lock --------------------------------------------------------------------------------------
def test_second_holder_is_refused_naming_the_first_and_the_lock_file_is_private(tmp_path: Path) -> None:
    with StationLock.acquire(tmp_path, mode="kiosk") as first:
        assert stat.S_IMODE((tmp_path / LOCK_FILE).stat().st_mode) == 0o600
        with pytest.raises(KioskError) as err:
            StationLock.acquire(tmp_path, mode="kiosk")
        assert err.value.code == "instance.running" and err.value.params["pid"] == os.getpid()
        assert running_holder(tmp_path) == first.holder
    assert running_holder(tmp_path) is None
    StationLock.acquire(tmp_path, mode="kiosk").release()  # free again once released


def test_the_running_kiosk_is_named_with_its_start_in_station_time() -> None:
    """The refusal said "berjalan sejak 2026-12-02T11:17:37+00:00": the machine's UTC stamp, where
    every other time an operator reads is the station's (WIB here: 18:17)."""
    holder = Holder(4242, "2026-12-02T11:17:37+00:00", "kiosk")
    assert "2026-12-02 18:17:37" in holder.describe() and "T11:17" not in holder.describe()


def test_a_holder_killed_with_sigkill_leaves_no_lock(tmp_path: Path) -> None:
    code = ("import sys, time; from pathlib import Path; from kiosk.instance import StationLock; "
            "StationLock.acquire(Path(sys.argv[1]), mode='victim'); print('held', flush=True); time.sleep(600)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    assert running_holder(tmp_path) is not None and running_holder(tmp_path).mode == "victim"  # type: ignore[union-attr]
    proc.kill()
    proc.wait(timeout=30)
    assert (tmp_path / LOCK_FILE).exists()  # the stale file stays ...
    assert running_holder(tmp_path) is None  # ... and holds nothing
    StationLock.acquire(tmp_path, mode="kiosk").release()


# -- through the real command line, with a running kiosk -------------------------------------------
def test_second_kiosk_refuses_with_one_line_naming_the_running_one(config: Path, serving: Serving) -> None:
    for argv in (["serve"], []):  # a second headless station, and the UI
        proc = run_kiosk("--lang", "en", "--config", str(config), *argv, timeout=60)
        assert proc.returncode == 1
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1, proc.stderr
        assert f"pid {serving.proc.pid}" in lines[0] and "running since" in lines[0] and "kiosk serve" in lines[0]
    assert serving.proc.poll() is None


def test_diag_and_devices_ask_the_running_kiosk_and_leave_its_mock_alone(config: Path, serving: Serving) -> None:
    mocks = config.parent / "data" / "mocks"
    tty, ctl = mocks / "zfm.tty", mocks / "zfm.ctl"
    assert tty.exists() and ctl.exists()
    pts = os.readlink(tty)
    for _ in range(2):  # the second run proves the first left the kiosk's sensor working
        proc = run_kiosk("--lang", "en", "--config", str(config), "diag", "--json", "--hexdump", timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        out = json.loads(proc.stdout)
        assert f"pid {serving.proc.pid}" in out["held_by"]
        (jari,) = out["devices"]
        assert jari["ok"] and [s["step"] for s in jari["steps"]] == ["build", "open", "info", "self_test", "capture"]
        assert jari["where"] == str(tty)
        assert os.readlink(tty) == pts and ctl.exists()  # the kiosk's mock files are untouched
    proc = run_kiosk("--lang", "en", "--config", str(config), "devices", "--json", timeout=60)
    listing = json.loads(proc.stdout)
    assert proc.returncode == 0 and listing["configured"][0]["state"] == "ready"
    assert f"pid {serving.proc.pid}" in listing["held_by"]
    proc = run_kiosk("--lang", "en", "--config", str(config), "diag", timeout=120)
    assert "Asked the running kiosk (kiosk serve, pid" in proc.stdout


def test_control_socket_is_private_and_a_killed_kiosk_does_not_block_the_next(config: Path) -> None:
    first = Serving(config)
    holder = running_holder(config.parent / "data")
    assert holder is not None and holder.pid == first.proc.pid
    assert stat.S_IMODE(os.stat(holder.control).st_mode) == 0o600
    first.stop(signal.SIGKILL)
    # no kiosk runs now: the tools say nothing about one
    proc = run_kiosk("--lang", "en", "--config", str(config), "devices", "--json", timeout=60)
    assert proc.returncode == 0 and json.loads(proc.stdout)["held_by"] is None
    second = Serving(config)  # the stale lock file and socket do not block
    try:
        wait_for(lambda: running_holder(config.parent / "data") is not None, what="the second kiosk's lock")
        assert running_holder(config.parent / "data").pid == second.proc.pid  # type: ignore[union-attr]
    finally:
        assert second.stop() == 0
    assert running_holder(config.parent / "data") is None


def test_a_running_kiosk_that_cannot_be_asked_is_named_and_its_devices_left_alone(tmp_path: Path, config: Path) -> None:
    # a kiosk holds the station but has no control socket (an older one, or one still starting)
    with StationLock.acquire(config.parent / "data", mode="kiosk"):
        proc = run_kiosk("--lang", "en", "--config", str(config), "diag", timeout=60)
    assert proc.returncode == 1
    assert "holds the devices" in proc.stderr and f"pid {os.getpid()}" in proc.stderr
    assert not (config.parent / "data" / "mocks" / "zfm.tty").exists()  # no mock of its own was started
