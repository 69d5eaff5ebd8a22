"""The diagnostics bundle holds what a remote expert needs and no personal data."""

from __future__ import annotations

import base64
import json
import logging
import stat
from pathlib import Path

from kiosk.cli import main
from kiosk.config import load_config
from kiosk.composition import device_set
from kiosk.diagnostics.bundle import write_bundle
from kiosk.ops.logs import attach_station_log
from kiosk.store import RecordStore
from tests.conftest import BASE_CONFIG, resident

#: the ZFM module password in config.toml: a secret the bundle must not carry
MODULE_PASSWORD = 0x5EC2E7
IMAGE_MAGICS = (b"\x89PNG", b"\xff\xd8\xff", b"\xff\xa0\xff\xa8")  # PNG, JPEG, WSQ


def station(tmp_path: Path) -> Path:
    cfg = tmp_path / "config.toml"
    cfg.write_text(BASE_CONFIG + f'\n[devices.jari]\ndriver = "zfm"\nmock = "zfm"\npassword = {MODULE_PASSWORD}\n'
                   'timeout_s = 2.0\npoll_interval_s = 0.01\n')
    return cfg


def test_bundle_has_versions_config_devices_exchanges_log_and_counts_but_no_personal_data(tmp_path: Path) -> None:
    cfg = load_config(station(tmp_path))
    who = resident(7, full_name="SITI RAHAYU WULANDARI")
    store = RecordStore(cfg.station.data_dir, policy=cfg.policy)
    record = store.create_draft(who, actor="siti")
    face = b"\x89PNG\r\n\x1a\n" + bytes(200)
    store.put_sample(record.id, kind="face", data=face, format="png", actor="siti")
    attach_station_log(cfg.station.data_dir)
    logging.getLogger("kiosk.test").info("enrolled %s (%s)", who.nik, who.full_name, extra={"nik": who.nik})
    with device_set(cfg) as devices:
        drv = devices.get("jari")
        drv.open()
        drv.capture(timeout_s=2)  # an image upload crossed the wire
        path = write_bundle(cfg, devices, store)
    store.close()

    raw = path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for secret in (who.nik.encode(), who.full_name.encode(), b"WULANDARI", str(MODULE_PASSWORD).encode(),
                   *IMAGE_MAGICS, *(base64.b64encode(m)[:4] for m in IMAGE_MAGICS)):
        assert secret not in raw, secret
    bundle = json.loads(raw)
    assert bundle["versions"]["kiosk"] and bundle["versions"]["python"] and "pyserial" in bundle["versions"]
    assert bundle["config"]["station"]["id"] == "TEST-01"
    assert bundle["config"]["devices"][0]["params"]["password"] == "[redacted]"
    jari = bundle["devices"]["jari"]
    assert jari["status"] == "ready" and jari["info"]["vendor"] == "ZhianTec-compatible"
    notes = [e["note"] for e in jari["exchanges"]]
    assert "command UpImage(0x0a) args 0" in notes and "data 128 bytes" in notes
    # payloads are cut to their header: no fingerprint data leaves the station
    assert all(len(bytes.fromhex(e.get("head", ""))) <= 12 for e in jari["exchanges"])
    assert bundle["queue"]["draft"] == 1
    assert bundle["ports"]["configured"][0]["device"] == "jari"
    assert any("kiosk.test" in line for line in bundle["log"])


def test_kiosk_diag_bundle_from_the_command_line(tmp_path: Path, capsys: object) -> None:
    assert main(["--lang", "en", "--config", str(station(tmp_path)), "diag", "--bundle", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)  # type: ignore[attr-defined]
    bundle = json.loads(Path(out["bundle"]).read_text())
    assert set(bundle) >= {"versions", "config", "devices", "ports", "queue", "log"}
