"""``[central.local] https = true``: the simulated station's own central served over https with a
certificate it makes once and the station pins, so a simulated station syncs the way a real one
does (TLS, pinning) with no real central."""

from __future__ import annotations

import json
from pathlib import Path

from kiosk.central.tls import self_signed_certificate
from tests.conftest import SIMULATED_SYNC_CONFIG as CONFIG
from tests.conftest import run_kiosk

HTTPS = CONFIG.replace("decision_delay_s = 0.0", "decision_delay_s = 0.0\nhttps = true")


def test_a_simulated_station_syncs_over_https_to_its_local_central(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(HTTPS)
    assert run_kiosk("--config", str(cfg), "simulate", "enroll", "--count", "2", "--json").returncode == 0
    r = run_kiosk("--config", str(cfg), "sync", "--once", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "central/local.json").read_text())["url"].startswith("https://127.0.0.1:")
    first = (tmp_path / "central/local-central.crt").read_bytes()
    after = json.loads(run_kiosk("--config", str(cfg), "queue", "--json").stdout)
    assert after["counts"]["approved"] == 2 and after["network"]["state"] == "online"
    # the certificate is made once: a restarted central serves the one the station trusts
    assert run_kiosk("--config", str(cfg), "sync", "--once", "--json").returncode == 0
    assert (tmp_path / "central/local-central.crt").read_bytes() == first


def test_a_station_pinning_the_local_certificate_refuses_another_one(tmp_path: Path) -> None:
    """The station trusts only the local central's own certificate: one made elsewhere for the
    same address (someone else's server on the port) is refused, and nothing is uploaded."""
    from kiosk.central.local import CERT_NAME, start_local_central
    from kiosk.config import load_config
    from kiosk.store import RecordStore
    from kiosk.sync.synthetic import enroll_synthetic
    from kiosk.sync.worker import SyncWorker

    cfg_path = tmp_path / "config.toml"
    cfg_path.write_text(HTTPS)
    cfg = load_config(cfg_path)
    central = start_local_central(cfg)
    try:
        assert central.url.startswith("https://")
        # the station's copy of the certificate is replaced by another one for the same address
        self_signed_certificate(tmp_path / "central", CERT_NAME + "-other", "impostor")
        (tmp_path / "central" / f"{CERT_NAME}-other.crt").replace(tmp_path / "central" / f"{CERT_NAME}.crt")
        store = RecordStore(cfg.station.data_dir, policy=cfg.policy)
        enroll_synthetic(store, 1, district="320101", seed=3)
        worker = SyncWorker.from_config(cfg, store, central_url=central.url)
        try:
            report = worker.run_once()
        finally:
            worker.close()
        assert report.get("confirmed", 0) == 0
        assert store.counts().get("queued") == 1 and worker.network().state != "online"
        store.close()
    finally:
        central.close()
