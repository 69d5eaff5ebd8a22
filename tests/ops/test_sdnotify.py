"""sd_notify without a library (issue 15, deploy/: Type=notify with a watchdog): datagrams on
$NOTIFY_SOCKET, and `kiosk sync` as a notify service: READY, watchdog pings, STOPPING."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.ops.sdnotify import ServiceWatchdog, notify, watchdog_interval
from tests.conftest import ROOT, SIMULATED_SYNC_CONFIG


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(60)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield sock
    sock.close()


def test_notify_sends_one_datagram_of_lines(notify_socket: socket.socket) -> None:
    assert notify("READY=1", "STATUS=syncing")
    assert notify_socket.recv(4096) == b"READY=1\nSTATUS=syncing"


def test_abstract_namespace_address(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"kiosk-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(10)
    monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
    try:
        assert notify("WATCHDOG=1")
        assert sock.recv(100) == b"WATCHDOG=1"
    finally:
        sock.close()


def test_outside_systemd_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert notify("READY=1") is False
    assert watchdog_interval() is None


def test_watchdog_interval_is_for_this_process_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert watchdog_interval() == 30.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))
    assert watchdog_interval() is None


def test_watchdog_pings_only_while_the_loop_beats() -> None:
    now = [0.0]
    sent: list[str] = []
    dog = ServiceWatchdog(stale_after=10, interval=4, clock=lambda: now[0], send=lambda s: sent.append(s) or True)
    assert dog.ping_once()
    now[0] = 9.0
    assert dog.ping_once()
    now[0] = 11.0  # no beat for 11 s: the loop is stuck, let systemd restart it
    assert not dog.ping_once()
    dog.beat()
    assert dog.ping_once()
    assert sent == ["WATCHDOG=1"] * 3


def test_kiosk_sync_is_a_notify_service_with_a_watchdog(tmp_path: Path, notify_socket: socket.socket) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(SIMULATED_SYNC_CONFIG)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WATCHDOG_USEC": "2000000"}
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "--config", str(cfg), "sync"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        got: list[bytes] = []
        deadline = time.monotonic() + 90
        while b"WATCHDOG=1" not in got and time.monotonic() < deadline:
            got.append(notify_socket.recv(4096))
        assert got[0].startswith(b"READY=1\nSTATUS=")
        assert b"WATCHDOG=1" in got
        proc.send_signal(signal.SIGTERM)
        while True:
            msg = notify_socket.recv(4096)
            if msg == b"STOPPING=1":
                break
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
