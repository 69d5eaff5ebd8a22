"""``kiosk sync`` killed with SIGKILL at random moments (22 times) loses nothing and
duplicates nothing: every record ends decided once, the central holds one copy of each."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.central.keys import StationKeys
from kiosk.config import load_config
from kiosk.store import RecordStore
from kiosk.sync.synthetic import enroll_synthetic
from kiosk.sync.worker import permits
from tests.conftest import ROOT

KILLS = 22
COUNT = 80

CONFIG = """
[station]
id = "KILL-01"
name = "Kill test"
region = "320101"
data_dir = "station"
language = "en"

[central]
url = "{url}"
public_key = "{signing}"
sealing_key = "{sealing}"
timeout_s = 2.0
poll_interval_s = 0.1
chunk_size = 2048
backoff_cap_s = 0.2
parallel_uploads = 2
allow_plain_http = true  # the in-process central of this test listens on loopback over http

[accounts]
file = "station/accounts.toml"

[policy]
required_fingers = [1, 6]
"""


@pytest.mark.slow
def test_sigkill_during_sync_loses_and_duplicates_nothing(tmp_path: Path, central) -> None:  # type: ignore[no-untyped-def]
    keys = central.registry.keys
    cfg_path = tmp_path / "config.toml"
    cfg_path.write_text(CONFIG.format(url=central.url, signing=keys.signing_public_path,
                                      sealing=keys.sealing_public_path))
    cfg = load_config(cfg_path)
    station = StationKeys.init(cfg.station.data_dir)
    central.registry.register_station("KILL-01", station.public, "320101")
    central.registry.decision_delay_s = 0.3
    # a slow link keeps uploads in flight long enough for kills to land mid-packet
    central.faults.set(bandwidth_bps=150_000, latency_s=0.005)
    store = RecordStore(cfg.station.data_dir, policy=cfg.policy)
    store.conn.execute("PRAGMA synchronous=OFF")  # setup only: what is under test is the sync
    ids = enroll_synthetic(store, COUNT, district="320101", seed=21, light=True)
    store.conn.execute("PRAGMA synchronous=FULL")

    rng = random.Random(1234)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # how long the CLI takes to start on this (possibly loaded) machine: kills are spread
    # from the end of start-up into the sync itself
    t = time.monotonic()
    subprocess.run([sys.executable, "-m", "kiosk", "--config", str(cfg_path), "queue", "--json"], env=env,
                   capture_output=True, check=True)
    startup = time.monotonic() - t
    progress = []
    for _ in range(KILLS):
        proc = subprocess.Popen([sys.executable, "-m", "kiosk", "--config", str(cfg_path), "sync"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(startup * rng.uniform(0.8, 1.2) + rng.uniform(0.0, 0.7))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        progress.append(store.counts()["queued"])
    print("queued after each kill:", progress)
    assert progress[0] > 0 and progress[-1] < COUNT  # kills landed while work was in progress

    central.faults.set(bandwidth_bps=0, latency_s=0.0)
    done = subprocess.run([sys.executable, "-m", "kiosk", "--config", str(cfg_path), "sync", "--once"], env=env,
                          capture_output=True, text=True, timeout=120)
    deadline = time.monotonic() + 30
    while store.counts()["approved"] < COUNT and time.monotonic() < deadline:
        done = subprocess.run([sys.executable, "-m", "kiosk", "--config", str(cfg_path), "sync", "--once"], env=env,
                              capture_output=True, text=True, timeout=120)
        time.sleep(0.3)
    assert store.counts()["approved"] == COUNT, (store.counts(), done.stderr)
    reg = central.registry
    with reg.lock:
        per_record = dict(reg.conn.execute("SELECT record_id, COUNT(*) FROM decisions GROUP BY record_id").fetchall())
        uploads = reg.conn.execute("SELECT COUNT(*) FROM uploads").fetchone()[0]
    assert per_record == {rid: 1 for rid in ids}
    assert uploads == COUNT and reg.counts()["records"] == COUNT
    for rid in ids:
        moves = [(e.from_state, e.to_state) for e in store.audit(rid) if e.action == "transition"]
        assert moves == [("draft", "captured"), ("captured", "queued"), ("queued", "submitted"),
                         ("submitted", "approved")]
        assert len(permits(store, rid)) == 1
    assert store.verify_audit() is None
    store.close()
