"""The command line on a simulated station: keys, simulate, sync against the local central
started on demand, queue --json, delete-request; export and the central command's import."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from tests.conftest import SIMULATED_SYNC_CONFIG as CONFIG
from tests.conftest import run_kiosk



def test_simulated_station_syncs_to_local_central_with_no_manual_step(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG)
    r = run_kiosk("--config", str(cfg), "simulate", "enroll", "--count", "4", "--json")
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["created"]) == 4

    r = run_kiosk("--config", str(cfg), "queue", "--json")
    before = json.loads(r.stdout)
    assert before["counts"]["queued"] == 4 and before["pending_bytes"] > 0
    assert before["network"]["state"] == "unknown" and before["oldest_waiting"]

    r = run_kiosk("--config", str(cfg), "sync", "--once", "--json")
    assert r.returncode == 0, r.stderr
    # keys for the station and its local central were created at first start, owner-only
    for key in (tmp_path / "data/keys/station_ed25519.pem", tmp_path / "central/keys/central_ed25519.pem",
                tmp_path / "central/keys/central_x25519.pem"):
        assert stat.S_IMODE(os.stat(key).st_mode) == 0o600

    r = run_kiosk("--config", str(cfg), "queue", "--json")
    after = json.loads(r.stdout)
    assert after["counts"]["approved"] == 4 and after["counts"]["queued"] == 0
    assert after["pending_bytes"] == 0 and after["network"]["state"] == "online"
    assert set(after) >= {"counts", "oldest_waiting", "pending_bytes", "network"}

    r = run_kiosk("--config", str(cfg), "queue")
    assert "approved" in r.stdout and "online" in r.stdout


def test_delete_request_on_an_undecided_record_says_it_waits_for_the_centrals_answer(tmp_path: Path) -> None:
    """A record the central has not decided yet may carry a deletion request (filed at the NIK
    step); the CLI said "sent on the next sync", which is not what happens to it."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG)
    created = json.loads(run_kiosk("--config", str(cfg), "simulate", "enroll", "--count", "1", "--json").stdout)
    r = run_kiosk("--config", str(cfg), "--lang", "en", "queue", "delete-request", created["created"][0][:8])
    assert r.returncode == 0
    assert r.stdout.strip().count("\n") == 0 and "once the central calls this record a duplicate" in r.stdout


def test_central_import_takes_a_station_export_and_reports_refusals(tmp_path: Path) -> None:
    """kiosk export on the station, kiosk central import at the central (station registered
    with --station): intact packets are ingested, a damaged one is named, exit status 1."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG)
    assert run_kiosk("--config", str(cfg), "simulate", "enroll", "--count", "2").returncode == 0
    keys = run_kiosk("--config", str(cfg), "keys", "init", "--json")
    pem = json.loads(keys.stdout)["station_public_key"]
    (tmp_path / "usb").mkdir()
    r = run_kiosk("--config", str(cfg), "export", "--to", str(tmp_path / "usb"), "--json")
    assert r.returncode == 0, r.stderr
    batch = json.loads(r.stdout)
    broken = batch["records"][0]
    (Path(batch["folder"]) / "packets" / f"{broken}.pkt").write_bytes(b"KPKT" + b"\x00" * 100)
    r = run_kiosk("--lang", "en", "central", "--data", str(tmp_path / "central"), "--station",
                  f"CLI-01={pem}:320101", "import", str(tmp_path / "usb"))
    assert r.returncode == 1
    assert "1 packets accepted, 1 refused" in r.stdout and broken in r.stdout


def test_local_central_takes_its_bad_day_from_config(tmp_path: Path) -> None:
    from kiosk.central.local import start_local_central
    from kiosk.config import load_config

    cfg_path = tmp_path / "config.toml"
    cfg_path.write_text(CONFIG.replace("decision_delay_s = 0.0", "decision_delay_s = 0.0\nfault_rate = 0.25\n"
                                       "latency_ms = 20.0\nbandwidth_kbps = 800.0"))
    handle = start_local_central(load_config(cfg_path))
    try:
        assert handle.faults is not None
        cfg = handle.faults.config
        assert (cfg.rate, cfg.latency_s, cfg.bandwidth_bps) == (0.25, 0.02, 100_000)
        assert cfg.hang_s > 10.0  # past the station's default 10 s timeout
    finally:
        handle.close()


def test_sync_loop_decides_within_seconds_and_stops_on_sigterm(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG.replace("decision_delay_s = 0.0", "decision_delay_s = 1.0"))
    run_kiosk("--config", str(cfg), "simulate", "enroll", "--count", "3")
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "--config", str(cfg), "sync"],
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        approved = 0
        while time.monotonic() < deadline and approved < 3:
            time.sleep(0.5)
            approved = json.loads(run_kiosk("--config", str(cfg), "queue", "--json").stdout)["counts"]["approved"]
        assert approved == 3
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert "stopped" in out
    finally:
        if proc.poll() is None:
            proc.kill()
