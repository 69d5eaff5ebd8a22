"""Long commands show progress on a terminal and nothing when not on one (issue 15)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, SIMULATED_SYNC_CONFIG, run_kiosk


def run_on_a_terminal(*args: str) -> tuple[int, str]:
    """The real CLI with stderr on a pseudo-terminal; returns (exit code, what the terminal got)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=slave,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"})
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    proc.wait(timeout=120)
    return proc.returncode, b"".join(chunks).decode(errors="replace")


def test_simulate_enroll_shows_progress_on_a_terminal(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(SIMULATED_SYNC_CONFIG)
    code, seen = run_on_a_terminal("--config", str(cfg), "--lang", "en", "simulate", "enroll", "--count", "3")
    assert code == 0, seen
    assert "Creating synthetic records" in seen and "3/3" in seen


def test_simulate_enroll_and_export_are_quiet_without_a_terminal(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(SIMULATED_SYNC_CONFIG)
    proc = run_kiosk("--config", str(cfg), "--lang", "en", "simulate", "enroll", "--count", "2")
    assert proc.returncode == 0 and proc.stderr == ""
    (tmp_path / "usb").mkdir()
    proc = run_kiosk("--config", str(cfg), "--lang", "en", "export", "--to", str(tmp_path / "usb"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_export_shows_progress_on_a_terminal(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(SIMULATED_SYNC_CONFIG)
    assert run_kiosk("--config", str(cfg), "simulate", "enroll", "--count", "2").returncode == 0
    (tmp_path / "usb").mkdir()
    code, seen = run_on_a_terminal("--config", str(cfg), "--lang", "en", "export", "--to", str(tmp_path / "usb"))
    assert code == 0, seen
    assert "Exporting records" in seen and "2/2" in seen
